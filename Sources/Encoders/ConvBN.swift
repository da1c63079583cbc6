import NN
import TensorCore

/// Convolution (no bias) + BatchNorm (+ ReLU), children `conv` and `bn` as `peers/models.py`'s
/// `ConvBN`. 3-D: `x: [N, C, D, H, W]`; 2-D: `x: [N, C, H, W]`.
public final class ConvBN: Module {
    public let conv: Module
    public let bn: BatchNorm
    public let relu: Bool
    let apply: (Tensor) -> Tensor

    /// A 3-D ConvBN: kernel, stride and padding per (depth, height, width).
    public init(_ cin: Int, _ cout: Int, kernel: (Int, Int, Int), stride: (Int, Int, Int) = (1, 1, 1),
                padding: (Int, Int, Int) = (0, 0, 0), relu: Bool = true, rng: inout SeededRandom) {
        let c = Conv3d(cin, cout, kernel: kernel, stride: stride, padding: padding, rng: &rng)
        conv = c
        bn = BatchNorm(cout, dimensions: 3)
        self.relu = relu
        apply = { c($0) }
    }

    /// A 2-D ConvBN with square kernel, stride and padding.
    public init(_ cin: Int, _ cout: Int, kernel2d k: Int, stride s: Int = 1, padding p: Int = 0, relu: Bool = true,
                rng: inout SeededRandom) {
        let c = Conv2d(cin, cout, kernel: (k, k), stride: (s, s), padding: (p, p), rng: &rng)
        conv = c
        bn = BatchNorm(cout, dimensions: 2)
        self.relu = relu
        apply = { c($0) }
    }

    public override var children: [(String, Module)] { [("conv", conv), ("bn", bn)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { bn(apply(x), relu: relu) }
}
