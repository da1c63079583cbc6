import TensorCore

/// Cross-modal instance discrimination (`avnce`; AVID, Morgado et al. 2021): symmetric InfoNCE
/// between the video and audio embeddings of the same clips, with in-batch negatives.
///
/// `L = ½ [CE(v aᵀ / τ, i) + CE(a vᵀ / τ, i)]`, the target of row i being column i.
/// `video`, `audio: [B, D]` (L2-normalised by the projection heads); τ = 0.07 by default.
public struct SymmetricInfoNCE: Sendable {
    public var temperature: Float

    public init(temperature: Float = 0.07) { self.temperature = temperature }

    public func callAsFunction(video: Tensor, audio: Tensor) -> Tensor {
        precondition(video.rank == 2 && video.shape == audio.shape, "SymmetricInfoNCE: video \(video.shape) and audio \(audio.shape) must both be [B, D]")
        let targets = Array(0..<video.shape[0])
        let logits = matmul(video, audio, transposeB: true) / temperature
        return (crossEntropy(logits, targets: targets) + crossEntropy(logits.transposed(0, 1), targets: targets)) * 0.5
    }
}
