import CBLAS
import Foundation

/// The process-wide thread budget (`--threads`), shared by OpenBLAS and Concord's own loops.
public enum Threads {
    nonisolated(unsafe) private static var configured: Int = 0

    /// The number of threads Concord uses: the configured count, or every core.
    public static var count: Int {
        configured > 0 ? configured : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Sets the budget for the whole process (OpenBLAS included).
    public static func configure(_ n: Int) {
        configured = max(1, n)
        openblas_set_num_threads(Int32(configured))
    }
}

extension Threads {
    /// Runs `body(i)` for `i` in `0..<items`, spread over the thread budget (item i on worker
    /// i mod workers). Runs inline when there is one worker, one item, or less than
    /// `minimumWork` units of work in all (threads cost more than they save on small jobs).
    public static func parallelFor(_ items: Int, work: Int = .max, minimumWork: Int = 65536,
                                   _ body: @escaping @Sendable (Int) -> Void) {
        let workers = Swift.min(count, items)
        if workers <= 1 || work < minimumWork {
            for i in 0..<items { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in Swift.stride(from: w, to: items, by: workers) { body(i) }
        }
    }

    /// Runs `body(w)` for `w` in `0..<workers` on parallel threads while OpenBLAS runs
    /// single-threaded (restored after), so that each thread can call its own sgemm.
    ///
    /// NOTE: for many small products (per sample, per block) two threads each running their
    /// own products keep both cores busy, where one threaded sgemm at a time pays OpenBLAS's
    /// hand-off on every call and leaves the cores idle between calls.
    public static func withSerialBLAS(_ workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard workers > 1 else {
            if workers == 1 { body(0) }
            return
        }
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(saved) }
        DispatchQueue.concurrentPerform(iterations: workers) { w in body(w) }
    }

    /// Runs `body` over contiguous chunks of `0..<total` (one per worker) for elementwise loops.
    public static func parallelChunks(_ total: Int, minimumWork: Int = 1 << 16, _ body: @escaping @Sendable (Range<Int>) -> Void) {
        let workers = Swift.max(1, Swift.min(count, total))
        let chunk = (total + workers - 1) / workers
        parallelFor(workers, work: total, minimumWork: minimumWork) { w in
            body(Swift.min(w * chunk, total)..<Swift.min((w + 1) * chunk, total))
        }
    }
}

extension Array where Element == Float {
    /// An array of `count` values written by `initialize` (which must set every one), without
    /// first filling it with zeros.
    @inlinable
    public init(unfilled count: Int, _ initialize: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
            initialize(buffer)
            initialized = count
        }
    }

    /// Scratch of `count` values whose contents are unspecified until written: for buffers
    /// that a kernel writes in full before reading (sgemm with β = 0, vol2col).
    @inlinable
    public init(uninitializedCount count: Int) {
        self.init(unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

extension Array where Element == Float {
    /// `count` zeros, written by all threads (a large gradient buffer is filled at memory speed
    /// of both cores, not one).
    public init(zeroedCount count: Int) {
        guard count > 0 else { self = []; return }
        self.init(unfilled: count) { buffer in
            let base = SharedPointer(buffer.baseAddress!)
            Threads.parallelChunks(count) { r in (base + r.lowerBound).update(repeating: 0, count: r.count) }
        }
    }
}

/// A pointer handed to the workers of `Threads.parallelFor`; each worker must touch its own
/// part of the memory.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
    public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
    public static func + (p: SharedPointer, offset: Int) -> UnsafeMutablePointer<T> { p.base + offset }
}

/// Σ x over `n` floats, accumulated in 16 lanes and summed in Double.
@inline(__always)
func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var s = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        s += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        i += 16
    }
    var total = Double(s.sum())
    while i < n { total += Double(x[i]); i += 1 }
    return total
}

/// Σ x and Σ x·y over `n` floats, accumulated in 16 lanes (so the loop vectorises) and summed
/// in Double.
@inline(__always)
func sums(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> (sum: Double, dot: Double) {
    var s = SIMD16<Float>(), d = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
        s += a
        d += a * b
        i += 16
    }
    var sum = Double(s.sum()), dot = Double(d.sum())
    while i < n { sum += Double(x[i]); dot += Double(x[i]) * Double(y[i]); i += 1 }
    return (sum, dot)
}
