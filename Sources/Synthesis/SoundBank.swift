import TensorCore
import Foundation
import Media

/// Real recordings for the synthetic corpora, grouped into sound classes, with a
/// synthesised fallback when Debian's `sonic-pi-samples` package is not installed.
///
/// Every class lists several recordings so that a class is not one waveform. Only files
/// that the package's copyright file marks CC0 are used.
public final class SoundBank {
    public static let sonicPiFolder = "/usr/share/sonic-pi/samples"
    public static let licence = "CC0 1.0 (freesound.org via Debian's sonic-pi-samples; see /usr/share/doc/sonic-pi-samples/copyright)"

    /// Where the sounds come from: "sonic-pi-samples" or "synthesised".
    public let source: String
    public let rate: Int
    private let folder: String
    private var cache: [String: [Float]] = [:]

    /// `rate`: the rate every clip is resampled to. `folder` overrides the samples folder (tests).
    public init(rate: Int, folder: String = SoundBank.sonicPiFolder, allowRecordings: Bool = true) {
        self.rate = rate
        self.folder = folder
        let available = allowRecordings && FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("bd_808.flac"))
        self.source = available ? "sonic-pi-samples" : "synthesised"
    }

    public var usesRecordings: Bool { source == "sonic-pi-samples" }

    /// The description stored in manifests.
    public var provenance: String {
        usesRecordings ? "real recordings: \(Self.licence)" : "synthesised tones and noise (sonic-pi-samples not installed)"
    }

    /// A mono clip of `name` (a recording's base name) at the bank's rate, peak-normalised to 1.
    /// Without the recordings, a synthesised sound seeded by the name stands in.
    public func clip(_ name: String) -> [Float] {
        if let c = cache[name] { return c }
        var samples: [Float]
        if usesRecordings, let audio = try? SoundFile.read(path: (folder as NSString).appendingPathComponent(name + ".flac")),
           let resampled = try? resample(audio.mono(), from: audio.sampleRate, to: rate) {
            samples = resampled
        } else {
            samples = Self.synthesise(name: name, rate: rate)
        }
        let peak = samples.map(abs).max() ?? 0
        if peak > 0 { samples = samples.map { $0 / peak } }
        cache[name] = samples
        return samples
    }

    /// A stand-in sound: a decaying tone with a pitch, brightness and noise share derived from
    /// the name, so different names sound different and one name always sounds the same.
    static func synthesise(name: String, rate: Int) -> [Float] {
        var h: UInt64 = 1469598103934665603
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        var rng = SeededRandom(seed: h)
        let f0 = 80 * pow(2, rng.uniform(0, 5))
        let decay = rng.uniform(4, 25)
        let noise = rng.uniform(0, 0.8)
        let n = Int(Double(rate) * rng.uniform(0.25, 0.9))
        return (0..<n).map { i in
            let t = Double(i) / Double(rate)
            let env = exp(-decay * t)
            let tone = sin(2 * .pi * f0 * t) + 0.4 * sin(2 * .pi * 2.01 * f0 * t)
            return Float(env * ((1 - noise) * tone + noise * rng.uniform(-1, 1)))
        }
    }
}

/// `clip` played `semitones` higher (negative: lower) and correspondingly shorter (longer),
/// as a sampler transposes: linear interpolation at a step of 2^(semitones/12).
public func transpose(_ clip: [Float], semitones: Double) -> [Float] {
    let step = pow(2, semitones / 12)
    guard step != 1, clip.count > 1 else { return clip }
    let count = Int(Double(clip.count - 1) / step) + 1
    return (0..<count).map { i in
        let position = Double(i) * step
        let j = min(Int(position), clip.count - 2)
        let f = Float(position - Double(j))
        return clip[j] * (1 - f) + clip[j + 1] * f
    }
}

/// A stereo (or mono) mix being built at one sample rate.
public struct Mix {
    public let rate: Int
    public let channels: Int
    public private(set) var samples: [Float]

    public init(rate: Int, channels: Int, duration: Double) {
        self.rate = rate
        self.channels = channels
        samples = [Float](repeating: 0, count: Int(duration * Double(rate)) * channels)
    }

    public var frameCount: Int { samples.count / channels }

    /// Adds a mono clip at `time` with `gain`, panned by `pan` in [-1 (left), 1 (right)]
    /// with the equal-power law (ignored for mono).
    public mutating func add(_ clip: [Float], at time: Double, gain: Double, pan: Double = 0) {
        let start = Int((time * Double(rate)).rounded())
        let angle = (pan + 1) * .pi / 4
        let gains: [Float] = channels == 1 ? [Float(gain)] : [Float(gain * cos(angle) * 2.squareRoot()), Float(gain * sin(angle) * 2.squareRoot())]
        for i in 0..<clip.count {
            let f = start + i
            if f < 0 { continue }
            if f >= frameCount { break }
            for c in 0..<channels { samples[f * channels + c] += clip[i] * gains[c] }
        }
    }

    /// Adds a clip repeated end to end over the whole mix (an ambient bed).
    public mutating func addLooped(_ clip: [Float], gain: Double, offset: Int = 0) {
        guard !clip.isEmpty else { return }
        for f in 0..<frameCount {
            let v = clip[(f + offset) % clip.count] * Float(gain)
            for c in 0..<channels { samples[f * channels + c] += v }
        }
    }

    /// Adds white noise of the given amplitude.
    public mutating func addNoise(_ amplitude: Double, rng: inout SeededRandom) {
        for i in 0..<samples.count { samples[i] += Float(rng.uniform(-amplitude, amplitude)) }
    }

    /// Scales so the peak is `peak` (when louder than that) and returns the samples.
    public func normalised(peak: Float = 0.9) -> [Float] {
        let m = samples.map(abs).max() ?? 0
        return m > peak ? samples.map { $0 * peak / m } : samples
    }
}
