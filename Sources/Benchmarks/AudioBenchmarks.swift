import AudioFeatures
import Foundation
import Media
import TensorCore

/// The `logmel` workload of `docs/design.md`, "Encoder presets and clip geometry": 10 minutes of 16 kHz mono audio to the
/// default log-mel front-end, and librosa on the same samples as the peer (when a Python with
/// librosa is given).
public enum AudioBenchmarks {
    public static let seconds = 600
    public static let rate = 16000

    /// A deterministic 10-minute test signal: noise, tones with slowly changing loudness and a
    /// wobbling tone (the shape of the peers' signal), peak 0.9.
    public static func testSignal(seconds: Int = seconds) -> [Float] {
        var rng = SeededRandom(seed: 1234)
        let n = rate * seconds
        var x = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let t = Double(i) / Double(rate)
            var v = 0.05 * rng.normal()
            for (f, a) in [(220.0, 0.2), (440.0, 0.15), (1000.0, 0.1), (3150.0, 0.05)] {
                v += a * 0.5 * (1 + sin(2 * .pi * t / (7 + f / 1000))) * sin(2 * .pi * f * t)
            }
            v += 0.1 * sin(2 * .pi * (300 + 200 * sin(2 * .pi * t / 5)) * t)
            x[i] = Float(v)
        }
        let peak = x.map(abs).max() ?? 1
        return x.map { $0 / peak * 0.9 }
    }

    /// Times `reps` runs of the default front-end over `samples` (after one warm-up that makes
    /// the FFTW plans).
    public static func logmel(_ samples: [Float], reps: Int, threads: Int) throws -> (times: [Double], frames: Int) {
        let extractor = LogMelExtractor(.default)
        var out = try extractor.compute(samples, sampleRate: rate, threads: threads)
        let times = try timeRepeated(reps) { out = try extractor.compute(samples, sampleRate: rate, threads: threads) }
        return (times, out.count / FrontEnd.default.bands)
    }

    /// librosa (and torchaudio, when it imports) on the same samples (a WAV written here), timed
    /// inside Python, `reps` runs after a warm-up each; nil when `python` cannot import librosa.
    public static func pythonPeers(python: String, samples: [Float], reps: Int, threads: Int) throws -> [String: [Double]]? {
        let wav = NSTemporaryDirectory() + "concord-bench-logmel.wav"
        try SoundFile.writeWAV(AudioBuffer(sampleRate: rate, channels: 1, samples: samples), to: wav, encoding: .float32)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let script = """
        import json, time, sys
        import numpy as np, soundfile as sf, librosa
        y, sr = sf.read(sys.argv[1], dtype="float32")
        f = lambda: np.log(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, win_length=400, hop_length=160, window="hann", center=True, pad_mode="reflect", power=2.0, n_mels=64, fmin=125.0, fmax=7500.0, htk=True, norm=None) + 1e-6)
        def timed(g):
            g()
            out = []
            for _ in range(int(sys.argv[2])):
                t0 = time.perf_counter(); g(); out.append(time.perf_counter() - t0)
            return out
        result = {"librosa": timed(f)}
        try:
            import torch, torchaudio
            torch.set_num_threads(int(sys.argv[3]))
            mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=125.0, f_max=7500.0, n_mels=64, power=2.0, center=True, pad_mode="reflect", norm=None, mel_scale="htk")
            yt = torch.from_numpy(y)
            with torch.inference_mode():
                result["torchaudio"] = timed(lambda: torch.log(mel(yt) + 1e-6))
        except ImportError:
            pass
        print(json.dumps(result))
        """
        guard let data = try runPeer(python, ["-c", script, wav, String(reps), String(threads)], threads: threads) else { return nil }
        return try? JSONDecoder().decode([String: [Double]].self, from: data)
    }
}
