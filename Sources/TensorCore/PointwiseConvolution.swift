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

/// A 1x1x1 convolution without padding (strided or not) over the whole batch as one matrix
/// product: `cols: [C, N·P]` (the input on the stride grid, channels first), `Y = W · cols`.
/// `x: [N, C, D, H, W]`, `weight: [O, C, 1, 1, 1]` → `[N, O, D', H', W']`.
///
/// NOTE: the per-sample products of such a kernel are thin (K = C, N = P a few hundred), far
/// from sgemm's best rate; one product over the batch runs at it. The subsampled input is kept
/// for the backward pass (it is at most the input's size, an eighth of it at stride 2) instead
/// of being gathered again, and the input gradient is written plane by plane in one pass
/// (zeros off the grid) instead of zero-filled and then scattered into.
func pointwiseConv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
    let (n, c, o, p) = (g.batch, g.channels, g.outChannels, g.positions)
    let np = n * p
    let plane = g.depth * g.height * g.width
    var cols = [Float](uninitializedCount: c * np)
    x.data.withUnsafeBufferPointer { xs in
        cols.withUnsafeMutableBufferPointer { cp in
            let src = SharedPointer(xs.baseAddress!), dst = SharedPointer(cp.baseAddress!)
            Threads.parallelFor(c, work: c * np) { ch in
                for s in 0..<n { g.subsample(src + (s * c + ch) * plane, into: dst + ch * np + s * p) }
            }
        }
    }
    var product = [Float](uninitializedCount: o * np)
    weight.data.withUnsafeBufferPointer { w in
        cols.withUnsafeBufferPointer { cp in
            product.withUnsafeMutableBufferPointer { y in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(o), Int32(np), Int32(c), 1,
                            w.baseAddress!, Int32(c), cp.baseAddress!, Int32(np), 0, y.baseAddress!, Int32(np))
            }
        }
    }
    var out = regrouped(product, rows: o, samples: n, positions: p, toSamplesFirst: true)
    if let bias { addBias(bias, to: &out, batch: n, channels: o, positions: p) }
    let shape = [n, o, g.outDepth, g.outHeight, g.outWidth]
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Autograd.result(shape: shape, data: out, inputs: inputs) { grad in
        let dy = regrouped(grad.data, rows: o, samples: n, positions: p, toSamplesFirst: false)  // [O, N·P]
        var dw = [Float](uninitializedCount: o * c)
        var dcols = [Float](uninitializedCount: x.requiresGrad ? c * np : 0)
        dy.withUnsafeBufferPointer { d in
            cols.withUnsafeBufferPointer { cp in
                dw.withUnsafeMutableBufferPointer { dwp in
                    // dW = dY · colsᵀ
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(o), Int32(c), Int32(np), 1,
                                d.baseAddress!, Int32(np), cp.baseAddress!, Int32(np), 0, dwp.baseAddress!, Int32(c))
                }
            }
            guard x.requiresGrad else { return }
            weight.data.withUnsafeBufferPointer { w in
                dcols.withUnsafeMutableBufferPointer { dc in
                    // dcols = Wᵀ · dY
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(c), Int32(np), Int32(o), 1,
                                w.baseAddress!, Int32(c), d.baseAddress!, Int32(np), 0, dc.baseAddress!, Int32(np))
                }
            }
        }
        var grads: [Tensor?] = [nil, Tensor(shape: weight.shape, data: dw)]
        if x.requiresGrad {
            let dx = [Float](unfilled: x.count) { dxp in
                dcols.withUnsafeBufferPointer { dc in
                    let src = SharedPointer(dc.baseAddress!), dst = SharedPointer(dxp.baseAddress!)
                    Threads.parallelFor(c, work: n * c * plane) { ch in
                        for s in 0..<n { g.expand(src + ch * np + s * p, into: dst + (s * c + ch) * plane) }
                    }
                }
            }
            grads[0] = Tensor(shape: x.shape, data: dx)
        }
        if bias != nil { grads.append(biasGradient(grad, batch: n, channels: o, positions: p)) }
        return grads
    }
}

/// `[rows, N·P]` ↔ `[N, rows, P]`: moves blocks of `positions` floats between the channel-major
/// layout of a whole-batch matrix product and the sample-major layout of a tensor.
func regrouped(_ a: [Float], rows: Int, samples: Int, positions p: Int, toSamplesFirst: Bool) -> [Float] {
    [Float](unfilled: a.count) { out in
        a.withUnsafeBufferPointer { src in
            let (wide, tall) = toSamplesFirst ? (UnsafeMutablePointer(mutating: src.baseAddress!), out.baseAddress!)
                                              : (out.baseAddress!, UnsafeMutablePointer(mutating: src.baseAddress!))
            regroup(wide: wide, width: samples * p, tall: tall, rows: rows, samples: samples, positions: p, toTall: toSamplesFirst)
        }
    }
}

/// Moves `samples` × `rows` blocks of `p` floats between a matrix `wide: [rows, width]` (sample
/// s's block of row r at column s·p) and `tall: [samples, rows, p]`, in the direction `toTall`
/// says, spread over the threads by row.
func regroup(wide: UnsafeMutablePointer<Float>, width: Int, tall: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
             positions p: Int, toTall: Bool) {
    let w = SharedPointer(wide), t = SharedPointer(tall)
    Threads.parallelFor(rows, work: rows * samples * p) { r in
        for n in 0..<samples {
            let a = w + (r * width + n * p), b = t + ((n * rows + r) * p)
            if toTall { b.update(from: a, count: p) } else { a.update(from: b, count: p) }
        }
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
