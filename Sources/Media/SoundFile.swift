import CSndFile
import Foundation
import TensorCore

/// Audio as interleaved Float32 samples: `samples: [frames, channels]` row-major.
public struct AudioBuffer: Sendable {
    public var sampleRate: Int
    public var channels: Int
    public var samples: [Float]

    public init(sampleRate: Int, channels: Int, samples: [Float]) {
        precondition(channels > 0 && samples.count % channels == 0, "AudioBuffer: \(samples.count) samples for \(channels) channels")
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    public var frameCount: Int { samples.count / channels }
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// The mean of the channels.
    public func mono() -> [Float] {
        if channels == 1 { return samples }
        var out = [Float](repeating: 0, count: frameCount)
        let scale = 1 / Float(channels)
        for i in 0..<frameCount {
            var s: Float = 0
            for c in 0..<channels { s += samples[i * channels + c] }
            out[i] = s * scale
        }
        return out
    }
}

/// Standalone audio files (WAV, FLAC, OGG, …) through libsndfile.
public enum SoundFile {
    /// Reads the whole file as Float32 in [-1, 1].
    public static func read(path: String) throws -> AudioBuffer {
        try checkReadableFile(path)
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw MediaError.unreadable(path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else {
            throw MediaError.unreadable(path, reason: "no audio in the file")
        }
        var samples = [Float](repeating: 0, count: Int(info.frames) * channels)
        let got = samples.withUnsafeMutableBufferPointer { sf_readf_float(file, $0.baseAddress, info.frames) }
        if got < info.frames { samples.removeLast((Int(info.frames) - Int(got)) * channels) }
        return AudioBuffer(sampleRate: Int(info.samplerate), channels: channels, samples: samples)
    }

    public enum Encoding: Sendable { case pcm16, float32 }

    /// Writes a WAV file (written to a temporary name, then renamed into place).
    public static func writeWAV(_ audio: AudioBuffer, to path: String, encoding: Encoding = .pcm16) throws {
        var info = SF_INFO()
        info.samplerate = Int32(audio.sampleRate)
        info.channels = Int32(audio.channels)
        info.format = Int32(SF_FORMAT_WAV) | Int32(encoding == .pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT)
        let temporary = temporaryPath(for: path)
        guard let file = sf_open(temporary, Int32(SFM_WRITE), &info) else {
            throw MediaError.writeFailed(path, reason: String(cString: sf_strerror(nil)))
        }
        if encoding == .pcm16 {
            // Scale exactly by 32767 with clipping, rather than libsndfile's normalisation.
            sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        }
        let written = audio.samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, Int64(audio.frameCount)) }
        sf_close(file)
        guard written == audio.frameCount else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MediaError.writeFailed(path, reason: "only \(written) of \(audio.frameCount) frames written")
        }
        try replaceItem(at: path, with: temporary)
    }
}
