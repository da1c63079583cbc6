import Foundation

/// The mel scales: HTK `2595 log10(1 + f/700)`, and Slaney's (Auditory Toolbox; librosa's
/// default), linear below 1 kHz (200/3 Hz per mel) and logarithmic above (27 mels per 6.4x).
public enum MelScale: String, Codable, Sendable {
    case htk, slaney

    public func mel(_ hz: Double) -> Double {
        switch self {
        case .htk: return 2595 * log10(1 + hz / 700)
        case .slaney:
            let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, step = log(6.4) / 27
            return hz >= minLogHz ? minLogMel + log(hz / minLogHz) / step : hz / fsp
        }
    }

    public func hz(_ mel: Double) -> Double {
        switch self {
        case .htk: return 700 * (pow(10, mel / 2595) - 1)
        case .slaney:
            let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, step = log(6.4) / 27
            return mel >= minLogMel ? minLogHz * exp(step * (mel - minLogMel)) : fsp * mel
        }
    }
}

/// Area normalisation of the mel triangles: none, or Slaney's (each band divided by its width
/// in Hz over 2, so every band has the same area).
public enum MelNormalization: String, Codable, Sendable {
    case none, slaney
}

/// How the triangles are drawn: librosa's (band edges equally spaced in mel, triangles linear
/// in Hz), or VGGish's (triangles linear in the HTK mel domain `1127 ln(1 + f/700)` evaluated
/// at the bins' frequencies, the DC bin given zero weight).
public enum MelTriangles: String, Codable, Sendable {
    case librosa, vggish
}

/// A mel filterbank `weights: [bands, bins]`, held sparsely: each band's non-zero run of bins.
public struct MelFilterbank: Sendable {
    public let bands: Int
    public let bins: Int
    /// Dense weights, row-major [bands, bins] (Float32, as librosa returns them).
    public let weights: [Float]
    /// Each band's run of non-zero weights, flattened: band b covers bins
    /// `runStart[b] ..< runStart[b] + runLength[b]` with weights `runWeights[runOffset[b]...]`.
    let runStart: [Int]
    let runLength: [Int]
    let runOffset: [Int]
    let runWeights: [Float]

    /// - Parameters: `sampleRate`, `fftSize` (bins = fftSize/2 + 1), `bands`, `fMin`, `fMax` in Hz.
    public init(sampleRate: Int, fftSize: Int, bands: Int, fMin: Double, fMax: Double,
                scale: MelScale = .htk, normalization: MelNormalization = .none, triangles: MelTriangles = .librosa) {
        precondition(bands > 0 && fftSize > 0 && fMax > fMin && fMin >= 0, "MelFilterbank: bad parameters")
        let bins = fftSize / 2 + 1
        let freqs = (0..<bins).map { Double($0) * Double(sampleRate) / Double(fftSize) }
        var w = [Double](repeating: 0, count: bands * bins)
        switch triangles {
        case .librosa:
            let lo = scale.mel(fMin), hi = scale.mel(fMax)
            let edges = (0..<(bands + 2)).map { scale.hz(lo + (hi - lo) * Double($0) / Double(bands + 1)) }
            for b in 0..<bands {
                let d0 = edges[b + 1] - edges[b], d1 = edges[b + 2] - edges[b + 1]
                let norm = normalization == .slaney ? 2 / (edges[b + 2] - edges[b]) : 1
                for k in 0..<bins {
                    let lower = (freqs[k] - edges[b]) / d0
                    let upper = (edges[b + 2] - freqs[k]) / d1
                    w[b * bins + k] = max(0, min(lower, upper)) * norm
                }
            }
        case .vggish:
            let mel = { (f: Double) in 1127 * log(1 + f / 700) }
            let lo = mel(fMin), hi = mel(fMax)
            let edges = (0..<(bands + 2)).map { lo + (hi - lo) * Double($0) / Double(bands + 1) }
            for b in 0..<bands {
                for k in 1..<bins {  // the DC bin keeps zero weight
                    let m = mel(freqs[k])
                    let lower = (m - edges[b]) / (edges[b + 1] - edges[b])
                    let upper = (edges[b + 2] - m) / (edges[b + 2] - edges[b + 1])
                    w[b * bins + k] = max(0, min(lower, upper))
                }
            }
        }
        self.bands = bands
        self.bins = bins
        self.weights = w.map { Float($0) }
        var starts: [Int] = [], lengths: [Int] = [], offsets: [Int] = [], flat: [Float] = []
        for b in 0..<bands {
            let row = Array(self.weights[(b * bins)..<((b + 1) * bins)])
            let first = row.firstIndex { $0 != 0 } ?? 0
            let last = row.lastIndex { $0 != 0 } ?? -1
            starts.append(first)
            lengths.append(max(0, last - first + 1))
            offsets.append(flat.count)
            if last >= first { flat.append(contentsOf: row[first...last]) }
        }
        runStart = starts
        runLength = lengths
        runOffset = offsets
        runWeights = flat
    }

    /// `mel[b] = Σ_k weights[b, k] · spectrum[k]` for one frame. `spectrum: [bins]`, `out: [bands]`.
    /// `frames` rows at once: `spectra: [frames, bins]`, `out` rows `outStride` apart.
    func apply(_ spectra: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>, outStride: Int) {
        runStart.withUnsafeBufferPointer { start in
            runLength.withUnsafeBufferPointer { length in
                runOffset.withUnsafeBufferPointer { offset in
                    runWeights.withUnsafeBufferPointer { w in
                        for f in 0..<frames {
                            let spectrum = spectra + f * bins
                            let o = out + f * outStride
                            for b in 0..<bands {
                                let x = spectrum + start[b]
                                let wb = w.baseAddress! + offset[b]
                                var s: Float = 0
                                for i in 0..<length[b] { s += wb[i] * x[i] }
                                o[b] = s
                            }
                        }
                    }
                }
            }
        }
    }
}
