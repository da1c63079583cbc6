import TensorCore

/// Batch normalisation over channel dimension 1 (BatchNorm1d/2d/3d: `rank` 2 or 3, 4, 5).
/// Parameters `weight`, `bias: [C]`; buffers `running_mean`, `running_var: [C]`,
/// `num_batches_tracked` (int64). Momentum 0.1, ε 1e-5 by default.
public final class BatchNorm: Module {
    public let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor
    public private(set) var batchesTracked: Int64 = 0
    public let momentum: Float, epsilon: Float
    /// The input ranks this layer accepts (1d: [2, 3], 2d: [4], 3d: [5]).
    let ranks: [Int]

    public init(_ channels: Int, dimensions: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition((1...3).contains(dimensions), "BatchNorm: dimensions must be 1, 2 or 3")
        weight = Tensor(shape: [channels], repeating: 1, requiresGrad: true)
        bias = Tensor(shape: [channels], repeating: 0, requiresGrad: true)
        runningMean = Tensor(shape: [channels], repeating: 0)
        runningVar = Tensor(shape: [channels], repeating: 1)
        (self.momentum, self.epsilon) = (momentum, epsilon)
        ranks = dimensions == 1 ? [2, 3] : [dimensions + 2]
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public override var localBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }
    public override var localCounters: [(String, Int64)] { [("num_batches_tracked", batchesTracked)] }
    public override func setCounter(_ name: String, _ value: Int64) { if name == "num_batches_tracked" { batchesTracked = value } }

    /// `relu: true`: `relu(bn(x))` in one fused pass (the same values).
    public func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        precondition(ranks.contains(x.rank), "BatchNorm: input \(x.shape) has rank \(x.rank), expected \(ranks)")
        if isTraining { batchesTracked += 1 }
        return batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining, momentum: momentum, epsilon: epsilon, relu: relu)
    }
}

/// Layer normalisation over the last dimension. `x: [..., D]`; `weight`, `bias: [D]`.
public final class LayerNorm: Module {
    public let weight: Tensor, bias: Tensor
    public let epsilon: Float

    public init(_ dimension: Int, epsilon: Float = 1e-5) {
        weight = Tensor(shape: [dimension], repeating: 1, requiresGrad: true)
        bias = Tensor(shape: [dimension], repeating: 0, requiresGrad: true)
        self.epsilon = epsilon
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, epsilon: epsilon) }
}

/// Rows of `weight: [vocab, dim]` (N(0, 1) initialised). ids of shape `s` → `[s..., dim]`.
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ vocabulary: Int, _ dimension: Int, rng: inout SeededRandom) {
        weight = Tensor.normal([vocabulary, dimension], rng: &rng)
        weight.requiresGrad = true
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] }

    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { embedding(ids, shape: shape, weight: weight) }
}

/// Dropout with probability `p` in training mode; the identity in evaluation.
public final class Dropout: Module {
    public let p: Float
    var rng: SeededRandom

    public init(_ p: Float, seed: UInt64 = 0) {
        self.p = p
        rng = SeededRandom(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.dropout(p, training: isTraining, rng: &rng) }
}
