import NN
import TensorCore

/// `vggish-tiny`: `x: [B, 1, 96, 64]` log-mel → `[B, 256]`; `features(x)` is `[B, 256, 6, 4]`.
/// 3x3 ConvBN blocks `block1`, `block2`, `block3a/b`, `block4a/b` with 2x2 max pooling after
/// blocks 1, 2, 3b and 4b; names as `peers/models.py`'s `VGGishTiny`.
public final class VGGishTiny: Module {
    public let block1: ConvBN, block2: ConvBN, block3a: ConvBN, block3b: ConvBN, block4a: ConvBN, block4b: ConvBN

    /// The output width: 8 × `width`.
    public let outputs: Int

    /// `width` is block1's channel count (32 for the preset); blocks 2, 3 and 4 have 2, 4 and 8 times it.
    public init(width w: Int = 32, rng: inout SeededRandom) {
        outputs = 8 * w
        block1 = ConvBN(1, w, kernel2d: 3, padding: 1, rng: &rng)
        block2 = ConvBN(w, 2 * w, kernel2d: 3, padding: 1, rng: &rng)
        block3a = ConvBN(2 * w, 4 * w, kernel2d: 3, padding: 1, rng: &rng)
        block3b = ConvBN(4 * w, 4 * w, kernel2d: 3, padding: 1, rng: &rng)
        block4a = ConvBN(4 * w, 8 * w, kernel2d: 3, padding: 1, rng: &rng)
        block4b = ConvBN(8 * w, 8 * w, kernel2d: 3, padding: 1, rng: &rng)
    }

    public override var children: [(String, Module)] {
        [("block1", block1), ("block2", block2), ("block3a", block3a), ("block3b", block3b), ("block4a", block4a), ("block4b", block4b)]
    }

    /// Time steps of the feature map for `melFrames` log-mel frames (four 2x2 max poolings).
    public static func timeSteps(melFrames: Int) -> Int { melFrames / 16 }

    public func features(_ x: Tensor) -> Tensor {
        let pool = { (t: Tensor) in maxPool2d(t, kernel: (2, 2), stride: (2, 2)) }
        return pool(block4b(block4a(pool(block3b(block3a(pool(block2(pool(block1(x))))))))))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { features(x).globalAveragePooled() }
}

/// A 2-D basic residual block: `conv1`/`bn1` (3x3, stride), `conv2`/`bn2` (3x3), a 1x1
/// `shortcut` ConvBN when the shape changes. `x: [N, cin, H, W]` → `[N, cout, H/s, W/s]`.
public final class BasicBlock2d: Module {
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
    public let shortcut: ConvBN?

    public init(_ cin: Int, _ cout: Int, stride: Int, rng: inout SeededRandom) {
        conv1 = Conv2d(cin, cout, kernel: (3, 3), stride: (stride, stride), padding: (1, 1), rng: &rng)
        bn1 = BatchNorm(cout, dimensions: 2)
        conv2 = Conv2d(cout, cout, kernel: (3, 3), padding: (1, 1), rng: &rng)
        bn2 = BatchNorm(cout, dimensions: 2)
        shortcut = cin != cout || stride != 1 ? ConvBN(cin, cout, kernel2d: 1, stride: stride, relu: false, rng: &rng) : nil
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)] + (shortcut.map { [("shortcut", $0 as Module)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = bn2(conv2(bn1(conv1(x)).relu()))
        return (y + (shortcut.map { $0(x) } ?? x)).relu()
    }
}

/// `resnet-tiny`: `x: [B, 3, 112, 112]` → `[B, 256]`; names as `peers/models.py`'s `ResNetTiny`.
public final class ResNetTiny: Module {
    public let stem: ConvBN
    public let layer1: BasicBlock2d, layer2: BasicBlock2d, layer3: BasicBlock2d, layer4: BasicBlock2d

    public init(rng: inout SeededRandom) {
        stem = ConvBN(3, 32, kernel2d: 7, stride: 2, padding: 3, rng: &rng)
        layer1 = BasicBlock2d(32, 32, stride: 1, rng: &rng)
        layer2 = BasicBlock2d(32, 64, stride: 2, rng: &rng)
        layer3 = BasicBlock2d(64, 128, stride: 2, rng: &rng)
        layer4 = BasicBlock2d(128, 256, stride: 2, rng: &rng)
    }

    public override var children: [(String, Module)] {
        [("stem", stem), ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let s = maxPool2d(stem(x), kernel: (3, 3), stride: (2, 2), padding: (1, 1))
        return layer4(layer3(layer2(layer1(s)))).globalAveragePooled()
    }
}
