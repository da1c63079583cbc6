import Foundation

// Softmax over the last axis as one kernel (attention's rows): measured in step-videomae's
// profile, where the composition exp(x − logsumexp x) costs eight operations and their
// backward passes per attention map. e^x is the vectorisable `fastExp`. A test checks it equals the
// composition.

extension Tensor {
    /// `exp(x − max) / Σ exp(x − max)` over the last axis, rows in parallel; backward
    /// `dx = y ⊙ (g − Σ g ⊙ y)` per row. `self: [..., n]` → the same shape.
    func softmaxLastAxis() -> Tensor {
        let n = shape.last ?? 0
        let rows = n == 0 ? 0 : count / n
        let out = [Float](unfilled: count) { ob in
            guard rows > 0 else { return }
            data.withUnsafeBufferPointer { xb in
                let (xp, op) = (SharedPointer(xb.baseAddress!), SharedPointer(ob.baseAddress!))
                Threads.parallelChunks(rows, minimumWork: Swift.max(1, (1 << 14) / n)) { range in
                    for r in range {
                        let (x, y) = (xp + r * n, op + r * n)
                        var m = -Float.infinity
                        for j in 0..<n { m = Swift.max(m, x[j]) }
                        // NOTE: a row of −∞ (every position masked) has no maximum to subtract; its
                        // composition gives NaN, and so does this (0 / 0), rather than a made-up row.
                        for j in 0..<n { y[j] = fastExp(x[j] - m) }
                        let inv = Float(1 / TensorCore.sum(y, n))
                        for j in 0..<n { y[j] *= inv }
                    }
                }
            }
        }
        let shape = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            let dx = [Float](unfilled: out.count) { db in
                guard rows > 0 else { return }
                g.data.withUnsafeBufferPointer { gb in
                    out.withUnsafeBufferPointer { yb in
                        let (gp, yp, dp) = (SharedPointer(gb.baseAddress!), SharedPointer(yb.baseAddress!), SharedPointer(db.baseAddress!))
                        Threads.parallelChunks(rows, minimumWork: Swift.max(1, (1 << 14) / n)) { range in
                            for r in range {
                                let (gr, yr, dr) = (gp + r * n, yp + r * n, dp + r * n)
                                let (_, dot) = sums(gr, yr, n)
                                let s = Float(dot)
                                for j in 0..<n { dr[j] = yr[j] * (gr[j] - s) }
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: shape, data: dx)]
        }
    }
}
