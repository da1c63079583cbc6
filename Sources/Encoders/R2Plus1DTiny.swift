import NN
import TensorCore

/// A (2+1)D basic block: `spatial1` (1x3x3), `temporal1` (3x1x1), `spatial2`, `temporal2` (no
/// ReLU), and a 1x1x1 `shortcut` ConvBN when the shape changes; output ReLU(y + shortcut).
/// `x: [N, cin, T, H, W]` → `[N, cout, T/st, H/ss, W/ss]`.
public final class Block2Plus1D: Module {
    public let spatial1: ConvBN, temporal1: ConvBN, spatial2: ConvBN, temporal2: ConvBN
    public let shortcut: ConvBN?

    public init(_ cin: Int, _ cout: Int, temporalStride st: Int, spatialStride ss: Int, rng: inout SeededRandom) {
        spatial1 = ConvBN(cin, cout, kernel: (1, 3, 3), stride: (1, ss, ss), padding: (0, 1, 1), rng: &rng)
        temporal1 = ConvBN(cout, cout, kernel: (3, 1, 1), stride: (st, 1, 1), padding: (1, 0, 0), rng: &rng)
        spatial2 = ConvBN(cout, cout, kernel: (1, 3, 3), padding: (0, 1, 1), rng: &rng)
        temporal2 = ConvBN(cout, cout, kernel: (3, 1, 1), padding: (1, 0, 0), relu: false, rng: &rng)
        shortcut = cin != cout || st != 1 || ss != 1
            ? ConvBN(cin, cout, kernel: (1, 1, 1), stride: (st, ss, ss), relu: false, rng: &rng) : nil
    }

    public override var children: [(String, Module)] {
        [("spatial1", spatial1), ("temporal1", temporal1), ("spatial2", spatial2), ("temporal2", temporal2)]
            + (shortcut.map { [("shortcut", $0 as Module)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = temporal2(spatial2(temporal1(spatial1(x))))
        return (y + (shortcut.map { $0(x) } ?? x)).relu()
    }
}

/// `r2plus1d-tiny` (`docs/design.md`, "Encoder presets and clip geometry"): `x: [B, 3, 8, 112, 112]` → `[B, 256]`;
/// `features(x)` is the `[B, 256, 2, 7, 7]` map used for sound-source localisation.
/// Names as `peers/models.py`'s `R2Plus1DTiny` (`stem.spatial.conv.weight`, `stage2.shortcut.bn.running_mean`, …).
public final class R2Plus1DTiny: Module {
    public let stemSpatial: ConvBN, stemTemporal: ConvBN
    public let stage1: Block2Plus1D, stage2: Block2Plus1D, stage3: Block2Plus1D, stage4: Block2Plus1D
    let stem: Stem

    /// The stem's two ConvBNs under the name `stem`.
    final class Stem: Module {
        let spatial: ConvBN, temporal: ConvBN
        init(_ s: ConvBN, _ t: ConvBN) { (spatial, temporal) = (s, t) }
        override var children: [(String, Module)] { [("spatial", spatial), ("temporal", temporal)] }
    }

    /// The output width: 8 × `width`.
    public let outputs: Int

    /// `width` is stage1's channel count (32 for the preset): the stem has 3/4 of it, the stages
    /// 1, 2, 4 and 8 times it.
    public init(width w: Int = 32, rng: inout SeededRandom) {
        precondition(w >= 4 && w % 4 == 0, "R2Plus1DTiny: width \(w) must be a multiple of 4")
        outputs = 8 * w
        stemSpatial = ConvBN(3, 3 * w / 4, kernel: (1, 7, 7), stride: (1, 2, 2), padding: (0, 3, 3), rng: &rng)
        stemTemporal = ConvBN(3 * w / 4, w, kernel: (3, 1, 1), padding: (1, 0, 0), rng: &rng)
        stem = Stem(stemSpatial, stemTemporal)
        stage1 = Block2Plus1D(w, w, temporalStride: 1, spatialStride: 1, rng: &rng)
        stage2 = Block2Plus1D(w, 2 * w, temporalStride: 2, spatialStride: 2, rng: &rng)
        stage3 = Block2Plus1D(2 * w, 4 * w, temporalStride: 2, spatialStride: 2, rng: &rng)
        stage4 = Block2Plus1D(4 * w, 8 * w, temporalStride: 1, spatialStride: 1, rng: &rng)
    }

    public override var children: [(String, Module)] {
        [("stem", stem), ("stage1", stage1), ("stage2", stage2), ("stage3", stage3), ("stage4", stage4)]
    }

    /// Time steps of the feature map for clips of `frames` frames (two stride-2 temporal
    /// convolutions with padding 1: ⌈⌈T/2⌉/2⌉).
    public static func timeSteps(frames: Int) -> Int { ((frames + 1) / 2 + 1) / 2 }

    /// `x: [B, 3, T, H, W]` → `[B, 256, T/4, H/16, W/16]`.
    public func features(_ x: Tensor) -> Tensor {
        let s = maxPool3d(stemTemporal(stemSpatial(x)), kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1))
        return stage4(stage3(stage2(stage1(s))))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { features(x).globalAveragePooled() }
}
