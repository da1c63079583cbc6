import CBLAS
import Foundation
import TensorCore

/// One hit: a row of the searched matrix and its inner product with the query.
public struct Hit: Equatable, Sendable {
    public var row: Int
    public var score: Float
    public init(row: Int, score: Float) { (self.row, self.score) = (row, score) }
}

/// Exact top-k by inner product (cosine for unit vectors). The rows are split into one
/// contiguous share per thread; each thread scores all queries against a block of its rows
/// with a single-threaded sgemm, then keeps each query's running top-k from the block's
/// scores above its current k-th best (checked sixteen at a time); the threads' lists are
/// merged at the end.
///
/// NOTE: OpenBLAS runs single-threaded during a search (`Threads.withSerialBLAS`): two
/// threads each multiplying and scanning their own rows keep both cores busy, where one
/// threaded sgemm followed by a scan leaves one idle half the time.
public enum ExactSearch {
    /// Base rows per block (a block's scores for 100 queries, 400 KB, stay in L2).
    public static let blockRows = 1024

    /// For each query of `queries: [q, d]` the `k` rows of `base: [n, d]` with the largest
    /// inner product, best first (ties: the lower row first).
    public static func topK(queries: UnsafePointer<Float>, count q: Int, base: UnsafePointer<Float>, rows n: Int,
                            dimension d: Int, k: Int) -> [[Hit]] {
        precondition(q > 0 && d > 0 && k > 0, "ExactSearch.topK: need queries, a dimension and k > 0 (got \(q), \(d), \(k))")
        let k = min(k, n)
        guard k > 0 else { return Array(repeating: [], count: q) }
        let workers = max(1, min(Threads.count, (n + blockRows - 1) / blockRows))
        let share = (n + workers - 1) / workers
        var perWorker = [[[Hit]]](repeating: [], count: workers)
        let (queryPointer, basePointer) = (SharedPointer(queries), SharedPointer(base))
        perWorker.withUnsafeMutableBufferPointer { out in
            let results = SharedPointer(out.baseAddress!)
            Threads.withSerialBLAS(workers) { w in
                let rows = (w * share)..<min(n, (w + 1) * share)
                results[w] = scan(queries: queryPointer.base, count: q, base: basePointer.base, rows: rows, dimension: d, k: k)
            }
        }
        return (0..<q).map { i -> [Hit] in
            let merged: [Hit] = perWorker.flatMap { $0[i] }
            return Array(merged.sorted(by: better).prefix(k))
        }
    }

    /// One thread's share: the top-k of each query among `rows`. A block's scores are
    /// `[blockRows, q]` (base rows × queries, the product's long side first, where sgemm is
    /// fastest); each base row's scores are compared with the queries' thresholds sixteen at a time.
    static func scan(queries: UnsafePointer<Float>, count q: Int, base: UnsafePointer<Float>, rows: Range<Int>, dimension d: Int,
                     k: Int) -> [[Hit]] {
        var best = [[Hit]](repeating: [], count: q)
        let padded = (q + 15) / 16 * 16
        var thresholds = [Float](repeating: -.infinity, count: padded)
        for i in q..<padded { thresholds[i] = .infinity }  // padding lanes never pass
        var scores = [Float](repeating: 0, count: blockRows * padded)
        scores.withUnsafeMutableBufferPointer { s in
            thresholds.withUnsafeMutableBufferPointer { t in
                for first in stride(from: rows.lowerBound, to: rows.upperBound, by: blockRows) {
                    let count = min(blockRows, rows.upperBound - first)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(q), Int32(d), 1,
                                base + first * d, Int32(d), queries, Int32(d), 0, s.baseAddress!, Int32(padded))
                    for r in 0..<count {
                        let row = s.baseAddress! + r * padded
                        for c in stride(from: 0, to: padded, by: 16) {
                            let v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD16<Float>.self)
                            let limit = UnsafeRawPointer(t.baseAddress! + c).loadUnaligned(as: SIMD16<Float>.self)
                            guard any(v .> limit) else { continue }
                            for i in c..<min(c + 16, q) where row[i] > t[i] {
                                insert(Hit(row: first + r, score: row[i]), into: &best[i], k: k)
                                if best[i].count == k { t[i] = best[i][k - 1].score }
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// Higher score first; on a tie, the lower row.
    static func better(_ a: Hit, _ b: Hit) -> Bool { a.score != b.score ? a.score > b.score : a.row < b.row }

    /// Inserts `hit` into `top` (sorted best first, at most `k`).
    @inline(__always)
    static func insert(_ hit: Hit, into top: inout [Hit], k: Int) {
        var at = top.count
        while at > 0 && top[at - 1].score < hit.score { at -= 1 }
        guard at < k else { return }
        top.insert(hit, at: at)
        if top.count > k { top.removeLast() }
    }
}
