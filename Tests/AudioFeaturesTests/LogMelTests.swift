import AudioFeatures
import Foundation
import TensorCore
import TestSupport
import Testing

func fixture(_ name: String) throws -> (values: [Float], shape: [Int]) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    return try NPY.read(Float.self, from: path)
}

/// The front-ends against librosa (and a NumPy VGGish reference) on committed fixtures
/// made by `Fixtures/make_fixtures.py`.
@Suite struct LogMelTests {
    static let signals = ["noise", "chirp", "tones", "silence", "bursts", "short"]

    @Test(arguments: [
        ("mel_htk_16000_512_64_125_7500_none", 16000, 512, 64, 125.0, 7500.0, MelScale.htk, MelNormalization.none),
        ("mel_slaney_48000_2048_128_0_24000_slaney", 48000, 2048, 128, 0.0, 24000.0, .slaney, .slaney),
        ("mel_slaney_16000_512_40_0_8000_none", 16000, 512, 40, 0.0, 8000.0, .slaney, .none),
        ("mel_htk_22050_1024_80_50_10000_slaney", 22050, 1024, 80, 50.0, 10000.0, .htk, .slaney),
    ])
    func filterbankMatchesLibrosa(name: String, rate: Int, fft: Int, bands: Int, fMin: Double, fMax: Double,
                                  scale: MelScale, norm: MelNormalization) throws {
        let (expected, shape) = try fixture(name + ".npy")
        let fb = MelFilterbank(sampleRate: rate, fftSize: fft, bands: bands, fMin: fMin, fMax: fMax, scale: scale, normalization: norm)
        #expect(shape == [bands, fft / 2 + 1])
        let diff = maxAbsoluteDifference(fb.weights, expected)
        #expect(diff <= 1e-6, "\(name): max abs difference \(diff)")
    }

    @Test(arguments: ["default", "vggish", "linear-logspec", "openl3-mel128"])
    func presetMatchesReference(preset: String) throws {
        let fe = try #require(FrontEnd.preset(named: preset))
        let extractor = LogMelExtractor(fe)
        // Log presets to 1e-3 in the log domain, the dB preset to 1e-2 dB.
        let tolerance: Float = preset == "openl3-mel128" ? 1e-2 : 1e-3
        for signal in Self.signals {
            let (x, _) = try fixture("signal_\(signal)_\(fe.sampleRate).npy")
            let (expected, shape) = try fixture("\(preset)_\(signal).npy")
            let got = try extractor.compute(x, sampleRate: fe.sampleRate)
            #expect(shape == [fe.frameCount(samples: x.count), fe.bands], "\(preset)/\(signal): shape \(shape)")
            #expect(got.count == expected.count, "\(preset)/\(signal): \(got.count) vs \(expected.count) values")
            let diff = maxAbsoluteDifference(got, expected)
            #expect(diff <= tolerance, "\(preset)/\(signal): max abs difference \(diff)")
        }
    }

    /// torchaudio (2.11, float64) where it has the preset's options.
    @Test(arguments: ["default", "linear-logspec"])
    func presetMatchesTorchaudio(preset: String) throws {
        let fe = try #require(FrontEnd.preset(named: preset))
        for signal in ["noise", "chirp", "tones", "bursts"] {
            let (x, _) = try fixture("signal_\(signal)_16000.npy")
            let (expected, shape) = try fixture("torchaudio_\(preset)_\(signal).npy")
            let got = try LogMelExtractor(fe).compute(x, sampleRate: 16000)
            #expect(shape == [fe.frameCount(samples: x.count), fe.bands])
            let diff = maxAbsoluteDifference(got, expected)
            #expect(diff <= 1e-3, "\(preset)/\(signal) vs torchaudio: max abs difference \(diff)")
        }
    }

    /// The FFTW path against a naive double-precision DFT of the same frames.
    @Test func fftwAgreesWithANaiveDFT() throws {
        var fe = FrontEnd.linearLogSpec
        fe.fftSize = 64
        fe.winLength = 48
        fe.hop = 20
        fe.compression = .log(epsilon: 1e-6)
        var rng = SeededRandom(seed: 5)
        let x = (0..<400).map { _ in Float(rng.uniform(-1, 1)) }
        let got = try LogMelExtractor(fe).compute(x, sampleRate: 16000)
        let window = WindowKind.hann.coefficients(48).map(Double.init)
        let frames = fe.frameCount(samples: x.count)
        var expected: [Float] = []
        for k in 0..<frames {
            var frame = [Double](repeating: 0, count: 64)
            for i in 0..<48 {
                var t = k * 20 - 32 + 8 + i  // centred frame, window centred in it
                if t < 0 { t = -t }
                if t >= x.count { t = 2 * (x.count - 1) - t }
                frame[8 + i] = Double(x[t]) * window[i]
            }
            for bin in 0...32 {
                var re = 0.0, im = 0.0
                for (n, v) in frame.enumerated() {
                    re += v * cos(2 * .pi * Double(bin * n) / 64)
                    im -= v * sin(2 * .pi * Double(bin * n) / 64)
                }
                expected.append(Float(log(re * re + im * im + 1e-6)))
            }
        }
        #expect(got.count == expected.count)
        #expect(maxAbsoluteDifference(got, expected) < 1e-3)
    }

    @Test func silenceShortSignalsAndEdges() throws {
        let ex = LogMelExtractor(.default)
        let silence = try ex.compute([Float](repeating: 0, count: 16000), sampleRate: 16000)
        #expect(silence.count == 101 * 64)
        #expect(silence.allSatisfy { abs($0 - Float(log(1e-6))) < 1e-6 })
        // Shorter than one window: centred presets still give one frame; VGGish gives none.
        #expect(try ex.compute([Float](repeating: 0.1, count: 100), sampleRate: 16000).count == 64)
        #expect(try LogMelExtractor(.vggish).compute([Float](repeating: 0.1, count: 399), sampleRate: 16000).isEmpty)
        #expect(try LogMelExtractor(.vggish).compute([Float](repeating: 0.1, count: 400), sampleRate: 16000).count == 64)
        #expect(try ex.compute([], sampleRate: 16000).count == 64)
    }

    @Test func badInputIsAClearError() {
        var x = [Float](repeating: 0, count: 1000)
        x[123] = .nan
        do {
            _ = try LogMelExtractor(.default).compute(x, sampleRate: 16000)
            Issue.record("a NaN sample must be refused")
        } catch {
            #expect("\(error)".contains("non-finite sample (nan at sample 123)"))
        }
        x[123] = .infinity
        #expect(throws: AudioFeaturesError.self) { try LogMelExtractor(.default).compute(x, sampleRate: 16000) }
        #expect(throws: AudioFeaturesError.sampleRateMismatch(expected: 16000, got: 44100)) {
            try LogMelExtractor(.default).compute([0, 0], sampleRate: 44100)
        }
    }

    @Test func threadsAndClipsGiveTheSameNumbers() throws {
        var rng = SeededRandom(seed: 9)
        let x = (0..<48000).map { _ in Float(rng.uniform(-0.5, 0.5)) }
        let ex = LogMelExtractor(.default)
        let one = try ex.compute(x, sampleRate: 16000, threads: 1)
        let two = try ex.compute(x, sampleRate: 16000, threads: 2)
        #expect(one == two)
        let clips = (0..<5).map { Array(x[($0 * 7000)..<($0 * 7000 + 15360)]) }
        let batch = try ex.compute(clips: clips, sampleRate: 16000)
        for (c, clip) in clips.enumerated() {
            #expect(batch[c] == (try ex.compute(clip, sampleRate: 16000, threads: 1)))
            #expect(batch[c].count == 97 * 64)
        }
    }

    @Test func windows() {
        let periodic = WindowKind.hann.coefficients(8)
        let symmetric = WindowKind.hannSymmetric.coefficients(8)
        #expect(periodic[0] == 0 && abs(periodic[4] - 1) < 1e-7)
        #expect(symmetric[0] == 0 && abs(symmetric[7]) < 1e-7)
        #expect(abs(WindowKind.hamming.coefficients(4)[0] - 0.08) < 1e-6)
    }

    @Test func presetsRoundTripAsJSON() throws {
        for fe in FrontEnd.presets {
            let back = try JSONDecoder().decode(FrontEnd.self, from: Data(fe.json.utf8))
            #expect(back == fe)
        }
    }
}

@Suite struct FastLogTests {
    @Test func agreesWithTheLibraryLogarithm() {
        var worst: Double = 0
        var x: Float = 1e-10
        while x < 1e12 {
            for f: Float in [1, 1.1, 1.4142, 1.4143, 1.7, 1.99] {
                let v = x * f
                worst = max(worst, abs(Double(fastLog(v)) - log(Double(v))))
            }
            x *= 2
        }
        #expect(worst < 2e-6, "largest error \(worst)")
    }
}
