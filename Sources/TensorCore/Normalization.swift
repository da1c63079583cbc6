import Foundation

/// Batch normalisation over `x: [N, C, …]` per channel (BatchNorm1d/2d/3d), with `weight`,
/// `bias`, `runningMean`, `runningVar: [C]`.
///
/// Training: batch statistics (biased variance) normalise; the running statistics move by
/// `momentum` toward the batch mean and the unbiased batch variance (PyTorch's rule).
/// Evaluation: the running statistics normalise. `y = (x − μ) / √(σ² + ε) · γ + β`.
public func batchNorm(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 2, "batchNorm: input \(x.shape) has no channel dimension")
    let (n, c) = (x.shape[0], x.shape[1])
    let inner = x.shape[2...].reduce(1, *)
    for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
        precondition(t.shape == [c], "batchNorm: \(name) \(t.shape) for \(c) channels of input \(x.shape)")
    }
    let m = n * inner
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    for ch in 0..<c {
        if training {
            var s = 0.0, ss = 0.0
            for b in 0..<n { for i in 0..<inner { let v = Double(x.data[(b * c + ch) * inner + i]); s += v; ss += v * v } }
            let mu = s / Double(m)
            let variance = max(ss / Double(m) - mu * mu, 0)
            mean[ch] = Float(mu)
            invStd[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * Float(mu)
            runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(unbiased)
        } else {
            mean[ch] = runningMean.data[ch]
            invStd[ch] = 1 / (runningVar.data[ch] + epsilon).squareRoot()
        }
    }
    var xhat = [Float](repeating: 0, count: x.count), out = [Float](repeating: 0, count: x.count)
    for b in 0..<n { for ch in 0..<c { for i in 0..<inner {
        let k = (b * c + ch) * inner + i
        xhat[k] = (x.data[k] - mean[ch]) * invStd[ch]
        out[k] = xhat[k] * weight.data[ch] + bias.data[ch]
    } } }
    return Autograd.result(shape: x.shape, data: out, inputs: [x, weight, bias]) { g in
        var dx = [Float](repeating: 0, count: x.count)
        var dw = [Float](repeating: 0, count: c), db = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            var sdy: Float = 0, sdyx: Float = 0
            for b in 0..<n { for i in 0..<inner { let k = (b * c + ch) * inner + i; sdy += g.data[k]; sdyx += g.data[k] * xhat[k] } }
            dw[ch] = sdyx
            db[ch] = sdy
            let scale = weight.data[ch] * invStd[ch]
            for b in 0..<n { for i in 0..<inner {
                let k = (b * c + ch) * inner + i
                // Training: dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)); evaluation: γ/σ · dy.
                dx[k] = training ? scale * (g.data[k] - sdy / Float(m) - xhat[k] * sdyx / Float(m)) : scale * g.data[k]
            } }
        }
        return [Tensor(shape: x.shape, data: dx), Tensor(shape: [c], data: dw), Tensor(shape: [c], data: db)]
    }
}

/// Layer normalisation over the last dimension: `x: [..., D]`, `weight`, `bias: [D]`.
/// `y = (x − mean) / √(var + ε) · γ + β` per row (biased variance).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let d = x.shape.last ?? 0
    precondition(weight.shape == [d] && bias.shape == [d], "layerNorm: weight \(weight.shape), bias \(bias.shape) for input \(x.shape)")
    let rows = x.count / max(d, 1)
    var xhat = [Float](repeating: 0, count: x.count), out = [Float](repeating: 0, count: x.count)
    var invStd = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        var s = 0.0, ss = 0.0
        for j in 0..<d { let v = Double(x.data[r * d + j]); s += v; ss += v * v }
        let mu = s / Double(d)
        let inv = Float(1 / (max(ss / Double(d) - mu * mu, 0) + Double(epsilon)).squareRoot())
        invStd[r] = inv
        for j in 0..<d {
            xhat[r * d + j] = (x.data[r * d + j] - Float(mu)) * inv
            out[r * d + j] = xhat[r * d + j] * weight.data[j] + bias.data[j]
        }
    }
    return Autograd.result(shape: x.shape, data: out, inputs: [x, weight, bias]) { g in
        var dx = [Float](repeating: 0, count: x.count)
        var dw = [Float](repeating: 0, count: d), db = [Float](repeating: 0, count: d)
        for r in 0..<rows {
            var sdxh: Float = 0, sdxhx: Float = 0
            for j in 0..<d {
                let k = r * d + j
                let dxh = g.data[k] * weight.data[j]
                sdxh += dxh
                sdxhx += dxh * xhat[k]
                dw[j] += g.data[k] * xhat[k]
                db[j] += g.data[k]
            }
            for j in 0..<d {
                let k = r * d + j
                dx[k] = invStd[r] * (g.data[k] * weight.data[j] - sdxh / Float(d) - xhat[k] * sdxhx / Float(d))
            }
        }
        return [Tensor(shape: x.shape, data: dx), Tensor(shape: [d], data: dw), Tensor(shape: [d], data: db)]
    }
}
