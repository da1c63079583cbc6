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
