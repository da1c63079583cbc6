import Foundation

/// How the frames of a spectrogram are cut.
public enum Framing: String, Codable, Sendable {
    /// librosa/torch: the signal padded by fftSize/2 on both sides (`padding`), frames of
    /// fftSize samples every hop, the window (winLength) centred in each frame.
    case centered
    /// No padding: frames of `winLength` samples every hop, an incomplete last frame dropped,
    /// each windowed frame zero-padded at its end to fftSize (the VGGish release).
    case unpadded
    /// librosa/torch with `center=False`: frames of fftSize samples, window centred, no padding.
    case uncentered
}

public enum Padding: String, Codable, Sendable {
    case reflect, constant
}

/// The last step: natural log with an offset, or decibels.
public enum Compression: Codable, Equatable, Sendable {
    /// `log(x + epsilon)`.
    case log(epsilon: Double)
    /// `10 log10(max(x, amin))`, minus the example's maximum when `relativeToMax` (librosa's
    /// `ref=np.max`), then floored at `max − topDB` when `topDB` is given.
    case decibels(amin: Double, relativeToMax: Bool, topDB: Double?)
}

/// A complete audio front-end: everything needed to turn samples into a log-mel (or log
/// linear) spectrogram, stored by name and full parameters wherever features are stored.
public struct FrontEnd: Codable, Equatable, Sendable {
    public var name: String
    public var sampleRate: Int
    public var fftSize: Int
    public var winLength: Int
    public var hop: Int
    public var window: WindowKind
    public var framing: Framing
    public var padding: Padding
    /// 1 = magnitude, 2 = power.
    public var power: Double
    /// Mel bands; nil gives the fftSize/2 + 1 linear bins.
    public var melBands: Int?
    public var fMin: Double
    public var fMax: Double
    public var melScale: MelScale
    public var melNormalization: MelNormalization
    public var melTriangles: MelTriangles
    public var compression: Compression

    /// Output columns: mel bands or linear bins.
    public var bands: Int { melBands ?? fftSize / 2 + 1 }

    /// The reference encoders' front-end (`docs/design.md`, "Encoder presets and clip geometry"): 16 kHz, n_fft 512, window 400
    /// (periodic Hann), hop 160, centred with reflect padding, power, 64 HTK mels 125–7500 Hz, no
    /// area normalisation, log(mel + 1e-6). A 0.96 s clip gives 97 frames (96 are used).
    public static let `default` = FrontEnd(
        name: "default", sampleRate: 16000, fftSize: 512, winLength: 400, hop: 160, window: .hann, framing: .centered,
        padding: .reflect, power: 2, melBands: 64, fMin: 125, fMax: 7500, melScale: .htk, melNormalization: .none,
        melTriangles: .librosa, compression: .log(epsilon: 1e-6))

    /// The AudioSet VGGish release: 400-sample frames every 160, no padding, periodic Hann, FFT 512
    /// (frame zero-padded at its end), magnitude, 64 bands 125–7500 Hz with VGGish's triangles,
    /// log(mel + 0.01).
    public static let vggish = FrontEnd(
        name: "vggish", sampleRate: 16000, fftSize: 512, winLength: 400, hop: 160, window: .hann, framing: .unpadded,
        padding: .constant, power: 1, melBands: 64, fMin: 125, fMax: 7500, melScale: .htk, melNormalization: .none,
        melTriangles: .vggish, compression: .log(epsilon: 0.01))

    /// OpenL3's mel128 input: 48 kHz, FFT 2048 centred (constant padding, librosa's default),
    /// hop 242, 128 Slaney mels with Slaney normalisation over 0–24 kHz, magnitude,
    /// 10 log10 with amin 1e-10, minus the example's maximum, floor −80 dB.
    public static let openl3Mel128 = FrontEnd(
        name: "openl3-mel128", sampleRate: 48000, fftSize: 2048, winLength: 2048, hop: 242, window: .hann, framing: .centered,
        padding: .constant, power: 1, melBands: 128, fMin: 0, fMax: 24000, melScale: .slaney, melNormalization: .slaney,
        melTriangles: .librosa, compression: .decibels(amin: 1e-10, relativeToMax: true, topDB: 80))

    /// A log linear-frequency spectrogram: 16 kHz, FFT 512 (window 400, hop 160, centred,
    /// reflect), 257 bins, power, log(x + 1e-7).
    public static let linearLogSpec = FrontEnd(
        name: "linear-logspec", sampleRate: 16000, fftSize: 512, winLength: 400, hop: 160, window: .hann, framing: .centered,
        padding: .reflect, power: 2, melBands: nil, fMin: 0, fMax: 8000, melScale: .htk, melNormalization: .none,
        melTriangles: .librosa, compression: .log(epsilon: 1e-7))

    public static let presets: [FrontEnd] = [.default, .vggish, .openl3Mel128, .linearLogSpec]

    public static func preset(named name: String) -> FrontEnd? { presets.first { $0.name == name } }

    /// The number of frames for `count` samples.
    public func frameCount(samples count: Int) -> Int {
        switch framing {
        case .centered: return count / hop + 1
        case .uncentered: return count >= fftSize ? 1 + (count - fftSize) / hop : 0
        case .unpadded: return count >= winLength ? 1 + (count - winLength) / hop : 0
        }
    }

    /// The mel filterbank of this front-end, or nil for linear bins.
    public func filterbank() -> MelFilterbank? {
        melBands.map {
            MelFilterbank(sampleRate: sampleRate, fftSize: fftSize, bands: $0, fMin: fMin, fMax: fMax,
                          scale: melScale, normalization: melNormalization, triangles: melTriangles)
        }
    }

    /// A one-line JSON description, for metadata.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }
}
