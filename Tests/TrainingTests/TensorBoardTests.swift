import Foundation
import Testing
import TestSupport
import Models
import Training

/// TensorBoard event files: the record framing and checksums, the reader's view of restarts,
/// a file written by TensorBoard's own Python writer, and a real training run against its
/// `metrics.jsonl`.
@Suite struct TensorBoardTests {
    static let fixtures = repositoryRoot + "/Tests/TrainingTests/Fixtures"

    /// CRC-32C's check value (RFC 3720's test vector) and TFRecord's masking of it.
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Data("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Data(repeating: 0, count: 32)) == 0x8A91_36AA)
        let c: UInt32 = 0xE306_9283
        #expect(CRC32C.masked(Data("123456789".utf8)) == ((c >> 15) | (c << 17)) &+ 0xA282_EAD8)
    }

    @Test func scalarsRoundTripAndARestartDropsTheStepsRunAgain() throws {
        let folder = makeTemporaryDirectory("tb-roundtrip")
        do {
            let first = try EventFileWriter(folder: folder)
            for step in 1...5 { try first.scalars(["loss": 10 - Double(step), "lr": 0.1], step: step, wallTime: 100 + Double(step)) }
        }
        // The run stopped after a checkpoint at step 3 and resumes from it.
        let second = try EventFileWriter(folder: folder)
        try second.restart(at: 4)
        for step in 4...6 { try second.scalars(["loss": 20 + Double(step)], step: step) }
        #expect(TensorBoard.eventFiles(in: folder).count == 2)
        let scalars = try EventFileReader.scalars(folder: folder)
        #expect(scalars["loss"]?.map(\.step) == [1, 2, 3, 4, 5, 6])
        #expect(scalars["loss"]?.map(\.value) == [9, 8, 7, 24, 25, 26])
        #expect(scalars["lr"]?.map(\.step) == [1, 2, 3])
        #expect(scalars["loss"]?.first?.wallTime == 101)
    }

    @Test func aDamagedFileIsAClearError() throws {
        let folder = makeTemporaryDirectory("tb-damaged")
        let writer = try EventFileWriter(folder: folder)
        try writer.scalars(["loss": 1], step: 1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: writer.path))
        bytes[bytes.count - 6] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: writer.path))
        #expect {
            _ = try EventFileReader.read(path: writer.path)
        } throws: { error in
            "\(error)".contains(writer.path) && "\(error)".contains("checksum")
        }
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: writer.path))
        #expect(throws: EventFileError.self) { try EventFileReader.read(path: writer.path) }
    }

    /// `Fixtures/tensorboard/`: written by TensorBoard's own writer (`make_tensorboard_fixture.py`).
    @Test func readsAFileWrittenByTensorBoard() throws {
        let scalars = try EventFileReader.scalars(folder: Self.fixtures + "/tensorboard")
        #expect(scalars["loss"]?.map(\.step) == [1, 2, 3])
        #expect(scalars["loss"]?.map(\.value) == [0.5, 0.25, 0.125])
        #expect(scalars["accuracy/avc"]?.map(\.value) == [0.75])
        #expect(scalars["accuracy/avc"]?.map(\.step) == [3])
    }

    /// Our writer's bytes for a fixed event equal those of TensorBoard's writer for the same
    /// event (the fixture's second file: one `loss` scalar 0.5 at step 7, wall time 1000.25).
    @Test func writesTheBytesTensorBoardWrites() throws {
        let reference = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/tensorboard-single-event.bin"))
        let folder = makeTemporaryDirectory("tb-bytes")
        let writer = try EventFileWriter(folder: folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: writer.path)).count
        try writer.scalars(["loss": 0.5], step: 7, wallTime: 1000.25)
        let written = try Data(contentsOf: URL(fileURLWithPath: writer.path)).dropFirst(before)
        #expect(Data(written) == reference)
    }

    /// A training run's event files hold the same losses as its `metrics.jsonl` (float32 of the
    /// logged double), every step once after a resume, and the learning rate and rate.
    @Test func aTrainingRunLogsItsMetricsAsScalars() throws {
        let out = makeTemporaryDirectory("tb-train")
        let common = ["train", "--config", repositoryRoot + "/configs/avc.yaml", "--threads", "2",
                      "corpus=" + repositoryRoot + "/corpora/sounding-objects", "video.width=8", "audio.width=8", "batch_size=8",
                      "checkpoint_every=3", "objectives.0.negatives_from=batch", "out=" + out]
        #expect(try runConcord(common + ["steps=4"]).status == 0)
        let resumed = try runConcord(common + ["steps=7", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let scalars = try EventFileReader.scalars(folder: out)
        #expect(scalars["loss"]?.map(\.step) == Array(1...7))
        #expect(scalars["loss"]?.map(\.value) == logged.map { Float($0["loss"] as! Double) })
        let accuracies = logged.map { Float(($0["metrics"] as! [String: Double])["avc_accuracy"]!) }
        #expect(scalars["accuracy/avc"]?.map(\.value) == accuracies)
        #expect(scalars["loss/avc"]?.count == 7)
        for tag in ["lr", "clips_per_s", "data_wait"] { #expect(scalars[tag]?.count == 7, "\(tag)") }
        // A new run over the same folder (--overwrite) starts the log afresh.
        #expect(try runConcord(common + ["steps=2", "--overwrite"]).status == 0)
        #expect(try EventFileReader.scalars(folder: out)["loss"]?.map(\.step) == [1, 2])
    }
}
