import AudioFeatures
import Foundation
import Media
import Pipeline
import TensorCore

/// The `decode` and `clips` workloads of `docs/design.md`, "Encoder presets and clip geometry", and the ffmpeg CLI doing
/// the same work as the peer.
public enum MediaBenchmarks {
    /// The clip length and audio rate of the workloads (the clips themselves: `ClipGeometry.default`).
    public static let clipDuration = 0.96
    public static let audioRate = 16000

    // MARK: - The test file

    /// Makes (once, then reuses) the 60 s 640x360 25 fps H.264 + AAC test file: moving colour
    /// bars and a moving box, two tones; libx264 preset medium, crf 23, as the peers' file.
    public static let testFileFolder = NSTemporaryDirectory() + "concord-bench"
    static let testFileName = "media_60s_640x360.mp4"

    public static var testFileExists: Bool {
        FileManager.default.fileExists(atPath: (testFileFolder as NSString).appendingPathComponent(testFileName))
    }

    public static func testFile(folder: String = testFileFolder) throws -> String {
        let path = (folder as NSString).appendingPathComponent(testFileName)
        if FileManager.default.fileExists(atPath: path) { return path }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (w, h, fps, seconds, rate) = (640, 360, 25, 60, 44100)
        let writer = try MediaWriter(path: path, video: VideoTrackSettings(width: w, height: h, frameRate: Double(fps),
                                                                            options: ["preset": "medium", "crf": "23"]),
                                     audio: AudioTrackSettings(sampleRate: rate, channels: 2, bitRate: 128_000))
        // A pattern twice as wide as the frame, scrolled one step a frame.
        let pw = 2 * w
        var pattern = [UInt8](repeating: 0, count: pw * h * 3)
        for y in 0..<h {
            for x in 0..<pw {
                let i = (y * pw + x) * 3
                let bar = (x * 8 / w) % 8
                pattern[i] = UInt8((bar & 1) * 180 + (y * 60 / h))
                pattern[i + 1] = UInt8(((bar >> 1) & 1) * 180 + ((x * 7) % 50))
                pattern[i + 2] = UInt8(((bar >> 2) & 1) * 180 + ((x ^ y) & 31))
            }
        }
        var frame = RGBImage(width: w, height: h)
        let samplesPerFrame = rate / fps
        for k in 0..<(fps * seconds) {
            let shift = (k * 4) % w
            frame.pixels.withUnsafeMutableBufferPointer { dst in
                pattern.withUnsafeBufferPointer { src in
                    for y in 0..<h {
                        (dst.baseAddress! + y * w * 3).update(from: src.baseAddress! + (y * pw + shift) * 3, count: w * 3)
                    }
                }
            }
            let bx = (k * 7) % (w - 60), by = (k * 3) % (h - 60)
            for y in by..<(by + 60) { for x in bx..<(bx + 60) { let i = (y * w + x) * 3; frame.pixels[i] = 250; frame.pixels[i + 1] = 250; frame.pixels[i + 2] = 40 } }
            try writer.addVideoFrame(frame, time: Double(k) / Double(fps))
            var audio = [Float](repeating: 0, count: samplesPerFrame * 2)
            for i in 0..<samplesPerFrame {
                let t = Double(k * samplesPerFrame + i) / Double(rate)
                audio[2 * i] = Float(0.3 * sin(2 * .pi * 440 * t))
                audio[2 * i + 1] = Float(0.3 * sin(2 * .pi * 660 * t))
            }
            try writer.addAudio(audio)
        }
        try writer.finish()
        return path
    }

    // MARK: - decode

    /// Every 3rd frame as 112x112 RGB (short side 128, centre crop) and the whole audio track
    /// as 16 kHz mono; video and audio decoded on two threads at once.
    public static func decode(file: String) throws -> (frames: Int, samples: Int) {
        let video = try VideoReader(path: file)
        let fps = video.info.frameRate
        let times = stride(from: 0.0, to: video.info.duration - 1e-6, by: 3 / fps).map { $0 }
        nonisolated(unsafe) var samples: [Float] = []
        nonisolated(unsafe) var audioError: Error? = nil
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            do { samples = try AudioReader(path: file, rate: audioRate).readAll() } catch { audioError = error }
            group.leave()
        }
        let frames = try video.frames(at: times, geometry: .clip112)
        group.wait()
        if let audioError { throw audioError }
        return (frames.count, samples.count)
    }

    /// The ffmpeg CLI doing the same work: every 3rd frame scaled and cropped to 112x112 RGB on
    /// a pipe read by this process, and the audio as 16 kHz mono float to a file.
    public static func decodeWithCLI(file: String) throws -> Int {
        let audioOut = NSTemporaryDirectory() + "concord-bench-cli-audio.f32"
        defer { try? FileManager.default.removeItem(atPath: audioOut) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", file,
                             "-map", "0:v:0", "-vf", "select='not(mod(n\\,3))',scale=-2:128,crop=112:112",
                             "-fps_mode", "passthrough", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1",
                             "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-f", "f32le", audioOut]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile().count
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw MediaError.unreadable(file, reason: "the ffmpeg CLI failed") }
        return bytes / (112 * 112 * 3)
    }

    /// Where the ffmpeg CLI is installed, or nil.
    public static var ffmpegCLIPath: String? {
        ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static var ffmpegCLIAvailable: Bool { ffmpegCLIPath != nil }

    // MARK: - clips

    /// Start times of `count` random clips (seeded), as the peer draws them: uniform over the
    /// file less one clip and 0.1 s.
    public static func clipStarts(count: Int, duration: Double, seed: UInt64 = 0) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in rng.uniform(0, duration - clipDuration - 0.1) }
    }

    /// Reads `starts.count` clips through `ClipLoader`, the path training, evaluation and
    /// embedding read clips by (no cache, no augmentation): each view opens the file, seeks and
    /// decodes, as the peer's "reopen per clip" does. Video views `[starts.count, 3, 8, 112, 112]`
    /// (8 frames 0.12 s apart, short side 128, centre crop 112, normalised); audio views
    /// `[starts.count, 1, 96, 64]` (0.96 s of 16 kHz mono, its log-mel). Video and audio views
    /// are read on two threads at once, each in time order.
    public static func clips(file: String, starts: [Double]) throws -> (video: [Float], audio: [Float]) {
        let info = try MediaInfo(path: file)
        let loader = ClipLoader(videos: [SampledVideo(id: "bench", path: file, duration: info.duration, hasVideo: true, hasAudio: true)],
                                geometry: .default, video: .none, audio: .none)
        let (videoSize, audioSize) = (loader.clipShape(.video).reduce(1, *), loader.clipShape(.audio).reduce(1, *))
        let order = starts.indices.sorted { starts[$0] < starts[$1] }
        nonisolated(unsafe) var audio = [Float](repeating: 0, count: audioSize * starts.count)
        nonisolated(unsafe) var audioError: Error? = nil
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            do {
                var rng = SeededRandom(seed: 0)
                try audio.withUnsafeMutableBufferPointer { out in
                    for k in order { try loader.load(.audio, video: 0, start: starts[k], rng: &rng, into: out.baseAddress! + k * audioSize) }
                }
            } catch { audioError = error }
            group.leave()
        }
        var video = [Float](repeating: 0, count: videoSize * starts.count)
        var rng = SeededRandom(seed: 0)
        try video.withUnsafeMutableBufferPointer { out in
            for k in order { try loader.load(.video, video: 0, start: starts[k], rng: &rng, into: out.baseAddress! + k * videoSize) }
        }
        group.wait()
        if let audioError { throw audioError }
        return (video, audio)
    }
}
