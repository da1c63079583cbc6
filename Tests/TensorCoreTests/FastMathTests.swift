import Foundation
import TensorCore
import TestSupport
import Testing

/// The 16-lane e^x and erfc against libm (in Double) over sweeps of their ranges, and GELU
/// built on them against GELU on libm's scalar erf and exp.
@Suite struct FastMathTests {
    static let sweep: [Float] = stride(from: -100.0, through: 100.0, by: 0.0137).map { Float($0) } + [0, -0, 1e-30, -1e-30, 88.7, -87.2]

    @Test func expIsWithinThreeTenMillionthsOfLibm() {
        let x = Tensor(shape: [Self.sweep.count], data: Self.sweep)
        let fast = x.fastExpValues()
        var worst: Double = 0
        for (v, f) in zip(Self.sweep, fast) where v > -87.3 && v < 88.3 {
            let exact = Foundation.exp(Double(v))
            worst = max(worst, abs(Double(f) - exact) / exact)
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        // The edges: 0 below the normal range, ∞ above the float range, NaN kept.
        let edges = Tensor(shape: [5], data: [-200, -.infinity, 100, .infinity, .nan]).fastExpValues()
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2].isInfinite && edges[3].isInfinite && edges[4].isNaN, "\(edges)")
    }

    @Test func erfcIsWithinAMillionthOfLibm() {
        let x = Tensor(shape: [Self.sweep.count], data: Self.sweep)
        let fast = x.fastErfcValues()
        var worst: Double = 0
        for (v, f) in zip(Self.sweep, fast) {
            let exact = Foundation.erfc(Double(v))
            guard exact > 1e-30 else { continue }
            worst = max(worst, abs(Double(f) - exact) / exact)
        }
        #expect(worst < 1e-6, "worst relative error \(worst)")
    }

    /// GELU and its gradient on the 16-lane functions against GELU in Double (erfc form) and
    /// against libm's float composition `0.5 x (1 + erf(x/√2))`, over a sweep and on activations
    /// of a transformer's size (a partial last block included). NOTE: the float composition
    /// cancels in the negative tail (1 + erf ≈ 0), so there it is the less accurate of the two.
    @Test func geluMatchesTheLibmComposition() {
        var rng = SeededRandom(seed: 8)
        let inputs = [Tensor(shape: [2, Self.sweep.count / 2], data: Array(Self.sweep.prefix(2 * (Self.sweep.count / 2)))),
                      Tensor.normal([16, 20, 771], std: 2, rng: &rng)]
        for x in inputs {
            let (a, b) = (x.detached(), x.detached())
            a.requiresGrad = true
            b.requiresGrad = true
            let (fast, reference) = (a.gelu(), b.geluReference())
            var worst = (fast: 0.0, libm: 0.0)
            for (i, v) in x.data.enumerated() {
                let exact = 0.5 * Double(v) * Foundation.erfc(-Double(v) / 2.0.squareRoot())
                let scale = max(abs(exact), 1e-3)
                worst.fast = max(worst.fast, abs(Double(fast.data[i]) - exact) / scale)
                worst.libm = max(worst.libm, abs(Double(reference.data[i]) - exact) / scale)
            }
            #expect(worst.fast < 2e-6 && worst.fast <= max(worst.libm, 2e-6), "GELU on \(x.shape): worst error \(worst)")
            let up = Tensor.normal(x.shape, rng: &rng)
            (fast * up).sum().backward()
            (reference * up).sum().backward()
            #expect(closeness(a.grad ?? Tensor.zeros([1]), b.grad ?? Tensor.zeros([1]), rtol: 1e-5, atol: 2e-6).isEmpty, "GELU gradient on \(x.shape)")
        }
        #expect(gradientCheck([Tensor.normal([4, 5], rng: &rng)]) { $0[0].gelu() }.isEmpty)
    }
}
