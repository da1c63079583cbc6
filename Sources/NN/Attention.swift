import Foundation
import TensorCore

/// Multi-head self-attention as VideoMAE's: `qkv` Linear dim→3·dim, softmax(q kᵀ/√d_h) v per
/// head, `proj` Linear dim→dim. `x: [B, N, C]` → `[B, N, C]`.
public final class MultiHeadSelfAttention: Module {
    public let qkv: Linear, proj: Linear
    public let heads: Int

    public init(_ dimension: Int, heads: Int, rng: inout SeededRandom) {
        precondition(dimension % heads == 0, "MultiHeadSelfAttention: \(dimension) is not divisible by \(heads) heads")
        qkv = Linear(dimension, 3 * dimension, rng: &rng)
        proj = Linear(dimension, dimension, rng: &rng)
        self.heads = heads
    }

    public override var children: [(String, Module)] { [("qkv", qkv), ("proj", proj)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3, "MultiHeadSelfAttention: input \(x.shape) is not [B, N, C]")
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let dh = c / heads
        // [B, N, 3, H, dh] → [3, B, H, N, dh]
        let parts = qkv(x).reshaped([b, n, 3, heads, dh]).permuted([2, 0, 3, 1, 4])
        let q = parts.slice(axis: 0, 0..<1).reshaped([b * heads, n, dh])
        let k = parts.slice(axis: 0, 1..<2).reshaped([b * heads, n, dh])
        let v = parts.slice(axis: 0, 2..<3).reshaped([b * heads, n, dh])
        let attention = matmul(q * (1 / Float(dh).squareRoot()), k, transposeB: true).softmax(axis: -1)
        let mixed = matmul(attention, v).reshaped([b, heads, n, dh]).permuted([0, 2, 1, 3]).reshaped([b, n, c])
        return proj(mixed)
    }
}

/// Linear → GELU (exact) → Linear. `x: [..., dim]` → `[..., dim]`; children `fc1`, `fc2`.
public final class MLP: Module {
    public let fc1: Linear, fc2: Linear

    public init(_ dimension: Int, hidden: Int, rng: inout SeededRandom) {
        fc1 = Linear(dimension, hidden, rng: &rng)
        fc2 = Linear(hidden, dimension, rng: &rng)
    }

    public override var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).gelu()) }
}

/// A pre-LayerNorm transformer block: `x + attn(norm1(x))`, then `+ mlp(norm2(·))`.
/// Children `norm1`, `attn`, `norm2`, `mlp` (VideoMAE's names). `x: [B, N, C]`.
public final class TransformerBlock: Module {
    public let norm1: LayerNorm, attn: MultiHeadSelfAttention, norm2: LayerNorm, mlp: MLP

    public init(_ dimension: Int, heads: Int, mlpRatio: Int = 4, rng: inout SeededRandom) {
        norm1 = LayerNorm(dimension)
        attn = MultiHeadSelfAttention(dimension, heads: heads, rng: &rng)
        norm2 = LayerNorm(dimension)
        mlp = MLP(dimension, hidden: dimension * mlpRatio, rng: &rng)
    }

    public override var children: [(String, Module)] { [("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + attn(norm1(x))
        return h + mlp(norm2(h))
    }
}

/// Modules applied in order; children named "0", "1", … as PyTorch's `nn.Sequential`.
public final class Sequential: Module {
    public let layers: [(Module, (Tensor) -> Tensor)]

    /// Each element: a module and how to apply it.
    public init(_ layers: [(Module, (Tensor) -> Tensor)]) { self.layers = layers }

    public override var children: [(String, Module)] { layers.enumerated().map { (String($0.offset), $0.element.0) } }

    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1.1($0) } }
}
