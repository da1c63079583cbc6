import Foundation
import Media
import TestSupport
import Testing

/// Every kind of bad input gives a `MediaError` that names the file and the problem.
@Suite struct BadInputTests {
    func expectError(_ expected: String, file: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected an error containing '\(expected)' for \(file)")
        } catch let e as MediaError {
            #expect(e.description.contains(file), "message names the file: \(e)")
            #expect(e.description.contains(expected), "message says '\(expected)': \(e)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func missingPath() {
        expectError("no such file", file: "/nonexistent/x.mp4") { _ = try MediaInfo(path: "/nonexistent/x.mp4") }
    }

    @Test func directoryWhereAFileIsExpected() {
        let dir = makeTemporaryDirectory()
        expectError("is a directory", file: dir) { _ = try VideoReader(path: dir) }
    }

    @Test func emptyFile() {
        expectError("empty", file: "empty.mp4") { _ = try MediaInfo(path: fixture("empty.mp4")) }
    }

    @Test func garbageFile() {
        expectError("not a media file", file: "garbage.mp4") { _ = try VideoReader(path: fixture("garbage.mp4")) }
    }

    /// A fast-start MP4 (index first) cut in half still opens; it states the part that is
    /// there as its duration, the header's duration beside it, and a read past the data is
    /// an error naming the file, not a short result.
    @Test func aFastStartMP4CutShortSaysSo() throws {
        let dir = makeTemporaryDirectory("cut-short")
        let whole = dir + "/whole.mp4", cut = dir + "/cut.mp4"
        _ = try FFmpegCLI.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=6", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
                                  "-c:v", "libx264", "-g", "25", "-c:a", "aac", "-movflags", "+faststart", "-shortest", whole])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let full = try MediaInfo(path: whole)
        #expect(full.declaredDuration == nil && abs(full.duration - 6) < 0.1)
        let info = try MediaInfo(path: cut)
        #expect(abs((info.declaredDuration ?? 0) - 6) < 0.1, "\(info)")
        #expect(info.duration > 1 && info.duration < 5, "\(info.duration)")
        #expect(info.video.allSatisfy { $0.duration <= info.duration + 1e-9 } && info.audio.allSatisfy { $0.duration <= info.duration + 1e-9 })
        expectError("cut short", file: cut) { try info.checkWhole() }
        expectError("past the end", file: cut) { _ = try VideoReader(path: cut).frames(start: 0, duration: 5.5, fps: 5, geometry: FrameGeometry()) }
        // What is there reads as the whole file's same frames.
        let early = try VideoReader(path: cut).frames(start: 0, duration: 1, fps: 5, geometry: FrameGeometry())
        let reference = try VideoReader(path: whole).frames(start: 0, duration: 1, fps: 5, geometry: FrameGeometry())
        #expect(early.pixels == reference.pixels)
        let audio = try AudioReader(path: cut, rate: 16000).read(start: 0, upTo: nil)
        #expect(Double(audio.count) / 16000 <= info.duration + 0.1, "\(audio.count) samples")
    }

    @Test func truncatedFile() {
        expectError("cannot be read", file: "truncated.mp4") { _ = try VideoReader(path: fixture("truncated.mp4")) }
    }

    @Test func noVideoStream() {
        expectError("has no video stream", file: "tone.wav") { _ = try VideoReader(path: fixture("tone.wav")) }
    }

    @Test func noAudioStream() {
        expectError("has no audio stream", file: "video_only.mp4") { _ = try AudioReader(path: fixture("video_only.mp4")) }
    }

    @Test func unsupportedCodec() {
        expectError("unsupported codec", file: "unknown_codec.mkv") { _ = try VideoReader(path: fixture("unknown_codec.mkv")) }
    }

    @Test func spanPastTheEnd() throws {
        let video = try VideoReader(path: fixture("h264.mp4"))
        expectError("past the end", file: "h264.mp4") { _ = try video.frames(start: 2.5, duration: 1.0, fps: 25) }
        let audio = try AudioReader(path: fixture("h264.mp4"))
        expectError("past the end", file: "h264.mp4") { _ = try audio.read(start: 2.5, duration: 1.0) }
        expectError("past the end", file: "h264.mp4") { _ = try audio.read(start: 10, duration: 1.0) }
    }

    @Test func cropLargerThanTheFrame() throws {
        let video = try VideoReader(path: fixture("h264.mp4"))
        expectError("crop does not fit", file: "h264.mp4") {
            _ = try video.frames(at: [0], geometry: FrameGeometry(crop: .center(width: 400, height: 10)))
        }
    }

    @Test func corruptPacketsDecodeWithoutCrashing() throws {
        // The damaged packets are skipped or concealed; frames still come out for every request.
        let reader = try VideoReader(path: fixture("corrupt_packets.mp4"))
        let frames = try reader.frames(start: 0, duration: 2.9, fps: 5)
        #expect(frames.count == 14)
        let audio = try AudioReader(path: fixture("corrupt_packets.mp4")).readAll()
        #expect(audio.count > 16000)
    }
}
