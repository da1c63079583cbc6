import CBLAS
import Foundation
import TensorCore

/// One hit: a row of the searched matrix and its inner product with the query.
public struct Hit: Equatable, Sendable {
    public var row: Int
    public var score: Float
    public init(row: Int, score: Float) { (self.row, self.score) = (row, score) }
}

/// Exact top-k by inner product (cosine for unit vectors), by blocks: the scores of all queries
/// against a block of rows are one sgemm, then each query's running top-k takes the block's
/// scores above its current k-th best.
public enum ExactSearch {
    /// Rows of the base per block (the score block `[queries, blockRows]` stays in cache).
    public static let blockRows = 8192

    /// For each query of `queries: [q, d]` the `k` rows of `base: [n, d]` with the largest
    /// inner product, best first (ties: the lower row first).
    public static func topK(queries: UnsafePointer<Float>, count q: Int, base: UnsafePointer<Float>, rows n: Int,
                            dimension d: Int, k: Int) -> [[Hit]] {
        precondition(q > 0 && d > 0 && k > 0, "ExactSearch.topK: need queries, a dimension and k > 0 (got \(q), \(d), \(k))")
        let k = min(k, n)
        guard k > 0 else { return Array(repeating: [], count: q) }
        var best = [[Hit]](repeating: [], count: q)
        var scores = [Float](uninitializedCount: q * min(blockRows, n))
        for first in stride(from: 0, to: n, by: blockRows) {
            let rows = min(blockRows, n - first)
            scores.withUnsafeMutableBufferPointer { s in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(q), Int32(rows), Int32(d), 1,
                            queries, Int32(d), base + first * d, Int32(d), 0, s.baseAddress!, Int32(rows))
            }
            scores.withUnsafeBufferPointer { s in
                best.withUnsafeMutableBufferPointer { b in
                    // Each worker replaces its own queries' lists (distinct elements of `best`).
                    let block = SharedPointer(s.baseAddress!), results = SharedPointer(b.baseAddress!)
                    Threads.parallelFor(q, work: q * rows, minimumWork: 1 << 18) { i in
                        var top = results[i]
                        let row = block + i * rows
                        var threshold = top.count == k ? top[k - 1].score : -Float.infinity
                        for j in 0..<rows where row[j] > threshold {
                            insert(Hit(row: first + j, score: row[j]), into: &top, k: k)
                            if top.count == k { threshold = top[k - 1].score }
                        }
                        results[i] = top
                    }
                }
            }
        }
        return best
    }

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
