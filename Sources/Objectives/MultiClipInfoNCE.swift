import TensorCore

/// InfoNCE over ρ clips of each video (`rho-simclr`; Feichtenhofer et al., CVPR 2021).
///
/// `z: [B·ρ, D]`, L2-normalised, clip j of video i at row i·ρ + j. Similarities `z zᵀ / τ`
/// exclude each clip's similarity with itself; every other clip of the same video is a
/// positive, every clip of another video a negative:
/// `L = −1/(Bρ) Σ_a 1/|P(a)| Σ_{p∈P(a)} log( e^{s_ap} / Σ_{k≠a} e^{s_ak} )`.
/// With ρ = 2 this is SimCLR's NT-Xent; τ = 0.1 by default.
/// NOTE: the self-similarity is masked with a large negative number rather than −∞, so
/// that zero weights times the masked log-probabilities stay zero (not NaN).
public struct MultiClipInfoNCE: Sendable {
    public var clipsPerVideo: Int
    public var temperature: Float

    public init(clipsPerVideo: Int = 2, temperature: Float = 0.1) {
        precondition(clipsPerVideo >= 2, "MultiClipInfoNCE: needs at least 2 views per video (ρ = 1 means two augmentations of one clip)")
        self.clipsPerVideo = clipsPerVideo
        self.temperature = temperature
    }

    public func callAsFunction(_ z: Tensor) -> Tensor {
        let n = z.shape[0], rho = clipsPerVideo
        precondition(z.rank == 2 && n % rho == 0, "MultiClipInfoNCE: embeddings \(z.shape) are not [B·\(rho), D]")
        var selfMask = [Bool](repeating: false, count: n * n)
        var positives = [Float](repeating: 0, count: n * n)
        for a in 0..<n {
            selfMask[a * n + a] = true
            for p in ((a / rho) * rho)..<((a / rho + 1) * rho) where p != a { positives[a * n + p] = 1 / Float(rho - 1) }
        }
        let logits = (matmul(z, z, transposeB: true) / temperature).maskedFill(selfMask, -1e9)
        return -(Tensor(shape: [n, n], data: positives) * logits.logSoftmax(axis: 1)).sum() / Float(n)
    }
}
