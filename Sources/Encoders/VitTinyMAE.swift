import Foundation
import NN
import TensorCore

/// Modules named "0", "1", … as PyTorch's `nn.ModuleList`.
public final class ModuleList<Element: Module>: Module {
    public let items: [Element]
    public init(_ items: [Element]) { self.items = items }
    public override var children: [(String, Module)] { items.enumerated().map { (String($0.offset), $0.element) } }
}

/// Transformer blocks then a final LayerNorm; children `blocks`, `norm`. `x: [B, N, C]`.
public final class Transformer: Module {
    public let blocks: ModuleList<TransformerBlock>
    public let norm: LayerNorm

    public init(_ dimension: Int, depth: Int, heads: Int, rng: inout SeededRandom) {
        var list: [TransformerBlock] = []
        for _ in 0..<depth { list.append(TransformerBlock(dimension, heads: heads, rng: &rng)) }
        blocks = ModuleList(list)
        norm = LayerNorm(dimension)
    }

    public override var children: [(String, Module)] { [("blocks", blocks), ("norm", norm)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { norm(blocks.items.reduce(x) { $1($0) }) }
}

/// `vit-tiny-mae` (VideoMAE) on `[B, 3, 8, 112, 112]`: tubelets 2x16x16 → 4x7x7 = 196 tokens,
/// fixed sine-cosine positions; encoder width 192, depth 6, 3 heads, on the visible tokens only;
/// decoder width 96, depth 2; predicts the 1536 normalised pixels of each masked tubelet.
/// Names as `peers/models.py`'s `VitTinyMAE` (`patch_embed`, `encoder.blocks.N.*`, `mask_token`, …).
public final class VitTinyMAE: Module {
    public static let tokens = 196, patchValues = 1536, timeSteps = 4, side = 7
    public let patchEmbed: Conv3d
    public let encoder: Transformer, decoder: Transformer
    public let encoderToDecoder: Linear, head: Linear
    public let maskToken: Tensor
    let positions: Tensor, decoderPositions: Tensor

    public init(rng: inout SeededRandom) {
        patchEmbed = Conv3d(3, 192, kernel: (2, 16, 16), stride: (2, 16, 16), bias: true, rng: &rng)
        encoder = Transformer(192, depth: 6, heads: 3, rng: &rng)
        encoderToDecoder = Linear(192, 96, bias: false, rng: &rng)
        maskToken = Tensor.truncatedNormal([1, 1, 96], std: 0.02, rng: &rng)
        maskToken.requiresGrad = true
        decoder = Transformer(96, depth: 2, heads: 3, rng: &rng)
        head = Linear(96, Self.patchValues, rng: &rng)
        positions = Self.sineCosineTable(Self.tokens, 192)
        decoderPositions = Self.sineCosineTable(Self.tokens, 96)
    }

    public override var localParameters: [(String, Tensor)] { [("mask_token", maskToken)] }
    public override var children: [(String, Module)] {
        [("patch_embed", patchEmbed), ("encoder", encoder), ("encoder_to_decoder", encoderToDecoder),
         ("decoder", decoder), ("head", head)]
    }

    /// VideoMAE's sinusoid table `[1, n, d]`: angle `pos / 10000^(2 ⌊j/2⌋ / d)`, sin on even j, cos on odd.
    static func sineCosineTable(_ n: Int, _ d: Int) -> Tensor {
        var v = [Float](repeating: 0, count: n * d)
        for p in 0..<n { for j in 0..<d {
            let angle = Double(p) / pow(10000, Double(2 * (j / 2)) / Double(d))
            v[p * d + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
        } }
        return Tensor(shape: [1, n, d], data: v)
    }

    /// Tube masking: `masked` spatial positions per clip, the same in every time step.
    /// Returns `[B · 196]` flags (true = masked), token order (t, h, w).
    public static func tubeMask(batch: Int, masked: Int = 44, rng: inout SeededRandom) -> [Bool] {
        var mask: [Bool] = []
        for _ in 0..<batch {
            let chosen = Set(rng.permutation(side * side).prefix(masked))
            for _ in 0..<timeSteps { for s in 0..<(side * side) { mask.append(chosen.contains(s)) } }
        }
        return mask
    }

    /// Token rows of `x: [B, 196, C]` selected by `keep(b, token)` → `[B, n, C]` (n the same per row).
    static func gatherTokens(_ x: Tensor, _ flags: [Bool], _ wanted: Bool) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let rows = (0..<(b * n)).filter { flags[$0] == wanted }
        precondition(rows.count % b == 0, "VitTinyMAE: every clip must mask the same number of tokens")
        return x.reshaped([b * n, c]).indexSelect(axis: 0, rows).reshaped([b, rows.count / b, c])
    }

    /// Predicted pixels of the masked tubelets: `x: [B, 3, 8, 112, 112]`, `mask: [B · 196]` → `[B, masked, 1536]`.
    public func callAsFunction(_ x: Tensor, mask: [Bool]) -> Tensor {
        let b = x.shape[0]
        precondition(mask.count == b * Self.tokens, "VitTinyMAE: mask of \(mask.count) for \(b) clips")
        let t = patchEmbed(x).reshaped([b, 192, Self.tokens]).transposed(1, 2) + positions
        let visible = encoderToDecoder(encoder(Self.gatherTokens(t, mask, false)))
        let dpos = decoderPositions.expanded(to: [b, Self.tokens, 96])
        let posVisible = Self.gatherTokens(dpos, mask, false), posMasked = Self.gatherTokens(dpos, mask, true)
        let y = concat([visible + posVisible, maskToken + posMasked], axis: 1)
        let masked = posMasked.shape[1]
        let decoded = decoder(y)
        return head(decoded.slice(axis: 1, (decoded.shape[1] - masked)..<decoded.shape[1]))
    }

    /// `[B, 3, 8, 112, 112]` → `[B, 196, 1536]`, tokens in (t, h, w) order, values (p0, p1, p2, c).
    public static func patchify(_ x: Tensor) -> Tensor {
        let b = x.shape[0]
        return x.reshaped([b, 3, timeSteps, 2, side, 16, side, 16]).permuted([0, 2, 4, 6, 3, 5, 7, 1]).reshaped([b, tokens, patchValues])
    }

    /// MSE between the prediction and the per-tubelet normalised pixels of the masked tubelets
    /// (inputs un-normalised with mean 0.45, std 0.225 first; unbiased std + 1e-6).
    public func loss(_ x: Tensor, mask: [Bool]) -> Tensor {
        let prediction = self(x, mask: mask)
        let target = Autograd.withoutGradients { () -> Tensor in
            let p = Self.patchify(x * 0.225 + 0.45)
            let normalised = (p - p.mean(axes: [-1], keepDims: true)) / (p.variance(axes: [-1], keepDims: true).sqrt() + 1e-6)
            return Self.gatherTokens(normalised, mask, true)
        }
        return meanSquaredError(prediction, target)
    }
}
