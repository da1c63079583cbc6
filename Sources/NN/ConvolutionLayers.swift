import TensorCore

/// 3-D convolution, groups 1. `x: [N, C, D, H, W]` → `[N, O, D', H', W']`;
/// `weight: [O, C, kd, kh, kw]` (Kaiming normal, fan-out), optional `bias: [O]`.
public final class Conv3d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int, Int), padding: (Int, Int, Int), dilation: (Int, Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int, Int), stride: (Int, Int, Int) = (1, 1, 1),
                padding: (Int, Int, Int) = (0, 0, 0), dilation: (Int, Int, Int) = (1, 1, 1), bias: Bool = false,
                rng: inout SeededRandom) {
        weight = Initializer.kaimingNormalFanOut([outChannels, inChannels, kernel.0, kernel.1, kernel.2], rng: &rng)
        weight.requiresGrad = true
        self.bias = bias ? Tensor(shape: [outChannels], repeating: 0, requiresGrad: true) : nil
        (self.stride, self.padding, self.dilation) = (stride, padding, dilation)
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv3d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }
}

/// 2-D convolution, groups 1. `x: [N, C, H, W]` → `[N, O, H', W']`; `weight: [O, C, kh, kw]`.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = false, rng: inout SeededRandom) {
        weight = Initializer.kaimingNormalFanOut([outChannels, inChannels, kernel.0, kernel.1], rng: &rng)
        weight.requiresGrad = true
        self.bias = bias ? Tensor(shape: [outChannels], repeating: 0, requiresGrad: true) : nil
        (self.stride, self.padding, self.dilation) = (stride, padding, dilation)
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }
}
