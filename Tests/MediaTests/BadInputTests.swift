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
