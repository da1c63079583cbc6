import TensorCore

/// The localisation variant of `avnce` (EZ-VSL, Mo & Morgado, ECCV 2022; multiple-instance
/// matching of Objects that Sound): the video side is a map of location embeddings, and the
/// similarity of a clip's video with an audio is the best match over locations.
///
/// `locations: [B, D, L]` (the projected, per-location L2-normalised feature map, L = 7·7),
/// `audio: [B, D]` (L2-normalised). `s_ij = max_l ⟨v_i(l), a_j⟩ / τ`, then the symmetric
/// InfoNCE of `SymmetricInfoNCE` on `s`. `heatmaps` gives `⟨v_i(l), a_i⟩ : [B, L]`.
///
/// With `backgroundNegative` (the hard negative of LVS, Chen et al., CVPR 2021, "Localizing
/// Visual Sounds the Hard Way", in its simplest form): each clip's own picture as a whole, the
/// mean over its locations `b_i = mean_l ⟨v_i(l), a_i⟩ / τ`, is one more negative of the
/// video → audio direction (row i of the logits becomes `[s_i1 … s_iB, b_i]`), so the sound must
/// match a part of its picture better than the picture as a whole.
public struct LocalizedInfoNCE: Sendable {
    public var temperature: Float
    public var backgroundNegative: Bool

    public init(temperature: Float = 0.07, backgroundNegative: Bool = false) {
        self.temperature = temperature
        self.backgroundNegative = backgroundNegative
    }

    /// Similarity of every location of every video with every audio: `[B, L, B]`.
    func similarities(locations: Tensor, audio: Tensor) -> Tensor {
        precondition(locations.rank == 3 && audio.rank == 2 && locations.shape[0] == audio.shape[0] && locations.shape[1] == audio.shape[1],
                     "LocalizedInfoNCE: locations \(locations.shape) must be [B, D, L] and audio \(audio.shape) [B, D]")
        let (b, d, l) = (locations.shape[0], locations.shape[1], locations.shape[2])
        return matmul(locations.permuted([0, 2, 1]).reshaped([b * l, d]), audio, transposeB: true).reshaped([b, l, b])
    }

    /// `within: [B, L]` (optional): 0 at the locations clip i may match with, a large negative
    /// number elsewhere (added before the max over locations).
    public func callAsFunction(locations: Tensor, audio: Tensor, within: Tensor? = nil) -> Tensor {
        var s = similarities(locations: locations, audio: audio)
        if let within {
            precondition(within.shape == [s.shape[0], s.shape[1]], "LocalizedInfoNCE: within \(within.shape) must be [B, L] = \([s.shape[0], s.shape[1]])")
            s = s + within.reshaped([s.shape[0], s.shape[1], 1])
        }
        let logits = s.max(axis: 1) / temperature  // [B video, B audio]
        let targets = Array(0..<audio.shape[0])
        let videoToAudio = backgroundNegative
            ? concat([logits, ownMaps(s).mean(axes: [1], keepDims: true) / temperature], axis: 1)  // [B, B + 1]
            : logits
        return (crossEntropy(videoToAudio, targets: targets) + crossEntropy(logits.transposed(0, 1), targets: targets)) * 0.5
    }

    /// Each clip's localisation heatmap: the similarity of its own audio with each location, `[B, L]`.
    public func heatmaps(locations: Tensor, audio: Tensor) -> Tensor {
        ownMaps(similarities(locations: locations, audio: audio))
    }

    /// The diagonal of `s: [B, L, B]`: `s[i, l, i]` as `[B, L]`.
    func ownMaps(_ s: Tensor) -> Tensor {
        let (b, l) = (s.shape[0], s.shape[1])
        var rows: [Int] = []
        for i in 0..<b { for loc in 0..<l { rows.append((i * l + loc) * b + i) } }
        return s.reshaped([b * l * b, 1]).indexSelect(axis: 0, rows).reshaped([b, l])
    }
}
