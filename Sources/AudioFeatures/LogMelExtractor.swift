import CFFTW
import Foundation
import TensorCore

/// Bad input to the front-end.
public enum AudioFeaturesError: Error, CustomStringConvertible, Equatable {
    case nonFinite(index: Int, value: Float)
    case sampleRateMismatch(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .nonFinite(let i, let v): return "the audio holds a non-finite sample (\(v) at sample \(i))"
        case .sampleRateMismatch(let e, let g):
            return "the audio is at \(g) Hz but the front-end expects \(e) Hz (resample it first; `concord features` does)"
        }
    }
}

/// Computes a `FrontEnd`'s spectrogram: `samples: [N]` → `[frames, bands]` (row-major Float32).
///
/// Frames are cut, windowed and transformed by FFTW in batches of 64; batches are spread over
/// the worker threads; the mel projection uses each band's run of non-zero weights.
/// Immutable after creation: one extractor may serve many threads at once.
public final class LogMelExtractor: @unchecked Sendable {
    public let frontEnd: FrontEnd
    let filterbank: MelFilterbank?
    /// The window centred in a frame of `frameLength` samples (zeros outside the window).
    let frameWindow: [Double]
    let frameLength: Int
    static let batch = 64

    public init(_ frontEnd: FrontEnd) {
        precondition(frontEnd.power == 1 || frontEnd.power == 2, "LogMelExtractor: power must be 1 or 2")
        precondition(frontEnd.winLength <= frontEnd.fftSize && frontEnd.hop > 0, "LogMelExtractor: need winLength <= fftSize and hop > 0")
        self.frontEnd = frontEnd
        filterbank = frontEnd.filterbank()
        frameLength = frontEnd.framing == .unpadded ? frontEnd.winLength : frontEnd.fftSize
        var w = [Double](repeating: 0, count: frameLength)
        let offset = (frameLength - frontEnd.winLength) / 2
        for (i, v) in frontEnd.window.doubleCoefficients(frontEnd.winLength).enumerated() { w[offset + i] = v }
        frameWindow = w
    }

    /// The spectrogram of one signal, `[frames, bands]`, using up to `threads` threads.
    public func compute(_ samples: [Float], sampleRate: Int, threads: Int = Threads.count) throws -> [Float] {
        guard sampleRate == frontEnd.sampleRate else {
            throw AudioFeaturesError.sampleRateMismatch(expected: frontEnd.sampleRate, got: sampleRate)
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioFeaturesError.nonFinite(index: bad, value: samples[bad])
        }
        let frames = frontEnd.frameCount(samples: samples.count)
        let bands = frontEnd.bands
        var out = [Float](repeating: 0, count: frames * bands)
        guard frames > 0 else { return out }
        let batches = (frames + Self.batch - 1) / Self.batch
        let workers = max(1, min(threads, batches))
        var maxima = [Float](repeating: -.infinity, count: workers)
        samples.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                maxima.withUnsafeMutableBufferPointer { m in
                    nonisolated(unsafe) let (xs, os, ms) = (x, o, m)
                    // Batches are handed out one at a time, so a worker whose core is busy
                    // with something else takes fewer of them.
                    let next = BatchCounter()
                    let work: @Sendable (Int) -> Void = { w in
                        let scratch = FFTScratch.pool.take(size: self.frontEnd.fftSize, batch: Self.batch)
                        defer { FFTScratch.pool.give(scratch) }
                        var localMax = -Float.infinity
                        while let b = next.take(below: batches) {
                            let first = b * Self.batch
                            let count = min(Self.batch, frames - first)
                            localMax = max(localMax, self.process(frames: first, count: count, samples: xs, scratch: scratch, out: os))
                        }
                        ms[w] = localMax
                    }
                    if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
                }
            }
        }
        if case .decibels(_, let relative, let topDB) = frontEnd.compression {
            var top = maxima.max() ?? 0
            if relative {
                for i in out.indices { out[i] -= top }
                top = 0
            }
            if let topDB {
                let floor = top - Float(topDB)
                for i in out.indices where out[i] < floor { out[i] = floor }
            }
        }
        return out
    }

    /// Spectrograms of many clips (the training path): clips are spread over the threads, each
    /// computed on one. Each clip: `[frames, bands]`.
    public func compute(clips: [[Float]], sampleRate: Int, threads: Int = Threads.count) throws -> [[Float]] {
        var results = [[Float]](repeating: [], count: clips.count)
        var errors = [Error?](repeating: nil, count: clips.count)
        results.withUnsafeMutableBufferPointer { r in
            errors.withUnsafeMutableBufferPointer { e in
                nonisolated(unsafe) let (rs, es) = (r, e)
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, clips.count))) { w in
                    for i in stride(from: w, to: clips.count, by: max(1, min(threads, clips.count))) {
                        do { rs[i] = try self.compute(clips[i], sampleRate: sampleRate, threads: 1) } catch { es[i] = error }
                    }
                }
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
        return results
    }

    /// Frames `first ..< first + count`: cut, window, FFT, |.|^p, mel, compression into `out`.
    /// Returns the largest value written (for decibels relative to the maximum).
    private func process(frames first: Int, count: Int, samples x: UnsafeBufferPointer<Float>,
                         scratch: FFTScratch, out: UnsafeMutableBufferPointer<Float>) -> Float {
        let n = frontEnd.fftSize
        let bins = n / 2 + 1
        let bands = frontEnd.bands
        let hop = frontEnd.hop
        let padLeft = frontEnd.framing == .centered ? n / 2 : 0
        let length = x.count
        let reflect = frontEnd.padding == .reflect
        frameWindow.withUnsafeBufferPointer { win in
            for j in 0..<count {
                let row = scratch.frames + j * n
                let start = (first + j) * hop - padLeft
                if start >= 0 && start + frameLength <= length {
                    let src = x.baseAddress! + start, w = win.baseAddress!
                    for i in 0..<frameLength { row[i] = Double(src[i]) * w[i] }
                } else {
                    for i in 0..<frameLength {
                        row[i] = Double(Self.sample(x, at: start + i, reflect: reflect)) * win[i]
                    }
                }
                for i in frameLength..<n { row[i] = 0 }
            }
        }
        scratch.execute()
        // |X|^p of every frame of the batch, then the mel projection of the batch, then compression.
        let raw = UnsafeMutableRawPointer(scratch.spectra).assumingMemoryBound(to: Double.self)
        let spectra = scratch.magnitudes
        for j in 0..<count {
            let c = raw + j * bins * 2
            let s = spectra + j * bins
            if frontEnd.power == 2 {
                for k in 0..<bins { s[k] = Float(c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1]) }
            } else {
                for k in 0..<bins { s[k] = Float((c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1]).squareRoot()) }
            }
        }
        let o = out.baseAddress! + first * bands
        if let fb = filterbank {
            fb.apply(spectra, frames: count, into: o, outStride: bands)
        } else {
            o.update(from: spectra, count: count * bins)
        }
        var largest = -Float.infinity
        let values = count * bands
        switch frontEnd.compression {
        case .log(let epsilon):
            let e = Float(epsilon)
            for i in 0..<values { o[i] = fastLog(o[i] + e) }
        case .decibels(let amin, _, _):
            let a = Float(amin)
            let scale: Float = 10 / 2.302585093  // 10 log10(x) = (10 / ln 10) ln x
            for i in 0..<values {
                o[i] = scale * fastLog(max(o[i], a))
                largest = max(largest, o[i])
            }
        }
        return largest
    }

    /// `x[t]` with the signal extended by reflection (numpy's "reflect": the edge sample is not
    /// repeated, and reflection repeats for pads longer than the signal) or by zeros.
    @inline(__always)
    static func sample(_ x: UnsafeBufferPointer<Float>, at t: Int, reflect: Bool) -> Float {
        let n = x.count
        if t >= 0 && t < n { return x[t] }
        guard reflect, n > 1 else { return reflect && n == 1 ? x[0] : 0 }
        let period = 2 * (n - 1)
        var u = t % period
        if u < 0 { u += period }
        return x[u < n ? u : period - u]
    }
}

/// Hands out 0, 1, 2, … to whichever thread asks next.
final class BatchCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
