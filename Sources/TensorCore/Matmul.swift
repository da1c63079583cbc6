import CBLAS

// Matrix products on OpenBLAS's sgemm; transposes go through the BLAS flags, never copies.

/// `op(a) · op(b)` with op = transpose when asked.
/// - 2-D: `a: [m, k]` (`[k, m]` transposed), `b: [k, n]` (`[n, k]`) → `[m, n]`.
/// - Batched: `a: [batch, m, k]`, `b: [batch, k, n]` → `[batch, m, n]`.
/// - `a` of rank ≥ 3 with a 2-D `b` (not transposing `a`): the leading dimensions of `a`
///   are flattened, as a Linear layer over `[..., k]`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    if a.rank >= 3 && b.rank == 2 && !transposeA {
        let lead = Array(a.shape.dropLast())
        let flat = matmul(a.reshaped([-1, a.shape.last!]), b, transposeB: transposeB)
        return flat.reshaped(lead + [flat.shape[1]])
    }
    precondition((a.rank == 2 && b.rank == 2) || (a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0]),
                 "matmul: shapes \(a.shape) and \(b.shape) (need two matrices or two batches of the same size)")
    let batch = a.rank == 3 ? a.shape[0] : 1
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let (k2, n) = transposeB ? (bc, br) : (br, bc)
    precondition(k == k2, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
    let out = [Float](unfilled: batch * m * n) { pc in
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                let (xa, xb, xc) = (SharedPointer(pa.baseAddress!), SharedPointer(pb.baseAddress!), SharedPointer(pc.baseAddress!))
                let product = { @Sendable (i: Int) in
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1, xa + i * ar * ac, Int32(ac),
                                xb + i * br * bc, Int32(bc), 0, xc + i * m * n, Int32(n))
                }
                // NOTE: a batch of small products (attention heads) runs one single-threaded sgemm per
                // worker: a threaded sgemm per item pays OpenBLAS's hand-off each time and idles the cores.
                let workers = Swift.min(Threads.count, batch)
                if workers > 1 && m * n * k < 1 << 22 {
                    Threads.withSerialBLAS(workers) { w in for i in Swift.stride(from: w, to: batch, by: workers) { product(i) } }
                } else {
                    for i in 0..<batch { product(i) }
                }
            }
        }
    }
    let shape = a.rank == 3 ? [batch, m, n] : [m, n]
    return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in
        // C = op(A) op(B): d op(A) = dC op(B)ᵀ, d op(B) = op(A)ᵀ dC.
        let gradientA = { transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true) : matmul(g, b, transposeB: !transposeB) }
        let gradientB = { transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA) : matmul(a, g, transposeA: !transposeA) }
        // NOTE: the two gradients are products of the same work (m·n·k each): with two or more
        // threads they run at once, one single-threaded sgemm each, instead of one after the other
        // on a threaded sgemm that hands off and idles on small products. Each is the same sgemm
        // as alone (the same values).
        guard a.requiresGrad && b.requiresGrad && Threads.count >= 2 else {
            return [a.requiresGrad ? gradientA() : nil, b.requiresGrad ? gradientB() : nil]
        }
        let pair = GradientPair(gradientA, gradientB)
        Threads.withSerialBLAS(2) { w in
            Autograd.withoutGradients { if w == 0 { pair.a = pair.workA() } else { pair.b = pair.workB() } }
        }
        return [pair.a, pair.b]
    }
}

/// The two gradients of a product, each computed and written by its own thread (separate
/// properties: no shared storage is written by both).
private final class GradientPair: @unchecked Sendable {
    let workA: () -> Tensor, workB: () -> Tensor
    var a: Tensor?, b: Tensor?
    init(_ workA: @escaping () -> Tensor, _ workB: @escaping () -> Tensor) {
        (self.workA, self.workB) = (workA, workB)
    }
}
