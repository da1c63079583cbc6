import CBLAS
import Foundation

extension ConvGeometry {
    /// A 1x1x1 kernel without padding (any stride): every output position reads one input entry.
    var isUnpaddedPointwise: Bool {
        kernel == (1, 1, 1) && padding == (0, 0, 0)
    }

    /// The entries of one input plane `x: [D, H, W]` on the stride grid, in output order:
    /// → `out: [D', H', W']`.
    @inline(__always)
    func subsample(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var o = out
        for z in 0..<outDepth {
            for y in 0..<outHeight {
                let row = x + ((z * stride.0) * height + y * stride.1) * width
                copyStrided(row, step: stride.2, into: o, count: outWidth)
                o += outWidth
            }
        }
    }

    /// The adjoint of `subsample`: writes a whole input plane `dx: [D, H, W]`, the entries of
    /// `g: [D', H', W']` on the stride grid and zeros elsewhere.
    @inline(__always)
    func expand(_ g: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        dx.update(repeating: 0, count: depth * height * width)
        var src = g
        for z in 0..<outDepth {
            for y in 0..<outHeight {
                let row = dx + ((z * stride.0) * height + y * stride.1) * width
                for xo in 0..<outWidth { row[xo * stride.2] = src[xo] }
                src += outWidth
            }
        }
    }
}

/// A 1x1x1 convolution without padding (strided or not), sample by sample on every thread:
/// `x: [N, C, D, H, W]`, `weight: [O, C, 1, 1, 1]` → `[N, O, D', H', W']`, where sample s's
/// output is `W · cols_s` with `cols_s: [C, P]` its input on the stride grid.
///
/// NOTE: each thread takes its own samples and runs single-threaded products on them
/// (`Threads.withSerialBLAS`), so that the output and the input gradient are written in place
/// in the tensor's sample-major layout while the sample's data is in cache: no regrouping
/// between a whole-batch product's channel-major layout and the tensor's (that moved the
/// output, the output gradient and the column matrix through memory once more each, as much
/// time as the products at the shortcuts' shapes). The subsampled input is kept for the
/// backward pass (an eighth of the input at stride 2); the input gradient is written plane
/// by plane in one pass (zeros off the grid) right after the sample's product.
func pointwiseConv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
    let (n, c, o, p) = (g.batch, g.channels, g.outChannels, g.positions)
    let plane = g.depth * g.height * g.width
    let workers = min(Threads.count, n)
    var cols = [Float](uninitializedCount: n * c * p)  // [N, C, P]
    var out = [Float](uninitializedCount: n * o * p)  // [N, O, P]
    x.data.withUnsafeBufferPointer { xs in
        weight.data.withUnsafeBufferPointer { w in
            cols.withUnsafeMutableBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { y in
                    let (src, wp, colp, yp) = (SharedPointer(xs.baseAddress!),
                                               SharedPointer(w.baseAddress!),
                                               SharedPointer(cp.baseAddress!), SharedPointer(y.baseAddress!))
                    Threads.withSerialBLAS(workers) { worker in
                        for s in stride(from: worker, to: n, by: workers) {
                            let sampleCols = colp + s * c * p
                            for ch in 0..<c { g.subsample(src + (s * c + ch) * plane, into: sampleCols + ch * p) }
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(o), Int32(p), Int32(c), 1,
                                        wp.base, Int32(c), sampleCols, Int32(p), 0, yp + s * o * p, Int32(p))
                        }
                    }
                }
            }
        }
    }
    if let bias { addBias(bias, to: &out, batch: n, channels: o, positions: p) }
    let shape = [n, o, g.outDepth, g.outHeight, g.outWidth]
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Autograd.result(shape: shape, data: out, inputs: inputs) { grad in
        // Each thread sums dW = Σ_s dY_s · cols_sᵀ over its samples; the partial sums are added after.
        var partialDW = [Float](repeating: 0, count: workers * o * c)
        // Each thread's dcols_s: [C, P] (allocated here: buffers allocated on the workers stay
        // in their threads' malloc arenas and grow the resident memory).
        var scratch = [Float](uninitializedCount: x.requiresGrad ? workers * c * p : 0)
        let dx = [Float](unfilled: x.requiresGrad ? x.count : 0) { dxp in
            grad.data.withUnsafeBufferPointer { gy in
                weight.data.withUnsafeBufferPointer { w in
                    cols.withUnsafeBufferPointer { cp in
                        partialDW.withUnsafeMutableBufferPointer { pdw in
                            scratch.withUnsafeMutableBufferPointer { sp in
                                let (dy, wp, colp, dwp) = (SharedPointer(gy.baseAddress!),
                                                           SharedPointer(w.baseAddress!),
                                                           SharedPointer(cp.baseAddress!),
                                                           SharedPointer(pdw.baseAddress!))
                                // NOTE: an empty array's buffer may still have a base address; test requiresGrad.
                                let (dxs, dcolp) = x.requiresGrad ? (dxp.baseAddress.map { SharedPointer($0) }, sp.baseAddress.map { SharedPointer($0) })
                                                                  : (nil, nil)
                                Threads.withSerialBLAS(workers) { worker in
                                    for s in stride(from: worker, to: n, by: workers) {
                                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(o), Int32(c), Int32(p), 1,
                                                    dy + s * o * p, Int32(p), colp + s * c * p, Int32(p), 1, dwp + worker * o * c, Int32(c))
                                        guard let dxs, let dcolp else { continue }
                                        // dcols_s = Wᵀ · dY_s, then spread onto the sample's input planes.
                                        let dcols = dcolp + worker * c * p
                                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(c), Int32(p), Int32(o), 1,
                                                    wp.base, Int32(c), dy + s * o * p, Int32(p), 0, dcols, Int32(p))
                                        for ch in 0..<c { g.expand(dcols + ch * p, into: dxs + (s * c + ch) * plane) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let dw = summedPartials(partialDW, parts: workers)
        var grads: [Tensor?] = [x.requiresGrad ? Tensor(shape: x.shape, data: dx) : nil, Tensor(shape: weight.shape, data: dw)]
        if bias != nil { grads.append(biasGradient(grad, batch: n, channels: o, positions: p)) }
        return grads
    }
}

/// Adds `bias: [C]` to `out: [N, C, P]`.
func addBias(_ bias: Tensor, to out: inout [Float], batch: Int, channels: Int, positions p: Int) {
    for n in 0..<batch {
        for c in 0..<channels {
            let v = bias.data[c]
            for i in 0..<p { out[(n * channels + c) * p + i] += v }
        }
    }
}

/// The bias gradient of a convolution: `grad: [N, C, P]` summed over samples and positions → `[C]`.
func biasGradient(_ grad: Tensor, batch: Int, channels: Int, positions p: Int) -> Tensor {
    var db = [Float](repeating: 0, count: channels)
    grad.data.withUnsafeBufferPointer { gy in
        for n in 0..<batch {
            for c in 0..<channels { db[c] += Float(sum(gy.baseAddress! + (n * channels + c) * p, p)) }
        }
    }
    return Tensor(shape: [channels], data: db)
}
