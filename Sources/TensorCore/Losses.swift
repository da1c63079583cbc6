// Softmax and the losses, as compositions of the primitives.

extension Tensor {
    /// `x − logsumexp(x)` along `axis`. Shape unchanged.
    public func logSoftmax(axis: Int = -1) -> Tensor { self - logSumExp(axis: axis, keepDims: true) }

    /// `exp(x) / Σ exp(x)` along `axis`. Shape unchanged. Along the last axis one fused kernel
    /// (`softmaxLastAxis`, tested equal to this composition); along another, the composition.
    public func softmax(axis: Int = -1) -> Tensor {
        normalizedAxis(axis) == rank - 1 ? softmaxLastAxis() : logSoftmax(axis: axis).exp()
    }

    /// `x / max(‖x‖₂, ε)` along `axis` (PyTorch's `F.normalize`). Shape unchanged.
    public func l2Normalized(axis: Int = -1, epsilon: Float = 1e-12) -> Tensor {
        self / (self * self).sum(axes: [axis], keepDims: true).sqrt().clamped(min: epsilon)
    }
}

/// Cross-entropy of `logits: [N, C]` against class indices `targets: [N]`, averaged as PyTorch's
/// `F.cross_entropy` does: with class `weights` the mean divides by `Σ_i w[y_i]`; with label
/// smoothing ε the target puts 1 − ε + ε/C on the class and ε/C on every class:
/// `loss = −Σ_i Σ_c w_c q_ic log p_ic / Σ_i w[y_i]`, `q = (1 − ε) onehot(y) + ε/C`.
public func crossEntropy(_ logits: Tensor, targets: [Int], weights: [Float]? = nil, labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == targets.count,
                 "crossEntropy: logits \(logits.shape) for \(targets.count) targets (need [N, C] and N targets)")
    let (n, c) = (logits.shape[0], logits.shape[1])
    precondition(targets.allSatisfy { $0 >= 0 && $0 < c }, "crossEntropy: a target is outside 0..<\(c)")
    let w = weights ?? [Float](repeating: 1, count: c)
    precondition(w.count == c, "crossEntropy: \(w.count) class weights for \(c) classes")
    var q = [Float](repeating: 0, count: n * c)
    var normaliser: Float = 0
    for (i, y) in targets.enumerated() {
        for k in 0..<c { q[i * c + k] = labelSmoothing / Float(c) * w[k] }
        q[i * c + y] += (1 - labelSmoothing) * w[y]
        normaliser += w[y]
    }
    return -(Tensor(shape: [n, c], data: q) * logits.logSoftmax(axis: 1)).sum() / normaliser
}

/// Binary cross-entropy with logits, averaged: `mean(max(x, 0) − x y + log(1 + e^{−|x|}))`.
/// `logits` and `targets` have the same shape.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor) -> Tensor {
    precondition(logits.shape == targets.shape, "binaryCrossEntropyWithLogits: logits \(logits.shape) vs targets \(targets.shape)")
    return (logits.relu() - logits * targets + (-logits.abs()).softplus()).mean()
}

/// Mean squared error; `a` and `b` have the same shape.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "meanSquaredError: shapes \(a.shape) and \(b.shape) differ")
    let d = a - b
    return (d * d).mean()
}
