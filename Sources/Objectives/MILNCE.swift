import TensorCore

/// MIL-NCE (Miech et al., "End-to-End Learning of Visual Representations from Uncurated
/// Instructional Videos", CVPR 2020): each clip has K candidate narrations, any of which may
/// be the one that describes it.
///
/// With scores `s(i, j, k) = f(xᵢ) · g(t_jk) / τ` of clip i against narration k of clip j,
/// `L = mean_i [ logsumexp_{j,k} (s(i, j, k) ∪ s(j, i, k)) − logsumexp_k s(i, i, k) ]`:
/// the clip's own K narrations are the positives, every other clip's narrations and (for each
/// of its narrations) every other clip are the negatives — the paper's reference code, in
/// which the positives appear in both halves of the denominator. K = 1 is the single-positive
/// `nce` baseline. `video: [B, D]`, `text: [B·K, D]` (clip i's narrations at rows i·K ..< i·K + K).
public struct MILNCE: Sendable {
    public var temperature: Float

    public init(temperature: Float = 1) { self.temperature = temperature }

    public func callAsFunction(video: Tensor, text: Tensor) -> Tensor {
        precondition(video.rank == 2 && text.rank == 2 && video.shape[1] == text.shape[1] && text.shape[0] % video.shape[0] == 0,
                     "MILNCE: video \(video.shape) must be [B, D] and text \(text.shape) [B·K, D]")
        let b = video.shape[0], k = text.shape[0] / b
        let scores = (matmul(video, text, transposeB: true) / temperature).reshaped([b, b, k])  // [i, j, k]
        var eye = [Float](repeating: 0, count: b * b)
        for i in 0..<b { eye[i * b + i] = 1 }
        // NOTE: the positives are picked by multiplying with the identity and summing over j,
        // so every other entry contributes an exact 0 (never a large score to cancel).
        let positives = (scores * Tensor(shape: [b, b, 1], data: eye)).sum(axes: [1])  // [B, K]
        let numerator = positives.logSumExp(axis: 1)  // [B]
        let denominator = concat([scores, scores.permuted([1, 0, 2])], axis: 1).reshaped([b, 2 * b * k]).logSumExp(axis: 1)
        return (denominator - numerator).mean()
    }
}
