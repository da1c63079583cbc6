import CFFTW
import Foundation
import TensorCore

/// Batched real-to-complex FFTW plans (double precision), made once per (size, batch) and
/// reused by every thread.
///
/// NOTE: the transform is computed in double precision: bins 100 dB or more below a frame's
/// peak (a window's far side lobes) sit at single precision's rounding noise, so a float32
/// FFT cannot give their logarithm to 1e-3; a double FFT can, and costs little at these sizes.
///
/// NOTE: FFTW's planner is not thread-safe, so planning is serialised by a lock; executing a
/// plan with the new-array interface (`fftw_execute_dft_r2c`) is thread-safe, on arrays from
/// `fftw_malloc` (the alignment the plan was made for).
final class FFTPlans: @unchecked Sendable {
    static let shared = FFTPlans()
    private let lock = NSLock()
    private var plans: [Int: OpaquePointer] = [:]

    /// A plan transforming `batch` contiguous frames of `size` reals into `batch` rows of
    /// `size/2 + 1` complex values.
    func plan(size: Int, batch: Int) -> OpaquePointer {
        let key = size &* 1_000_003 &+ batch
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[key] { return p }
        let input = fftw_alloc_real(size * batch)!
        let output = fftw_alloc_complex((size / 2 + 1) * batch)!
        defer { fftw_free(input); fftw_free(output) }
        var n = Int32(size)
        let p = fftw_plan_many_dft_r2c(1, &n, Int32(batch), input, nil, 1, Int32(size),
                                       output, nil, 1, Int32(size / 2 + 1), UInt32(FFTW_MEASURE))!
        plans[key] = p
        return p
    }
}

/// Scratch arrays for one worker: frames in, spectra out (aligned by `fftw_malloc`).
final class FFTScratch {
    let size: Int
    let batch: Int
    let frames: UnsafeMutablePointer<Double>
    let spectra: UnsafeMutablePointer<fftw_complex>
    /// |X|^p of the batch in single precision, [batch, size/2 + 1].
    let magnitudes: UnsafeMutablePointer<Float>
    let plan: OpaquePointer

    init(size: Int, batch: Int) {
        self.size = size
        self.batch = batch
        frames = fftw_alloc_real(size * batch)!
        spectra = fftw_alloc_complex((size / 2 + 1) * batch)!
        magnitudes = .allocate(capacity: (size / 2 + 1) * batch)
        plan = FFTPlans.shared.plan(size: size, batch: batch)
    }

    deinit {
        fftw_free(frames)
        fftw_free(spectra)
        magnitudes.deallocate()
    }

    /// Transforms all `batch` frames (rows past the valid ones are transformed too, harmlessly).
    func execute() { fftw_execute_dft_r2c(plan, frames, spectra) }
}

/// Scratch arrays kept for reuse, so repeated calls (the training path, benchmarks) neither
/// allocate nor fault in fresh pages every time.
final class ScratchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [FFTScratch] = []

    func take(size: Int, batch: Int) -> FFTScratch {
        lock.lock()
        if let i = free.firstIndex(where: { $0.size == size && $0.batch == batch }) {
            let s = free.remove(at: i)
            lock.unlock()
            return s
        }
        lock.unlock()
        return FFTScratch(size: size, batch: batch)
    }

    func give(_ scratch: FFTScratch) {
        lock.lock()
        if free.count < 16 { free.append(scratch) }
        lock.unlock()
    }
}

extension FFTScratch {
    static let pool = ScratchPool()
}

/// The FFTW library this process runs.
public enum FFTW {
    /// Its version string, e.g. "fftw-3.3.10-sse2-avx" (read from the loaded library: the header
    /// declares `fftw_version` as an array of unknown size, which Swift does not import).
    public static var version: String {
        guard let symbol = loadedSymbol("fftw_version") else { return "unknown" }
        return String(cString: symbol.assumingMemoryBound(to: CChar.self))
    }
}
