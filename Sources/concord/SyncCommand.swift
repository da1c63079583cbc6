import ArgumentParser
import Evaluation
import Foundation
import Media
import Models
import TensorCore

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Estimate each file's audio-to-video offset with an avsync model.",
        discussion: """
        Windows every --stride seconds over the whole file are each scored against the audio at every \
        candidate offset (every --step seconds within ±--range); the offset is the best mean score, the \
        confidence the best minus the median (SyncNet's). A positive offset means the audio lags the \
        video. --curve DIR writes each file's candidates and scores as NAME.sync.npy ([candidates, 2]); with \
        --plot also a picture of the curve, NAME.sync.png (offsets left to right, a grey line at 0 and every \
        0.1 s, the estimate in red; scores lowest at the bottom). \
        --fix OUT (one file) writes a copy whose audio is moved by minus the estimated offset (or by minus \
        --offset, skipping the estimate), rewriting timestamps without re-encoding.
        """)

    @Argument(help: "Media files with video and audio.")
    var files: [String]

    @Option(name: .customLong("checkpoint"), help: "An avsync checkpoint, its run folder or a released model's name.")
    var checkpointReference: String = "avsync-sounding-objects"

    @Option(help: "Largest offset tried, in seconds either way.")
    var range: Double = 0.6

    @Option(help: "Seconds between candidate offsets.")
    var step: Double = 0.04

    @Option(help: "Seconds between windows.")
    var stride: Double = 0.96

    @Flag(help: "Print one JSON object per file.")
    var json = false

    @Option(help: "Write each file's score curve (.npy) into this folder.")
    var curve: String?

    @Flag(help: "With --curve: also draw each curve as a PNG picture.")
    var plot = false

    @Option(help: "Write a copy of the (one) file with its audio moved to undo the offset.")
    var fix: String?

    @Option(help: "With --fix: the offset to undo, in seconds (positive: the audio lags), instead of the estimate.")
    var offset: Double?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard range.isFinite, range > 0, range <= 10 else { throw ValidationError("--range must be in (0, 10] seconds (got \(range))") }
        guard step.isFinite, step >= 0.005, step <= range else { throw ValidationError("--step must be between 0.005 s and --range (got \(step))") }
        guard stride.isFinite, stride >= 0.04 else { throw ValidationError("--stride must be at least 0.04 s (got \(stride))") }
        guard !files.isEmpty else { throw ValidationError("name at least one media file") }
        if plot && curve == nil { throw ValidationError("--plot draws the curves --curve DIR writes: give --curve") }
        if let fix {
            guard files.count == 1 else { throw ValidationError("--fix takes one input file (got \(files.count))") }
            guard (fix as NSString).pathExtension.lowercased() != "avi" else {
                throw ValidationError("--fix \(fix): AVI cannot hold an offset between streams; write .mkv or .mp4")
            }
        }
        if let offset {
            guard fix != nil else { throw ValidationError("--offset goes with --fix") }
            guard offset.isFinite, abs(offset) <= 3600 else { throw ValidationError("--offset must be a finite number of seconds (got \(offset))") }
        }
    }

    func run() throws {
        global.apply()
        if let fix, let offset {
            try Remuxer.copy(from: files[0], to: fix, audioShift: -offset)
            print(String(format: "wrote %@: the audio of %@ moved by %+.3f s", fix, files[0], -offset))
            return
        }
        let checkpoint = try ReleasedModels.resolve(checkpointReference)
        let (model, ckpt) = try loadModel(checkpoint: checkpoint, randomInit: false)
        let evaluation = try SyncEvaluation(model: model)
        let grid = SyncEvaluation.Grid(name: "sync", step: step, steps: Int((range / step).rounded(.down)))
        if let curve { try FileManager.default.createDirectory(atPath: curve, withIntermediateDirectories: true) }
        var failures = 0
        for file in files {
            do {
                let e = try evaluation.estimate(file: file, geometry: ckpt.config.clip, grid: grid, stride: stride)
                if let curve {
                    let stem = (curve as NSString).appendingPathComponent(((file as NSString).lastPathComponent as NSString).deletingPathExtension)
                    try NPY.write(zip(e.candidates, e.curve).flatMap { [Float($0), Float($1)] }, shape: [e.candidates.count, 2],
                                  to: stem + ".sync.npy")
                    if plot {
                        try PNGWriter.write(CurvePlot.render(x: e.candidates, y: e.curve, mark: e.offset), to: stem + ".sync.png")
                    }
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.keyEncodingStrategy = .convertToSnakeCase
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(e), as: UTF8.self))
                } else {
                    let lead = e.offset > 0 ? "audio lags the video" : e.offset < 0 ? "audio leads the video" : "in sync"
                    print(String(format: "%@: offset %+.3f s (%+.1f frames at %.3g fps; %@), confidence %.3f over %d windows",
                                 file, e.offset, e.frames, e.frameRate, lead, e.confidence, e.windows))
                }
                if let fix {
                    try Remuxer.copy(from: file, to: fix, audioShift: -e.offset)
                    if !json { print(String(format: "wrote %@: the audio moved by %+.3f s", fix, -e.offset)) }
                }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
