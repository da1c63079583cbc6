import Foundation
import TensorCore

/// Stochastic gradient descent as PyTorch's `torch.optim.SGD`:
/// `g = ∇ + λ p; b = μ b + g (b = g at the first step); p −= lr · (nesterov ? g + μ b : b)`.
public final class SGD {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    var buffers: [[Float]?]

    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        (self.learningRate, self.momentum, self.weightDecay, self.nesterov) = (learningRate, momentum, weightDecay, nesterov)
        buffers = Array(repeating: nil, count: parameters.count)
    }

    /// One pass per parameter (in parallel chunks) computing the formula above element by
    /// element: the same operations in the same order as a pass per term, so the same values.
    public func step() {
        let (lr, mu, wd, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad?.data, !grad.isEmpty else { continue }
            let first = buffers[i] == nil
            if mu != 0 && first { buffers[i] = [Float](uninitializedCount: grad.count) }
            var buffer = buffers[i] ?? []
            buffers[i] = nil  // unshared while written
            grad.withUnsafeBufferPointer { gb in
                buffer.withUnsafeMutableBufferPointer { bb in
                    p.update { v in
                        v.withUnsafeMutableBufferPointer { vb in
                            let (gp, vp) = (SharedPointer(gb.baseAddress!), SharedPointer(vb.baseAddress!))
                            let bp = bb.baseAddress.map { SharedPointer($0) }
                            Threads.parallelChunks(vb.count) { r in
                                for k in r {
                                    var g = gp[k]
                                    if wd != 0 { g += wd * vp[k] }
                                    if let bp {
                                        let b = first ? g : mu * bp[k] + g
                                        bp[k] = b
                                        if nesterov { g += mu * b } else { g = b }
                                    }
                                    vp[k] -= lr * g
                                }
                            }
                        }
                    }
                }
            }
            if mu != 0 { buffers[i] = buffer }
        }
    }
}

/// Adam with decoupled weight decay, as `torch.optim.AdamW`:
/// `p ← p (1 − lr λ); m, v moments; p −= lr m̂ / (√v̂ + ε)` with bias-corrected m̂, v̂.
public final class AdamW {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    var m: [[Float]], v: [[Float]]
    var t = 0

    public init(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters
        (self.learningRate, beta1, beta2, self.epsilon, self.weightDecay) = (learningRate, betas.0, betas.1, epsilon, weightDecay)
        m = parameters.map { [Float](repeating: 0, count: $0.count) }
        v = m
    }

    public func step() {
        t += 1
        let c1 = 1 - Foundation.pow(beta1, Float(t)), c2 = 1 - Foundation.pow(beta2, Float(t))
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad?.data else { continue }
            for k in g.indices {
                m[i][k] = beta1 * m[i][k] + (1 - beta1) * g[k]
                v[i][k] = beta2 * v[i][k] + (1 - beta2) * g[k] * g[k]
            }
            let (lr, wd, eps, mi, vi) = (learningRate, weightDecay, epsilon, m[i], v[i])
            p.update { w in
                for k in w.indices {
                    w[k] *= 1 - lr * wd
                    w[k] -= lr * (mi[k] / c1) / ((vi[k] / c2).squareRoot() + eps)
                }
            }
        }
    }
}

/// LARS (You et al. 2017) as used for SimCLR/BYOL: for adapted parameters
/// `g = ∇ + λ p`, trust `η ‖p‖ / ‖g‖`, `b = μ b + lr · trust · g`, `p −= b`; parameters named
/// as biases or normalisation weights are excluded from adaptation and decay (`b = μ b + lr ∇`).
public final class LARS {
    public let parameters: [(String, Tensor)]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, trustCoefficient: Float
    var buffers: [[Float]]

    public init(_ named: [(String, Tensor)], learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 1e-6,
                trustCoefficient: Float = 0.001) {
        parameters = named
        (self.learningRate, self.momentum, self.weightDecay, self.trustCoefficient) = (learningRate, momentum, weightDecay, trustCoefficient)
        buffers = named.map { [Float](repeating: 0, count: $0.1.count) }
    }

    /// Biases and the parameters of normalisation layers (1-D tensors) are not adapted.
    public static func isExcluded(_ name: String, _ t: Tensor) -> Bool { name.hasSuffix("bias") || t.rank <= 1 }

    public func step() {
        for (i, (name, p)) in parameters.enumerated() {
            guard var g = p.grad?.data else { continue }
            var scale = learningRate
            if !Self.isExcluded(name, p) {
                for k in g.indices { g[k] += weightDecay * p.data[k] }
                let pn = p.data.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                let gn = g.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                if pn > 0 && gn > 0 { scale *= trustCoefficient * pn / gn }
            }
            for k in g.indices { buffers[i][k] = momentum * buffers[i][k] + scale * g[k] }
            let b = buffers[i]
            p.update { w in for k in w.indices { w[k] -= b[k] } }
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (as
/// `torch.nn.utils.clip_grad_norm_`, coefficient `maxNorm / (norm + 1e-6)` capped at 1).
/// Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters { if let g = p.grad { for v in g.data { total += Double(v) * Double(v) } } }
    let norm = Float(total.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters {
            guard let g = p.grad else { continue }
            g.update { v in for k in v.indices { v[k] *= coefficient } }
        }
    }
    return norm
}

/// Learning-rate schedules as functions of the step.
public enum Schedule {
    /// Linear warm-up from 0 to `base` over `warmup` steps, then a cosine from `base` to `final`
    /// at `total` steps.
    public static func warmupCosine(step: Int, total: Int, warmup: Int, base: Float, final: Float = 0) -> Float {
        if step < warmup { return base * Float(step + 1) / Float(warmup) }
        let progress = Float(step - warmup) / Float(Swift.max(1, total - warmup))
        return final + (base - final) * 0.5 * (1 + Foundation.cos(Float.pi * Swift.min(progress, 1)))
    }

    /// `base · gamma^⌊step / every⌋`.
    public static func stepDecay(step: Int, base: Float, every: Int, gamma: Float = 0.1) -> Float {
        base * Foundation.pow(gamma, Float(step / every))
    }
}

/// `target ← m · target + (1 − m) · online`, parameter by parameter (and buffers copied), for
/// momentum encoders. The modules have the same architecture.
public func exponentialMovingAverage(target: Module, online: Module, momentum: Float) {
    for ((_, t), (_, o)) in zip(target.namedParameters(), online.namedParameters()) {
        let values = o.data
        t.update { w in for k in w.indices { w[k] = momentum * w[k] + (1 - momentum) * values[k] } }
    }
    for ((_, t), (_, o)) in zip(target.namedBuffers(), online.namedBuffers()) {
        let values = o.data
        t.update { $0 = values }
    }
}

/// What the trainer needs of an optimizer: a step, its learning rate, and its state as named
/// tensors (for checkpoints; names are `<slot>.<parameter index>`).
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    func step()
    /// The optimizer's state (momentum buffers, moments, step count).
    func state() -> [(String, Tensor)]
    /// Restores `state()`; throws on a missing or mis-shaped entry.
    func load(state: [String: Tensor]) throws
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "optimizer state '\(name)' is missing or has the wrong shape" }
}

func restore(_ state: [String: Tensor], slot: String, into buffers: inout [[Float]], shapes: [Tensor]) throws {
    for i in buffers.indices {
        guard let t = state["\(slot).\(i)"], t.count == shapes[i].count else { throw OptimizerStateError(name: "\(slot).\(i)") }
        buffers[i] = t.data
    }
}

extension SGD: Optimizer {
    public func state() -> [(String, Tensor)] {
        buffers.enumerated().compactMap { i, b in b.map { ("momentum_buffer.\(i)", Tensor(shape: parameters[i].shape, data: $0)) } }
    }

    public func load(state: [String: Tensor]) throws {
        for i in buffers.indices { buffers[i] = state["momentum_buffer.\(i)"]?.data }
        for (i, b) in buffers.enumerated() where b != nil && b!.count != parameters[i].count {
            throw OptimizerStateError(name: "momentum_buffer.\(i)")
        }
    }
}

extension AdamW: Optimizer {
    public func state() -> [(String, Tensor)] {
        m.enumerated().map { ("exp_avg.\($0.offset)", Tensor(shape: parameters[$0.offset].shape, data: $0.element)) }
            + v.enumerated().map { ("exp_avg_sq.\($0.offset)", Tensor(shape: parameters[$0.offset].shape, data: $0.element)) }
            + [("step", Tensor(shape: [1], data: [Float(t)]))]
    }

    public func load(state: [String: Tensor]) throws {
        try restore(state, slot: "exp_avg", into: &m, shapes: parameters)
        try restore(state, slot: "exp_avg_sq", into: &v, shapes: parameters)
        guard let s = state["step"]?.data.first else { throw OptimizerStateError(name: "step") }
        t = Int(s)
    }
}

extension LARS: Optimizer {
    public func state() -> [(String, Tensor)] {
        buffers.enumerated().map { ("momentum_buffer.\($0.offset)", Tensor(shape: parameters[$0.offset].1.shape, data: $0.element)) }
    }

    public func load(state: [String: Tensor]) throws {
        try restore(state, slot: "momentum_buffer", into: &buffers, shapes: parameters.map(\.1))
    }
}
