import Foundation

/// A Float32 tensor: row-major, contiguous storage, shape `[Int]`; a node of the autograd
/// tape when it was made from tensors that require gradients.
///
/// Operations are functions and methods in the op files (`Elementwise.swift`,
/// `Reductions.swift`, `Matmul.swift`, `ShapeOps.swift`, …); each records its backward
/// closure beside its forward.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public internal(set) var data: [Float]
    /// Whether gradients flow to this tensor. Set on leaves (parameters, inputs); results of
    /// operations inherit it from their inputs.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf after `backward()`.
    public internal(set) var grad: Tensor?
    /// How this tensor was computed (nil for leaves and for results made without grad).
    var node: TapeNode?

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) holds \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A scalar (shape `[]`).
    public convenience init(_ value: Float) {
        self.init(shape: [], data: [value])
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(data.count == 1, "Tensor.item: tensor of shape \(shape) has \(data.count) values")
        return data[0]
    }

    /// The same values, cut from the tape.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Changes the values in place (optimizer updates, loading a checkpoint); the shape stays.
    public func update(_ body: (inout [Float]) -> Void) {
        let n = data.count
        body(&data)
        precondition(data.count == n, "Tensor.update: the element count changed from \(n) to \(data.count)")
    }

    /// Random tensors from a seeded generator.
    public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(Double(lo), Double(hi))) })
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in mean + std * Float(rng.normal()) })
    }

    /// Normal values redrawn until they fall within [a, b] (as `torch.nn.init.trunc_normal_`).
    public static func truncatedNormal(_ shape: [Int], std: Float, a: Float = -2, b: Float = 2, rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            var v: Float
            repeat { v = std * Float(rng.normal()) } while v < a || v > b
            return v
        })
    }

    public var description: String {
        let head = data.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(data.count > 8 ? ", …" : "")])"
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            s[d] = acc
            acc *= shape[d]
        }
        return s
    }
}
