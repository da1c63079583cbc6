import Foundation
import TensorCore

/// Finite-difference gradient check for any composition of tensor operations.
///
/// With `up` a fixed random tensor shaped like `f(inputs)`, the analytic gradients of
/// `L = Σ f(x) · up` from the tape are compared with central differences
/// `(L(x + ε) − L(x − ε)) / 2ε` (sums accumulated in Double) for every element of every input.
/// Returns one message per element that differs by more than `tolerance · max(1, |numeric|)`.
public func gradientCheck(_ inputs: [Tensor], epsilon: Float = 1e-3, tolerance: Float = 1e-2, seed: UInt64 = 1,
                          _ f: ([Tensor]) -> Tensor) -> [String] {
    let leaves = inputs.map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
    let out = f(leaves)
    var rng = SeededRandom(seed: seed)
    let up = Tensor(shape: out.shape, data: (0..<out.count).map { _ in Float(rng.normal()) })
    (out * up).sum().backward()

    func loss(_ xs: [Tensor]) -> Double {
        Autograd.withoutGradients {
            let y = f(xs)
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(up.data[i]) }
            return s
        }
    }
    var failures: [String] = []
    for (k, x) in inputs.enumerated() {
        let analytic = leaves[k].grad?.data ?? [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            var plus = inputs.map { $0.detached() }, minus = inputs.map { $0.detached() }
            var p = plus[k].data, m = minus[k].data
            p[i] += epsilon
            m[i] -= epsilon
            plus[k] = Tensor(shape: x.shape, data: p)
            minus[k] = Tensor(shape: x.shape, data: m)
            let numeric = Float((loss(plus) - loss(minus)) / (2 * Double(epsilon)))
            if abs(analytic[i] - numeric) > tolerance * max(1, abs(numeric)) {
                failures.append("input \(k) element \(i): analytic \(analytic[i]), numeric \(numeric)")
            }
        }
    }
    return failures
}

/// Elements where `a` and `b` differ by more than `atol + rtol · |b|` (and a shape mismatch).
public func closeness(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5) -> [String] {
    guard a.shape == b.shape else { return ["shape \(a.shape) vs \(b.shape)"] }
    var out: [String] = []
    for i in 0..<a.count where !(abs(a.data[i] - b.data[i]) <= atol + rtol * abs(b.data[i])) {
        out.append("element \(i): \(a.data[i]) vs \(b.data[i])")
        if out.count > 5 { break }
    }
    return out
}
