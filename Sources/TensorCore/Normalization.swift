import Foundation

/// Batch normalisation over `x: [N, C, …]` per channel (BatchNorm1d/2d/3d), with `weight`,
/// `bias`, `runningMean`, `runningVar: [C]`.
///
/// Training: batch statistics (biased variance) normalise; the running statistics move by
/// `momentum` toward the batch mean and the unbiased batch variance (PyTorch's rule).
/// Evaluation: the running statistics normalise. `y = (x − μ) / √(σ² + ε) · γ + β`.
///
/// `relu: true` applies max(·, 0) in the same pass (`relu(batchNorm(x))`, fused: measured in
/// the step profiles, where the separate ReLU read and wrote every activation twice more);
/// its backward pass masks the output gradient while summing, to the same values as the
/// composition (a test checks they are equal to the bit).
public func batchNorm(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, relu: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "batchNorm: input \(x.shape) has no channel dimension")
    let (n, c) = (x.shape[0], x.shape[1])
    let inner = x.shape[2...].reduce(1, *)
    for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
        precondition(t.shape == [c], "batchNorm: \(name) \(t.shape) for \(c) channels of input \(x.shape)")
    }
    let m = n * inner
    var batchMean = [Float](repeating: 0, count: c), batchInvStd = [Float](repeating: 0, count: c)
    if training {
        // NOTE: two passes (the mean, then squares about it): a one-pass Σx² − (Σx)²/m loses
        // the variance to cancellation when |mean| ≫ std.
        var variance = [Double](repeating: 0, count: c)
        x.data.withUnsafeBufferPointer { xb in
            let xp = SharedPointer(xb.baseAddress!)
            batchMean.withUnsafeMutableBufferPointer { mb in
                variance.withUnsafeMutableBufferPointer { vb in
                    let (meanOut, varOut) = (SharedPointer(mb.baseAddress!), SharedPointer(vb.baseAddress!))
                    Threads.parallelFor(c, work: x.count) { ch in
                        var s = 0.0
                        for b in 0..<n { s += sum(xp + (b * c + ch) * inner, inner) }
                        let mu = Float(s / Double(m))
                        var ss = 0.0
                        for b in 0..<n { ss += centredSquares(xp + (b * c + ch) * inner, mu, inner) }
                        meanOut[ch] = mu
                        varOut[ch] = ss / Double(m)
                    }
                }
            }
        }
        for ch in 0..<c {
            batchInvStd[ch] = Float(1 / (variance[ch] + Double(epsilon)).squareRoot())
            let unbiased = m > 1 ? variance[ch] * Double(m) / Double(m - 1) : variance[ch]
            runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * batchMean[ch]
            runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(unbiased)
        }
    } else {
        for ch in 0..<c {
            batchMean[ch] = runningMean.data[ch]
            batchInvStd[ch] = 1 / (runningVar.data[ch] + epsilon).squareRoot()
        }
    }
    let (mean, invStd) = (batchMean, batchInvStd)
    // y = x · a + b per channel, a = γ/σ, b = β − μ·γ/σ.
    let scale = (0..<c).map { weight.data[$0] * invStd[$0] }
    let shift = (0..<c).map { bias.data[$0] - mean[$0] * scale[$0] }
    let out = [Float](unfilled: x.count) { o in
        x.data.withUnsafeBufferPointer { xb in
            let (xp, op) = (SharedPointer(xb.baseAddress!), SharedPointer(o.baseAddress!))
            Threads.parallelFor(n * c, work: x.count) { plane in
                let (a, b) = (scale[plane % c], shift[plane % c])
                let (src, dst) = (xp + plane * inner, op + plane * inner)
                if relu {
                    for i in 0..<inner { dst[i] = Swift.max(src[i] * a + b, 0) }
                } else {
                    for i in 0..<inner { dst[i] = src[i] * a + b }
                }
            }
        }
    }
    return Autograd.result(shape: x.shape, data: out, inputs: [x, weight, bias]) { g in
        // With the ReLU, the gradient reaching the normalisation is `out > 0 ? g : 0` (the ReLU's
        // backward pass); it is formed on the fly in both passes below rather than stored.
        // Per channel: Σdy and Σdy·x̂ = (Σdy·x − μ·Σdy)/σ.
        var sdy = [Double](repeating: 0, count: c), sdyx = [Double](repeating: 0, count: c)
        g.data.withUnsafeBufferPointer { gb in
            x.data.withUnsafeBufferPointer { xb in
                out.withUnsafeBufferPointer { yb in
                    sdy.withUnsafeMutableBufferPointer { s1 in
                        sdyx.withUnsafeMutableBufferPointer { s2 in
                            let (gp, xp, p1, p2) = (SharedPointer(gb.baseAddress!), SharedPointer(xb.baseAddress!),
                                                    SharedPointer(s1.baseAddress!), SharedPointer(s2.baseAddress!))
                            let yp = SharedPointer(yb.baseAddress!)
                            Threads.parallelFor(c, work: x.count) { ch in
                                var (a, b) = (0.0, 0.0)
                                for s in 0..<n {
                                    let offset = (s * c + ch) * inner
                                    let r = relu ? maskedSums(gp + offset, yp + offset, xp + offset, inner) : sums(gp + offset, xp + offset, inner)
                                    a += r.sum
                                    b += r.dot
                                }
                                p1[ch] = a
                                p2[ch] = (b - Double(mean[ch]) * a) * Double(invStd[ch])
                            }
                        }
                    }
                }
            }
        }
        let dw = (0..<c).map { Float(sdyx[$0]) }, db = (0..<c).map { Float(sdy[$0]) }
        // Training: dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)); evaluation: γ/σ · dy.
        // Written as dx = dy·k + x·u + v per channel.
        let coefficients: [(k: Float, u: Float, v: Float)] = (0..<c).map { ch in
            let gs = weight.data[ch] * invStd[ch]
            guard training else { return (gs, 0, 0) }
            let meanDy = Float(sdy[ch] / Double(m)), meanDyXhat = Float(sdyx[ch] / Double(m))
            return (gs, -gs * meanDyXhat * invStd[ch], -gs * meanDy + gs * meanDyXhat * invStd[ch] * mean[ch])
        }
        let dx = [Float](unfilled: x.count) { o in
            g.data.withUnsafeBufferPointer { gb in
                x.data.withUnsafeBufferPointer { xb in
                    out.withUnsafeBufferPointer { yb in
                        let (gp, xp, op) = (SharedPointer(gb.baseAddress!), SharedPointer(xb.baseAddress!), SharedPointer(o.baseAddress!))
                        let yp = SharedPointer(yb.baseAddress!)
                        Threads.parallelFor(n * c, work: x.count) { plane in
                            let ch = plane % c
                            let (kk, uu, vv) = coefficients[ch]
                            let (gs, xs, dst) = (gp + plane * inner, xp + plane * inner, op + plane * inner)
                            if relu {
                                let ys = yp + plane * inner
                                for i in 0..<inner {
                                    let (y, gv) = (ys[i], gs[i])
                                    dst[i] = (y > 0 ? gv : 0) * kk + xs[i] * uu + vv
                                }
                            } else {
                                for i in 0..<inner { dst[i] = gs[i] * kk + xs[i] * uu + vv }
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, data: dx), Tensor(shape: [c], data: dw), Tensor(shape: [c], data: db)]
    }
}

/// Σ (x − μ)² over `n` floats, in 16 lanes, summed in Double.
@inline(__always)
func centredSquares(_ x: UnsafePointer<Float>, _ mu: Float, _ n: Int) -> Double {
    var acc = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mu)
    var i = 0
    while i + 16 <= n {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
        acc += d * d
        i += 16
    }
    var total = Double(acc.sum())
    while i < n { let d = Double(x[i] - mu); total += d * d; i += 1 }
    return total
}

/// Layer normalisation over the last dimension: `x: [..., D]`, `weight`, `bias: [D]`.
/// `y = (x − mean) / √(var + ε) · γ + β` per row (biased variance). Rows run in parallel; the
/// backward pass sums γ's and β's gradients over the rows in order, columns in parallel.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let d = x.shape.last ?? 0
    precondition(weight.shape == [d] && bias.shape == [d], "layerNorm: weight \(weight.shape), bias \(bias.shape) for input \(x.shape)")
    let rows = x.count / max(d, 1)
    guard x.count > 0 else {
        // No rows (a batch of none): an empty output; γ and β get zero gradients.
        return Autograd.result(shape: x.shape, data: [], inputs: [x, weight, bias]) { _ in [x.detached(), Tensor.zeros([d]), Tensor.zeros([d])] }
    }
    var invStd = [Float](repeating: 0, count: rows)
    var xhat = [Float](uninitializedCount: x.count), out = [Float](uninitializedCount: x.count)
    x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
            bias.data.withUnsafeBufferPointer { bb in
                invStd.withUnsafeMutableBufferPointer { ib in
                    xhat.withUnsafeMutableBufferPointer { hb in
                        out.withUnsafeMutableBufferPointer { ob in
                            let (xp, wp, bp, ip) = (SharedPointer(xb.baseAddress!), SharedPointer(wb.baseAddress!), SharedPointer(bb.baseAddress!),
                                                    SharedPointer(ib.baseAddress!))
                            let (hp, op) = (SharedPointer(hb.baseAddress!), SharedPointer(ob.baseAddress!))
                            Threads.parallelChunks(rows, minimumWork: max(1, (1 << 15) / max(d, 1))) { range in
                                for r in range {
                                    let row = xp + r * d
                                    var s = 0.0, ss = 0.0
                                    for j in 0..<d { let v = Double(row[j]); s += v; ss += v * v }
                                    let mu = s / Double(d)
                                    let inv = Float(1 / (Swift.max(ss / Double(d) - mu * mu, 0) + Double(epsilon)).squareRoot())
                                    ip[r] = inv
                                    let (h, o) = (hp + r * d, op + r * d)
                                    for j in 0..<d {
                                        h[j] = (row[j] - Float(mu)) * inv
                                        o[j] = h[j] * wp[j] + bp[j]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return Autograd.result(shape: x.shape, data: out, inputs: [x, weight, bias]) { g in
        var dw = [Float](repeating: 0, count: d), db = [Float](repeating: 0, count: d)
        let dx = [Float](unfilled: x.count) { dxb in
            g.data.withUnsafeBufferPointer { gb in
                weight.data.withUnsafeBufferPointer { wb in
                    xhat.withUnsafeBufferPointer { hb in
                        invStd.withUnsafeBufferPointer { ib in
                            dw.withUnsafeMutableBufferPointer { dwb in
                                db.withUnsafeMutableBufferPointer { dbb in
                                    let (gp, wp, hp, ip) = (SharedPointer(gb.baseAddress!), SharedPointer(wb.baseAddress!), SharedPointer(hb.baseAddress!),
                                                            SharedPointer(ib.baseAddress!))
                                    let (dwp, dbp, dp) = (SharedPointer(dwb.baseAddress!), SharedPointer(dbb.baseAddress!), SharedPointer(dxb.baseAddress!))
                                    // dx row by row; γ's and β's gradients as column sums, each thread a slice
                                    // of columns over every row in order (the sums of the serial loop, to the bit).
                                    Threads.parallelChunks(rows, minimumWork: Swift.max(1, (1 << 15) / Swift.max(d, 1))) { range in
                                        for r in range {
                                            let (gr, hr, dr) = (gp + r * d, hp + r * d, dp + r * d)
                                            var sdxh: Float = 0, sdxhx: Float = 0
                                            for j in 0..<d {
                                                let dxh = gr[j] * wp[j]
                                                sdxh += dxh
                                                sdxhx += dxh * hr[j]
                                            }
                                            let inv = ip[r]
                                            for j in 0..<d { dr[j] = inv * (gr[j] * wp[j] - sdxh / Float(d) - hr[j] * sdxhx / Float(d)) }
                                        }
                                    }
                                    Threads.parallelChunks(d, minimumWork: Swift.max(1, (1 << 15) / Swift.max(rows, 1))) { columns in
                                        for r in 0..<rows {
                                            let (gr, hr) = (gp + r * d, hp + r * d)
                                            for j in columns {
                                                dwp[j] += gr[j] * hr[j]
                                                dbp[j] += gr[j]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, data: dx), Tensor(shape: [d], data: dw), Tensor(shape: [d], data: db)]
    }
}

/// `sums(g', x, n)` with `g' = y > 0 ? g : 0` (the ReLU's backward pass) formed on the fly:
/// the same lanes and order as `sums`, so the same values as masking first.
@inline(__always)
func maskedSums(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> (sum: Double, dot: Double) {
    var s = SIMD16<Float>(), d = SIMD16<Float>()
    let zero = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
        let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
        let a = zero.replacing(with: gv, where: yv .> zero)
        let b = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        s += a
        d += a * b
        i += 16
    }
    var sum = Double(s.sum()), dot = Double(d.sum())
    while i < n {
        let a = y[i] > 0 ? g[i] : 0
        sum += Double(a)
        dot += Double(a) * Double(x[i])
        i += 1
    }
    return (sum, dot)
}
