import Foundation
import TensorCore

/// Weight initialisers (PyTorch's definitions).
public enum Initializer {
    /// Kaiming normal, fan-out mode, ReLU gain: N(0, 2 / fan_out), fan_out = out · receptive field.
    /// `shape: [out, in, k…]`.
    public static func kaimingNormalFanOut(_ shape: [Int], rng: inout SeededRandom) -> Tensor {
        let fanOut = shape[0] * shape.dropFirst(2).reduce(1, *)
        return Tensor.normal(shape, std: (2 / Float(fanOut)).squareRoot(), rng: &rng)
    }

    /// Xavier (Glorot) uniform: U(−a, a), a = √(6 / (fan_in + fan_out)). `shape: [out, in, k…]`.
    public static func xavierUniform(_ shape: [Int], rng: inout SeededRandom) -> Tensor {
        let receptive = shape.dropFirst(2).reduce(1, *)
        let a = (6 / Float(shape[0] * receptive + shape[1] * receptive)).squareRoot()
        return Tensor.uniform(shape, -a, a, rng: &rng)
    }

    /// PyTorch's default for Linear (Kaiming uniform with a = √5): U(−1/√fan_in, 1/√fan_in),
    /// for the weight `[out, in]` and the bias `[out]` alike.
    public static func linearDefault(_ shape: [Int], fanIn: Int, rng: inout SeededRandom) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        return Tensor.uniform(shape, -bound, bound, rng: &rng)
    }
}
