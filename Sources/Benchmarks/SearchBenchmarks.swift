import Foundation
import Retrieval
import TensorCore

/// The `search` workload of `docs/design.md`, "Encoder presets and clip geometry": exact top-10 by inner product over
/// 1,000,000 x 256 float32 unit vectors for a batch of 100 queries (database rows plus a
/// little noise, renormalised, as `peers/search_bench.py` makes them).
public enum SearchBenchmarks {
    public static let (rows, dimension, queries, k) = (1_000_000, 256, 100, 10)

    /// The base and the queries (seeded).
    public static func data(rows n: Int = rows) -> (base: [Float], queries: [Float], sources: [Int]) {
        var rng = SeededRandom(seed: 0)
        let d = dimension
        var base = [Float](unfilled: n * d) { b in
            for i in 0..<(n * d) { b[i] = Float(rng.normal()) }
        }
        normalizeRows(&base, dimension: d)
        let sources = (0..<queries).map { _ in Int(rng.next() % UInt64(n)) }
        var q = [Float](repeating: 0, count: queries * d)
        let noise = Float(0.05 / Double(d).squareRoot())
        for (i, s) in sources.enumerated() { for j in 0..<d { q[i * d + j] = base[s * d + j] + noise * Float(rng.normal()) } }
        normalizeRows(&q, dimension: d)
        return (base, q, sources)
    }

    static func normalizeRows(_ x: inout [Float], dimension d: Int) {
        for r in 0..<(x.count / d) {
            var s: Float = 0
            for j in 0..<d { s += x[r * d + j] * x[r * d + j] }
            let inv = 1 / s.squareRoot()
            for j in 0..<d { x[r * d + j] *= inv }
        }
    }

    /// Seconds per batch of queries (each repetition), and the share of queries whose best hit
    /// is the row they were made from.
    public static func time(reps: Int, rows n: Int = rows) -> (seconds: [Double], selfHit: Double) {
        let (base, q, sources) = data(rows: n)
        var hits: [[Hit]] = []
        let run = {
            hits = base.withUnsafeBufferPointer { b in
                q.withUnsafeBufferPointer { qs in
                    ExactSearch.topK(queries: qs.baseAddress!, count: queries, base: b.baseAddress!, rows: n, dimension: dimension, k: k)
                }
            }
        }
        run()
        let seconds = timeRepeated(reps, run)
        let selfHit = Double(zip(hits, sources).filter { $0.0.first?.row == $0.1 }.count) / Double(queries)
        return (seconds, selfHit)
    }
}
