import NN
import TensorCore

/// `wordpool` narration encoder: ids `[B, T]` (0 = padding) → `[B, 256]`:
/// Embedding(vocab, 128) → Linear 128→256, ReLU → max over the non-pad tokens (0 for a row of
/// padding only) → Linear 256→256. Names as `peers/models.py`'s `WordPool`.
public final class WordPool: Module {
    public let embedding: Embedding, fc1: Linear, fc2: Linear

    public init(vocabulary: Int = 10_000, rng: inout SeededRandom) {
        embedding = Embedding(vocabulary, 128, rng: &rng)
        fc1 = Linear(128, 256, rng: &rng)
        fc2 = Linear(256, 256, rng: &rng)
    }

    public override var children: [(String, Module)] { [("embedding", embedding), ("fc1", fc1), ("fc2", fc2)] }

    /// `ids`: row-major `[batch, tokens]`.
    public func callAsFunction(_ ids: [Int], batch: Int) -> Tensor {
        precondition(batch > 0 && ids.count % batch == 0, "WordPool: \(ids.count) ids for a batch of \(batch)")
        let tokens = ids.count / batch
        let h = fc1(embedding(ids, shape: [batch, tokens])).relu()  // [B, T, 256]
        let width = h.shape[2]
        var pad = [Bool](repeating: false, count: h.count)
        for (i, id) in ids.enumerated() where id == 0 { for j in 0..<width { pad[i * width + j] = true } }
        let pooled = h.maskedFill(pad, -.infinity).max(axis: 1)  // [B, 256]
        let empty = pooled.data.map { $0.isInfinite }
        return fc2(select(empty, Tensor.zeros(pooled.shape), pooled))
    }
}

/// Projection head: Linear 256→256, BatchNorm1d, ReLU, Linear 256→128, L2-normalised.
/// `x: [B, 256]` → `[B, 128]`. Children `fc1`, `bn`, `fc2`.
public final class ProjectionHead: Module {
    public let fc1: Linear, bn: BatchNorm, fc2: Linear

    public init(input: Int = 256, hidden: Int = 256, output: Int = 128, rng: inout SeededRandom) {
        fc1 = Linear(input, hidden, rng: &rng)
        bn = BatchNorm(hidden, dimensions: 1)
        fc2 = Linear(hidden, output, rng: &rng)
    }

    public override var children: [(String, Module)] { [("fc1", fc1), ("bn", bn), ("fc2", fc2)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(bn(fc1(x)).relu()).l2Normalized(axis: -1) }
}

/// The AVC fusion head: concat(video 256, audio 256) → Linear 512→128 → ReLU → Linear 128→2.
/// `video`, `audio: [B, 256]` → logits `[B, 2]`. Children `fc1`, `fc2`.
public final class AVCHead: Module {
    public let fc1: Linear, fc2: Linear

    /// `inputs`: the video and audio widths together (512 for the presets).
    public init(inputs: Int = 512, rng: inout SeededRandom) {
        fc1 = Linear(inputs, 128, rng: &rng)
        fc2 = Linear(128, 2, rng: &rng)
    }

    public override var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }

    public func callAsFunction(video: Tensor, audio: Tensor) -> Tensor { fc2(fc1(concat([video, audio], axis: 1)).relu()) }
}
