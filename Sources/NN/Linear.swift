import TensorCore

/// `y = x Wᵀ + b`. `x: [..., in]` → `[..., out]`; `weight: [out, in]`, `bias: [out]`.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout SeededRandom) {
        weight = Initializer.linearDefault([outFeatures, inFeatures], fanIn: inFeatures, rng: &rng)
        weight.requiresGrad = true
        self.bias = bias ? Initializer.linearDefault([outFeatures], fanIn: inFeatures, rng: &rng) : nil
        self.bias?.requiresGrad = true
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == weight.shape[1], "Linear: input \(x.shape) for weight \(weight.shape)")
        let y = matmul(x, weight, transposeB: true)
        return bias.map { y + $0 } ?? y
    }
}
