import Foundation

// Elementwise arithmetic with broadcasting, and unary maths. Shapes: any; binary operands
// broadcast (NumPy rules) to a common shape.

extension Tensor {
    /// Applies `op` to every value, in parallel chunks.
    func mapValues(_ op: @escaping @Sendable (Float) -> Float) -> [Float] {
        [Float](unfilled: count) { o in
            data.withUnsafeBufferPointer { x in
                guard let xbase = x.baseAddress, let obase = o.baseAddress else { return }  // no values
                let (xp, op2) = (SharedPointer(xbase), SharedPointer(obase))
                Threads.parallelChunks(o.count, minimumWork: 1 << 14) { r in for i in r { op2[i] = op(xp[i]) } }
            }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "add", AddKernel.self)
        let (sa, sb) = (a.shape, b.shape)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in [g.summed(to: sa), g.summed(to: sb)] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "subtract", SubtractKernel.self)
        let (sa, sb) = (a.shape, b.shape)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in [g.summed(to: sa), (-g).summed(to: sb)] }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "multiply", MultiplyKernel.self)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).summed(to: a.shape) : nil, b.requiresGrad ? (g * a).summed(to: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "divide", DivideKernel.self)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in
            [a.requiresGrad ? (g / b).summed(to: a.shape) : nil,
             b.requiresGrad ? (-(g * a) / (b * b)).summed(to: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        Autograd.result(shape: a.shape, data: a.mapValues { -$0 }, inputs: [a]) { g in [-g] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor(s) + a }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor(s) - a }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor(s) * a }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor(s) / a }

    /// A unary operation whose derivative is a function of the input and the output.
    /// Both directions run in parallel chunks.
    func unary(_ f: @escaping @Sendable (Float) -> Float, derivative: @escaping @Sendable (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = mapValues(f)
        let (shape, x) = (self.shape, self.data)
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            let d = [Float](unfilled: x.count) { d in
                g.data.withUnsafeBufferPointer { gb in
                    x.withUnsafeBufferPointer { xb in
                        out.withUnsafeBufferPointer { yb in
                            guard !d.isEmpty else { return }
                            let (gp, xp, yp, dp) = (SharedPointer(gb.baseAddress!), SharedPointer(xb.baseAddress!), SharedPointer(yb.baseAddress!),
                                                    SharedPointer(d.baseAddress!))
                            Threads.parallelChunks(d.count, minimumWork: 1 << 14) { r in
                                for i in r { dp[i] = gp[i] * derivative(xp[i], yp[i]) }
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: shape, data: d)]
        }
    }

    /// max(x, 0), in parallel chunks; the gradient passes where the output is positive.
    public func relu() -> Tensor {
        let out = [Float](unfilled: count) { o in
            data.withUnsafeBufferPointer { xb in
                let (xp, op) = (SharedPointer(xb.baseAddress!), SharedPointer(o.baseAddress!))
                Threads.parallelChunks(o.count) { range in for i in range { op[i] = Swift.max(xp[i], 0) } }
            }
        }
        let shape = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            let d = [Float](unfilled: out.count) { d in
                g.data.withUnsafeBufferPointer { gb in
                    out.withUnsafeBufferPointer { yb in
                        let (gp, yp, dp) = (SharedPointer(gb.baseAddress!), SharedPointer(yb.baseAddress!), SharedPointer(d.baseAddress!))
                        // NOTE: both values are loaded before the select: a load
                        // behind the condition keeps the loop from vectorising.
                        Threads.parallelChunks(d.count) { range in
                            for i in range {
                                let (y, g) = (yp[i], gp[i])
                                dp[i] = y > 0 ? g : 0
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: shape, data: d)]
        }
    }

    public func exp() -> Tensor { unary(Foundation.exp) { _, y in y } }
    public func log() -> Tensor { unary(Foundation.log) { x, _ in 1 / x } }
    public func sqrt() -> Tensor { unary(Foundation.sqrt) { _, y in 0.5 / y } }
    public func abs() -> Tensor { unary(Swift.abs) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
    /// `x^p` for a constant exponent.
    public func pow(_ p: Float) -> Tensor { unary({ Foundation.pow($0, p) }) { x, _ in p * Foundation.pow(x, p - 1) } }
    /// Values limited to [lower, upper]; the gradient passes where the value was inside.
    public func clamped(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        unary({ Swift.min(Swift.max($0, lower), upper) }) { x, _ in x >= lower && x <= upper ? 1 : 0 }
    }

    /// GELU with the exact erf: `x Φ(x)`; its derivative `Φ(x) + x φ(x)` is computed in the same
    /// parallel pass as the value and kept for the backward pass (which is then one product),
    /// instead of evaluating erf and exp a second time. Φ and φ come from the vectorisable erfc
    /// and e^x (`fastGELU`; within 2e-6 of GELU in Double, FastMathTests), `geluReference` is the
    /// same with libm's scalar erf and exp.
    public func gelu() -> Tensor { gelu(FastGELUKernel.self) }

    /// GELU with libm's scalar erf and exp (the composition `gelu()` is tested against).
    public func geluReference() -> Tensor { gelu(LibmGELUKernel.self) }

    /// GELU and its derivative by `K`, in parallel chunks, the derivative kept for the backward pass.
    private func gelu<K: GELUKernel>(_ kernel: K.Type) -> Tensor {
        var derivative = [Float](uninitializedCount: count)
        let out = [Float](unfilled: count) { ob in
            guard !ob.isEmpty else { return }
            data.withUnsafeBufferPointer { xb in
                derivative.withUnsafeMutableBufferPointer { db in
                    let (xp, op, dp) = (SharedPointer(xb.baseAddress!), SharedPointer(ob.baseAddress!), SharedPointer(db.baseAddress!))
                    Threads.parallelChunks(ob.count, minimumWork: 1 << 14) { r in
                        for i in r {
                            let (y, d) = K.apply(xp[i])
                            op[i] = y
                            dp[i] = d
                        }
                    }
                }
            }
        }
        return geluResult(out, derivative)
    }

    /// GELU's result: `out`, and a backward pass multiplying by the kept `derivative`.
    private func geluResult(_ out: [Float], _ derivative: [Float]) -> Tensor {
        let shape = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            let d = [Float](unfilled: derivative.count) { ob in
                guard !ob.isEmpty else { return }
                g.data.withUnsafeBufferPointer { gb in
                    derivative.withUnsafeBufferPointer { db in
                        let (gp, dp, op) = (SharedPointer(gb.baseAddress!), SharedPointer(db.baseAddress!), SharedPointer(ob.baseAddress!))
                        Threads.parallelChunks(ob.count) { r in for i in r { op[i] = gp[i] * dp[i] } }
                    }
                }
            }
            return [Tensor(shape: shape, data: d)]
        }
    }
    public func sigmoid() -> Tensor { unary({ 1 / (1 + Foundation.exp(-$0)) }) { _, y in y * (1 - y) } }
    public func tanh() -> Tensor { unary(Foundation.tanh) { _, y in 1 - y * y } }
    /// `log(1 + e^x)`, linear above 20 (PyTorch's threshold).
    public func softplus() -> Tensor {
        unary({ $0 > 20 ? $0 : Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }) { x, _ in
            x > 20 ? 1 : 1 / (1 + Foundation.exp(-x))
        }
    }
}

/// GELU's value and derivative at one point, as a type so that the loop specialises.
protocol GELUKernel: Sendable { static func apply(_ x: Float) -> (value: Float, derivative: Float) }

/// On the vectorisable erfc and e^x (`fastGELU`).
enum FastGELUKernel: GELUKernel {
    @inline(__always) static func apply(_ x: Float) -> (value: Float, derivative: Float) { fastGELU(x) }
}

/// On libm's erf and exp: `0.5 x (1 + erf(x/√2))` and `0.5 (1 + erf(x/√2)) + x e^{−x²/2}/√(2π)`.
enum LibmGELUKernel: GELUKernel {
    @inline(__always) static func apply(_ x: Float) -> (value: Float, derivative: Float) {
        let (rootTwo, rootTwoPi) = (Float(2).squareRoot(), Float(2 * Double.pi).squareRoot())
        let e = erf(x / rootTwo)
        return (0.5 * x * (1 + e), 0.5 * (1 + e) + x * Foundation.exp(-0.5 * x * x) / rootTwoPi)
    }
}
