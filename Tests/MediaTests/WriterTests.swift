import Foundation
import Media
import TestSupport
import Testing

@Suite struct WriterTests {
    /// A test picture: a colour gradient with a moving square.
    func picture(_ k: Int, width: Int = 128, height: Int = 96) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                let inSquare = abs(x - (20 + 4 * k)) < 12 && abs(y - 48) < 12
                img.pixels[i] = inSquare ? 240 : UInt8(x * 255 / width)
                img.pixels[i + 1] = inSquare ? 30 : UInt8(y * 255 / height)
                img.pixels[i + 2] = 128
            }
        }
        return img
    }

    @Test func mp4WithH264AACAndSubtitlesReadsBack() throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/out.mp4"
        let writer = try MediaWriter(path: path, video: VideoTrackSettings(width: 128, height: 96, frameRate: 25,
                                                                            options: ["preset": "veryfast", "crf": "18"]),
                                     audio: AudioTrackSettings(sampleRate: 48000, channels: 2), subtitles: true)
        let segments = [SubtitleSegment(start: 0.2, end: 0.9, text: "crack the egg"),
                        SubtitleSegment(start: 1.0, end: 1.6, text: "whisk it\nquickly")]
        var sub = 0
        for k in 0..<50 {
            let t = Double(k) / 25
            while sub < segments.count && segments[sub].start <= t { try writer.addSubtitle(segments[sub]); sub += 1 }
            try writer.addVideoFrame(picture(k), time: t)
            var chunk = [Float](repeating: 0, count: 1920 * 2)
            for i in 0..<1920 {
                let s = Float(sin(2 * Double.pi * 440 * (t + Double(i) / 48000))) * 0.5
                chunk[2 * i] = s; chunk[2 * i + 1] = s
            }
            try writer.addAudio(chunk)
        }
        try writer.finish()
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))

        let info = try MediaInfo(path: path)
        #expect(info.video.first?.codec == "h264" && info.video.first?.width == 128)
        #expect(info.audio.first?.codec == "aac" && info.audio.first?.sampleRate == 48000 && info.audio.first?.channels == 2)
        #expect(info.subtitles.first?.codec == "mov_text")
        #expect(abs((info.video.first?.duration ?? 0) - 2.0) < 0.05)

        let frames = try VideoReader(path: path).frames(at: [0, 0.6, 1.96])
        for (k, index) in [0, 15, 49].enumerated() {
            let mad = meanAbsoluteDifference(frames.image(k).pixels, picture(index).pixels)
            #expect(mad < 4, "frame \(index) after H.264 at crf 18: mean abs difference \(mad)")
        }
        let got = try Subtitles.read(path: path)
        #expect(got.map(\.text) == segments.map(\.text))
        for (a, b) in zip(got, segments) { #expect(abs(a.start - b.start) < 1e-3 && abs(a.end - b.end) < 1e-3) }
        let audio = try AudioReader(path: path, rate: 48000).read(start: 0.5, duration: 0.5)
        let rms = sqrt(audio.map { $0 * $0 }.reduce(0, +) / Float(audio.count))
        // FFmpeg's default down-mix weights each channel of a stereo pair by 1/sqrt(2):
        // a 0.5-amplitude sine on both channels becomes a 0.5*sqrt(2) sine, RMS 0.5.
        #expect(abs(rms - 0.5) < 0.02, "sine RMS after AAC: \(rms)")
    }

    @Test func variableFrameTimesAreKept() throws {
        let path = makeTemporaryDirectory() + "/vfr.mp4"
        let writer = try MediaWriter(path: path, video: VideoTrackSettings(width: 64, height: 48), audio: nil)
        let times = (0..<30).map { Double($0) * 0.04 + 0.013 * Double($0 % 4) }
        for (k, t) in times.enumerated() { try writer.addVideoFrame(picture(k, width: 64, height: 48), time: t) }
        try writer.finish()
        #expect(try MediaInfo(path: path).video.first?.variableFrameRate == true)
        let frames = try VideoReader(path: path).frames(at: times)
        for (a, b) in zip(frames.frameTimes, times) { #expect(abs(a - b) < 1e-3) }
    }

    @Test func pngIsLossless() throws {
        let path = makeTemporaryDirectory() + "/p.png"
        let img = picture(3)
        try PNGWriter.write(img, to: path)
        let back = try VideoReader(path: path).frames(at: [0])
        let same = back.image(0) == img
        #expect(same)
    }

    @Test func wavRoundTripAndSoundFileReading() throws {
        let path = makeTemporaryDirectory() + "/t.wav"
        let samples = (0..<8000).map { Float(sin(Double($0) * 0.05)) * 0.7 }
        try SoundFile.writeWAV(AudioBuffer(sampleRate: 8000, channels: 1, samples: samples), to: path, encoding: .float32)
        let back = try SoundFile.read(path: path)
        let same = back.samples == samples
        #expect(back.sampleRate == 8000 && back.channels == 1 && same)
        let pcm = makeTemporaryDirectory() + "/p.wav"
        try SoundFile.writeWAV(AudioBuffer(sampleRate: 8000, channels: 1, samples: samples), to: pcm)
        #expect(maxAbsoluteDifference(try SoundFile.read(path: pcm).samples, samples) < 1.0 / 16000)
        let flac = try SoundFile.read(path: fixture("tone.flac"))
        #expect(flac.sampleRate == 44100 && flac.frameCount == 44100)
        #expect(throws: MediaError.self) { try SoundFile.read(path: fixture("garbage.mp4")) }
        #expect(throws: MediaError.self) { try SoundFile.read(path: fixture("empty.mp4")) }
    }
}
