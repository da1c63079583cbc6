import Media
import TestSupport
import Testing

/// Decoded frames against the ffmpeg CLI's frames for the same timestamps.
@Suite struct VideoReaderTests {
    /// The frame on screen at `t` by the reader's rule: the last frame at or before t.
    func expectedIndex(_ t: Double, in times: [Double]) -> Int {
        var k = 0
        for (i, ft) in times.enumerated() where ft <= t + 1e-4 { k = i }
        return k
    }

    func compareWithCLI(_ name: String, times: [Double]) throws {
        let path = fixture(name)
        let reader = try VideoReader(path: path)
        let frames = try reader.frames(at: times)
        let cliFrames = try FFmpegCLI.allFrames(path)
        let cliTimes = try FFmpegCLI.frameTimes(path)
        let frameBytes = frames.width * frames.height * 3
        #expect(cliFrames.count == cliTimes.count * frameBytes, "CLI frame count for \(name)")
        for (k, t) in times.enumerated() {
            let i = expectedIndex(t, in: cliTimes)
            #expect(abs(frames.frameTimes[k] - cliTimes[i]) < 1e-3, "\(name) at \(t): frame time \(frames.frameTimes[k]) vs \(cliTimes[i])")
            let ours = Array(frames.pixels[(k * frameBytes)..<((k + 1) * frameBytes)])
            let theirs = Array(cliFrames[(i * frameBytes)..<((i + 1) * frameBytes)])
            let mad = meanAbsoluteDifference(ours, theirs)
            #expect(mad <= 1.0, "\(name) at \(t) s: mean absolute difference \(mad)")
        }
    }

    static let probeTimes: [Double] = [0, 0.04, 0.5, 0.52, 1.0, 1.33, 2.0, 2.47, 2.96, 0.3, 1.71]

    @Test func h264MatchesCLI() throws { try compareWithCLI("h264.mp4", times: Self.probeTimes) }
    @Test func mpeg4AVIMatchesCLI() throws { try compareWithCLI("mpeg4.avi", times: Self.probeTimes) }
    @Test func vp9WebMMatchesCLI() throws { try compareWithCLI("vp9.webm", times: Self.probeTimes) }
    @Test func variableFrameRateMatchesCLI() throws {
        // Times on, between and just after the irregular frame times (0, .05, .10, .12, .17, …).
        try compareWithCLI("vfr.mp4", times: [0, 0.05, 0.06, 0.099, 0.1, 0.11, 0.12, 0.169, 1.0, 1.01, 2.22, 2.5, 0.7])
    }

    @Test func seekingGivesTheSameFrameAsDecodingFromTheStart() throws {
        let path = fixture("h264.mp4")
        let target = 2.36
        let seeking = try VideoReader(path: path)
        let sought = try seeking.frames(at: [target])
        #expect(seeking.seekCount >= 1)
        // Decode every frame from 0 to the target in order, without a keyframe jump.
        let linear = try VideoReader(path: path)
        let all = try linear.frames(at: stride(from: 0.0, through: target, by: 0.04).map { $0 } + [target])
        #expect(sought.frameTimes[0] == all.frameTimes.last!)
        let same = sought.image(0) == all.image(all.count - 1)
        #expect(same)
    }

    @Test func sortedRequestsAreServedInOneForwardPass() throws {
        let path = fixture("h264.mp4")
        let reader = try VideoReader(path: path)
        let starts = [0.1, 0.3, 0.45, 0.9, 1.1, 1.2, 2.1, 2.2, 2.5]
        let times = starts.flatMap { s in (0..<8).map { s + Double($0) * 0.12 } }.filter { $0 < 2.99 }
        let frames = try reader.frames(at: times)
        #expect(frames.count == times.count)
        // 75 frames in the file: one pass decodes each at most once (plus the decoder's look-ahead).
        #expect(reader.decodedFrameCount <= 75)
        // A keyframe every 25 frames: at most the two later keyframes are jumped to.
        #expect(reader.seekCount <= 2)
    }

    @Test func unsortedRequestsComeBackInRequestOrder() throws {
        let reader = try VideoReader(path: fixture("h264.mp4"))
        let frames = try reader.frames(at: [2.0, 0.2, 1.0])
        #expect(frames.frameTimes.map { ($0 * 100).rounded() / 100 } == [2.0, 0.2, 1.0])
    }

    @Test func resizeAndCentreCropMatchCLI() throws {
        let path = fixture("h264.mp4")
        let reader = try VideoReader(path: path)
        // 320x240 -> short side 128 -> 171x128 -> centre 112x112 at (29, 8), the offsets floored.
        let frames = try reader.frames(at: [0, 1.0, 2.0], geometry: .clip112)
        #expect(frames.width == 112 && frames.height == 112)
        let cli = try FFmpegCLI.allFrames(path, filter: "scale=171:128:flags=bicubic,format=rgb24,crop=112:112:29:8")
        let n = 112 * 112 * 3
        for (k, index) in [0, 25, 50].enumerated() {
            let mad = meanAbsoluteDifference(Array(frames.pixels[(k * n)..<((k + 1) * n)]), Array(cli[(index * n)..<((index + 1) * n)]))
            #expect(mad <= 1.0, "resized frame \(index): mean absolute difference \(mad)")
        }
    }

    @Test func exactSizeAndWindowCrop() throws {
        let reader = try VideoReader(path: fixture("h264.mp4"))
        let exact = try reader.frames(at: [1.0], geometry: FrameGeometry(resize: .exact(width: 64, height: 48)))
        #expect(exact.width == 64 && exact.height == 48 && exact.pixels.count == 64 * 48 * 3)
        let native = try reader.frames(at: [1.0])
        let window = try reader.frames(at: [1.0], geometry: FrameGeometry(crop: .window(x: 10, y: 20, width: 30, height: 40)))
        // The window equals the same pixels of the native frame.
        for row in 0..<40 {
            let a = Array(window.pixels[(row * 30 * 3)..<((row + 1) * 30 * 3)])
            let start = ((20 + row) * 320 + 10) * 3
            #expect(a == Array(native.pixels[start..<(start + 90)]))
        }
    }

    @Test func clipSpacingByTimestamp() throws {
        let reader = try VideoReader(path: fixture("h264.mp4"))
        let clip = try reader.frames(start: 1.0, duration: 0.96, fps: 25.0 / 3, geometry: .clip112)
        #expect(clip.count == 8)
        for (k, t) in clip.frameTimes.enumerated() { #expect(abs(t - (1.0 + Double(k) * 0.12)) < 1e-3) }
    }
}
