import TensorCore

/// The localisation variant of `avnce` (EZ-VSL, Mo & Morgado, ECCV 2022; multiple-instance
/// matching of Objects that Sound): the video side is a map of location embeddings, and the
/// similarity of a clip's video with an audio is the best match over locations.
///
/// `locations: [B, D, L]` (the projected, per-location L2-normalised feature map, L = 7·7),
/// `audio: [B, D]` (L2-normalised). `s_ij = max_l ⟨v_i(l), a_j⟩ / τ`, then the symmetric
/// InfoNCE of `SymmetricInfoNCE` on `s`. `heatmaps` gives `⟨v_i(l), a_i⟩ : [B, L]`.
public struct LocalizedInfoNCE: Sendable {
    public var temperature: Float

    public init(temperature: Float = 0.07) { self.temperature = temperature }

    /// Similarity of every location of every video with every audio: `[B, L, B]`.
    func similarities(locations: Tensor, audio: Tensor) -> Tensor {
        precondition(locations.rank == 3 && audio.rank == 2 && locations.shape[0] == audio.shape[0] && locations.shape[1] == audio.shape[1],
                     "LocalizedInfoNCE: locations \(locations.shape) must be [B, D, L] and audio \(audio.shape) [B, D]")
        let (b, d, l) = (locations.shape[0], locations.shape[1], locations.shape[2])
        return matmul(locations.permuted([0, 2, 1]).reshaped([b * l, d]), audio, transposeB: true).reshaped([b, l, b])
    }

    public func callAsFunction(locations: Tensor, audio: Tensor) -> Tensor {
        let logits = similarities(locations: locations, audio: audio).max(axis: 1) / temperature  // [B video, B audio]
        let targets = Array(0..<audio.shape[0])
        return (crossEntropy(logits, targets: targets) + crossEntropy(logits.transposed(0, 1), targets: targets)) * 0.5
    }

    /// Each clip's localisation heatmap: the similarity of its own audio with each location, `[B, L]`.
    public func heatmaps(locations: Tensor, audio: Tensor) -> Tensor {
        let s = similarities(locations: locations, audio: audio)
        let (b, l) = (s.shape[0], s.shape[1])
        var rows: [Int] = []
        for i in 0..<b { for loc in 0..<l { rows.append((i * l + loc) * b + i) } }
        return s.reshaped([b * l * b, 1]).indexSelect(axis: 0, rows).reshaped([b, l])
    }
}
