import TensorCore

/// The contrastive margin loss of AVTS (Korbar, Tran & Torresani, NeurIPS 2018; after Hadsell,
/// Chopra & LeCun 2006) on pairs of embeddings: in-sync pairs are pulled together, negatives
/// (another video's audio, or the same video's shifted) pushed at least the margin η apart.
///
/// `video, audio: [B, D]` (L2-normalised by the caller, so d ∈ [0, 2]); `inSync[i]` is 1 for a
/// positive pair. Loss: `mean_i( y·d² + (1 − y)·max(η − d, 0)² )`, d = ‖v − a‖₂.
///
/// NOTE: d² is summed directly (its gradient is finite at d = 0); the hinge term uses
/// d = √(d² + 1e-12), whose gradient stays finite when a negative pair coincides.
public struct ContrastiveMarginLoss: Sendable {
    public var margin: Float
    public init(margin: Float = 0.99) { self.margin = margin }

    /// The squared distances `[B]` of each pair.
    public func squaredDistances(video: Tensor, audio: Tensor) -> Tensor {
        precondition(video.rank == 2 && video.shape == audio.shape, "ContrastiveMarginLoss: video \(video.shape) and audio \(audio.shape) differ")
        let difference = video - audio
        return (difference * difference).sum(axes: [1])
    }

    public func callAsFunction(video: Tensor, audio: Tensor, inSync: [Int]) -> Tensor {
        precondition(inSync.count == video.shape[0], "ContrastiveMarginLoss: \(inSync.count) labels for \(video.shape[0]) pairs")
        let d2 = squaredDistances(video: video, audio: audio)
        let y = Tensor(shape: [inSync.count], data: inSync.map { Float($0) })
        let hinge = (margin - (d2 + 1e-12).sqrt()).relu()
        return (y * d2 + (1 - y) * hinge * hinge).mean()
    }

    /// The share of pairs on the right side of half the margin (`d < η/2` for in-sync pairs).
    public func accuracy(video: Tensor, audio: Tensor, inSync: [Int]) -> Double {
        let d = squaredDistances(video: video, audio: audio).data.map { $0.squareRoot() }
        let right = zip(d, inSync).filter { ($0 < margin / 2) == ($1 == 1) }.count
        return Double(right) / Double(max(inSync.count, 1))
    }
}
