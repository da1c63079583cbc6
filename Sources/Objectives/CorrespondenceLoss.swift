import TensorCore

/// Audio-visual correspondence (`avc`; Arandjelović & Zisserman, ICCV 2017): two-way
/// cross-entropy on the fusion head's logits. `logits: [B, 2]`; `corresponds[i]` is 1 when pair
/// i is audio and video of the same clip, 0 when the audio comes from another video.
public struct CorrespondenceLoss: Sendable {
    public init() {}

    public func callAsFunction(logits: Tensor, corresponds: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[1] == 2, "CorrespondenceLoss: logits \(logits.shape) are not [B, 2]")
        return crossEntropy(logits, targets: corresponds)
    }

    /// The share of pairs whose larger logit is the right answer.
    public func accuracy(logits: Tensor, corresponds: [Int]) -> Double {
        let predicted = logits.argmax(axis: 1)
        return Double(zip(predicted, corresponds).filter { $0 == $1 }.count) / Double(max(corresponds.count, 1))
    }
}
