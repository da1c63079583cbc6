import Foundation
import Media
import TestSupport
import Testing

/// Decoded, down-mixed, resampled audio against the ffmpeg CLI's `-ac 1 -ar 16000`.
@Suite struct AudioReaderTests {
    @Test(arguments: ["h264.mp4", "mpeg4.avi", "vp9.webm", "tone.flac"])
    func wholeFileMatchesCLI(name: String) throws {
        let path = fixture(name)
        let ours = try AudioReader(path: path, rate: 16000).readAll()
        let cli = try FFmpegCLI.audio(path, rate: 16000)
        #expect(abs(ours.count - cli.count) <= 16, "\(name): \(ours.count) vs \(cli.count) samples")
        let diff = maxAbsoluteDifference(ours, cli)
        #expect(diff < 1e-4, "\(name): max abs difference \(diff)")
    }

    /// NOTE: PCM decodes identically wherever decoding starts; AAC after a seek differs from
    /// a decode from the start by a few 1e-4 (the decoder's state), so its bound is looser.
    @Test(arguments: [("mpeg4.avi", Float(1e-5)), ("h264.mp4", Float(1e-3))])
    func spanEqualsTheSameSamplesOfTheWholeFile(name: String, tolerance: Float) throws {
        let path = fixture(name)
        let whole = try AudioReader(path: path).readAll()
        for start in [0.0, 0.37, 1.3, 2.0] {
            let span = try AudioReader(path: path).read(start: start, duration: 0.96)
            #expect(span.count == 15360)
            let first = Int((start * 16000).rounded())
            let diff = maxAbsoluteDifference(span, Array(whole[first..<(first + 15360)]))
            #expect(diff < tolerance, "\(name) span at \(start): max abs difference \(diff)")
        }
    }

    @Test func sequentialSpansContinueWithoutSeeking() throws {
        let path = fixture("h264.mp4")
        let reader = try AudioReader(path: path)
        let whole = try AudioReader(path: path).readAll()
        for start in [0.2, 0.5, 1.1, 1.9] {
            let span = try reader.read(start: start, duration: 0.5)
            let first = Int((start * 16000).rounded())
            #expect(maxAbsoluteDifference(span, Array(whole[first..<(first + 8000)])) < 1e-4)
        }
        #expect(reader.seekCount == 0)
    }

    @Test func otherRates() throws {
        let path = fixture("mpeg4.avi")
        let ours = try AudioReader(path: path, rate: 22050).readAll()
        let cli = try FFmpegCLI.audio(path, rate: 22050)
        #expect(maxAbsoluteDifference(ours, cli) < 1e-4)
    }
}

/// One timeline for every read (issue 23): audio that starts after the video (`-itsoffset`)
/// is preceded by silence in the whole-file read and in windows, equal to ffmpeg's
/// `aresample=16000:first_pts=0`, in several containers and codecs.
@Suite struct AudioTimelineTests {
    static func lateAudioFile(_ container: String, video: String, audio: String, offset: Double) throws -> String {
        let path = makeTemporaryDirectory("late-audio") + "/late.\(container)"
        let r = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                         "-f", "lavfi", "-i", "testsrc=duration=3:size=64x64:rate=25",
                         "-itsoffset", String(offset), "-f", "lavfi", "-i", "sine=frequency=440:duration=2.4:sample_rate=48000",
                         "-map", "0:v", "-map", "1:a", "-c:v", video, "-c:a", audio, path])
        guard r.status == 0 else { throw FFmpegCLI.Failure(description: r.stderr) }
        return path
    }

    /// The lag (samples, within ±`reach`) at which `a` best matches `b`, and the mean absolute difference there.
    static func bestLag(_ a: [Float], _ b: [Float], reach: Int) -> (lag: Int, difference: Float) {
        let n = min(a.count, b.count) - 2 * reach
        var best = (lag: 0, difference: Float.infinity)
        for lag in -reach...reach {
            var total: Float = 0
            for i in reach..<(reach + n) { total += abs(a[i] - b[i + lag]) }
            if total / Float(n) < best.difference { best = (lag, total / Float(n)) }
        }
        return best
    }

    @Test(arguments: [("mp4", "libx264", "aac"), ("mkv", "libx264", "libmp3lame"), ("webm", "libvpx-vp9", "libopus")])
    func lateAudioIsSilenceFirstOnOneTimeline(container: String, video: String, audio: String) throws {
        let path = try Self.lateAudioFile(container, video: video, audio: audio, offset: 0.5)
        let cli = try FFmpegCLI.ffmpeg(["-i", path, "-map", "0:a:0", "-af", "aresample=16000:first_pts=0", "-ac", "1", "-f", "f32le", "pipe:1"])
            .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let whole = try AudioReader(path: path).readAll()
        // The first 0.45 s are silence (the sine starts at 0.5 s less the codec's priming, at most 50 ms).
        #expect(whole.count > 16000 * 2, "\(container): \(whole.count) samples")
        #expect(whole.prefix(7200).allSatisfy { abs($0) < 1e-3 }, "\(container): sound before the audio starts")
        #expect(whole[9000..<12000].contains { abs($0) > 0.1 }, "\(container): no sound after it starts")
        // Within 1 ms (16 samples) of ffmpeg's first_pts=0 timeline.
        let (lag, difference) = Self.bestLag(whole, cli, reach: 48)
        #expect(abs(lag) <= 16 && difference < 2e-3, "\(container): lag \(lag) samples, mean difference \(difference)")
        // Windows before, across and after the start equal the whole-file read at the same times.
        for start in [0.0, 0.3, 0.9, 1.6] {
            let window = try AudioReader(path: path).read(start: start, duration: 0.5)
            let first = Int((start * 16000).rounded())
            let reference = Array(whole[first..<(first + 8000)])
            let worst = maxAbsoluteDifference(window, reference)
            #expect(worst < 2e-2, "\(container) window at \(start): max difference \(worst)")
        }
    }
}

/// `Remuxer` (concord sync --fix): the audio moved by a given amount without re-encoding,
/// the video untouched.
@Suite struct RemuxerTests {
    @Test(arguments: ["mp4", "mkv"])
    func movingTheAudioBackUndoesAnOffset(container: String) throws {
        let late = try AudioTimelineTests.lateAudioFile(container, video: "libx264", audio: container == "mp4" ? "aac" : "libmp3lame", offset: 0.5)
        let fixed = (late as NSString).deletingLastPathComponent + "/fixed.\(container)"
        try Remuxer.copy(from: late, to: fixed, audioShift: -0.5)
        let (before, after) = (try AudioReader(path: late).readAll(), try AudioReader(path: fixed).readAll())
        // The video packets are copied: the same frames, all moved by one amount (the video is
        // moved 0.5 s later rather than the audio earlier).
        let (a, b) = (try FFmpegCLI.frameTimes(late), try FFmpegCLI.frameTimes(fixed))
        let shift = (b.first ?? 0) - (a.first ?? 0)
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($1 - $0 - shift) < 1e-3 }, "\(container): \(a.count) vs \(b.count) frames")
        // Relative to the video the audio moved 0.5 s earlier, within 1 ms: on the files'
        // timelines (each from its earliest stream: the fixed file's is its audio) the video
        // moved by `moved`, so the fixed audio at t is the late file's at t − (moved − 0.5 s).
        let moved = try VideoReader(path: fixed).frames(at: [0]).frameTimes[0] - VideoReader(path: late).frames(at: [0]).frameTimes[0]
        let expected = Int(((moved - 0.5) * 16000).rounded())
        let (lag, difference) = AudioTimelineTests.bestLag(Array(after[12000..<32000]), Array(before[(12000 - expected)..<(32000 - expected)]), reach: 48)
        #expect(abs(shift - 0.5) < 0.005 && abs(lag) <= 16 && difference < 2e-3,
                "\(container): video moved \(shift) s, audio lag \(lag) samples from the expected, mean difference \(difference)")
        #expect(!FileManager.default.fileExists(atPath: fixed + ".partial"))
        #expect(throws: MediaError.self) { try Remuxer.copy(from: late, to: fixed + ".nosuchformat", audioShift: 0) }
    }
}
