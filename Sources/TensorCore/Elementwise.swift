import Foundation

// Elementwise arithmetic with broadcasting, and unary maths. Shapes: any; binary operands
// broadcast (NumPy rules) to a common shape.

extension Tensor {
    /// Applies `op` elementwise over the broadcast of `a` and `b`.
    static func broadcastBinary(_ a: Tensor, _ b: Tensor, _ name: String, _ op: (Float, Float) -> Float) -> ([Int], [Float]) {
        if a.shape == b.shape {
            let out = [Float](unfilled: a.count) { o in
                a.data.withUnsafeBufferPointer { x in
                    b.data.withUnsafeBufferPointer { y in for i in 0..<o.count { o[i] = op(x[i], y[i]) } }
                }
            }
            return (a.shape, out)
        }
        guard let bc = Broadcast(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        var out = [Float](repeating: 0, count: bc.shape.reduce(1, *))
        a.data.withUnsafeBufferPointer { x in
            b.data.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { o in bc.forEach { i, ia, ib in o[i] = op(x[ia], y[ib]) } }
            }
        }
        return (bc.shape, out)
    }

    /// Applies `op` to every value.
    func mapValues(_ op: (Float) -> Float) -> [Float] {
        [Float](unfilled: count) { o in
            data.withUnsafeBufferPointer { x in for i in 0..<o.count { o[i] = op(x[i]) } }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "add", +)
        let (sa, sb) = (a.shape, b.shape)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in [g.summed(to: sa), g.summed(to: sb)] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "subtract", -)
        let (sa, sb) = (a.shape, b.shape)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in [g.summed(to: sa), (-g).summed(to: sb)] }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "multiply", *)
        return Autograd.result(shape: shape, data: out, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).summed(to: a.shape) : nil, b.requiresGrad ? (g * a).summed(to: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (shape, out) = broadcastBinary(a, b, "divide", /)
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
    func unary(_ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = mapValues(f)
        let (shape, x) = (self.shape, self.data)
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            let d = [Float](unfilled: x.count) { d in
                g.data.withUnsafeBufferPointer { gb in
                    x.withUnsafeBufferPointer { xb in
                        out.withUnsafeBufferPointer { yb in
                            for i in 0..<d.count { d[i] = gb[i] * derivative(xb[i], yb[i]) }
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

    /// GELU with the exact erf: `x Φ(x)`.
    public func gelu() -> Tensor {
        let rootTwo = Float(2).squareRoot(), rootTwoPi = Float(2 * Double.pi).squareRoot()
        return unary({ 0.5 * $0 * (1 + erf($0 / rootTwo)) }) { x, _ in
            0.5 * (1 + erf(x / rootTwo)) + x * Foundation.exp(-0.5 * x * x) / rootTwoPi
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
