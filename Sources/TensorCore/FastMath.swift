import Foundation

// Vectorisable e^x and erfc, for the kernels that evaluate them per element of large
// tensors (softmax over attention rows, GELU). libm's scalar expf/erff cost 10-20 ns a value and
// keep the loops from vectorising; these run a few per nanosecond. Tests compare them with
// libm over sweeps of their range (FastMathTests): e^x within 3e-7 relative, erfc within
// 1e-6 relative where it is above 1e-30; GELU within 2e-6 of its value in Double (libm's float
// composition: 8e-5, from cancellation in 1 + erf).

/// e^x: x = n ln 2 + r with ln 2 split in two parts (Cody and Waite), e^r by Cephes' degree-6
/// polynomial on |r| ≤ ln 2 / 2, 2^n built in the exponent bits.
/// NOTE: written with arithmetic, comparisons and bit casts only (no calls, no SIMD library
/// operations, several of which run lane by lane in Swift), so that loops over it vectorise.
/// n is rounded by adding and subtracting 1.5·2²³. Below −87.3 (where e^x would be subnormal)
/// the result is 0; above 88.72 it is ∞; NaN stays NaN.
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let c = x < -87.3 ? -87.3 : (x > 88.3 ? 88.3 : x)
    let magic: Float = 12_582_912  // 1.5 · 2²³
    let shifted = c * 1.44269504088896341 + magic
    let n = shifted - magic
    var r = c - n * 0.693359375
    r -= n * -2.12194440e-4
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    // The low mantissa bits of `shifted` hold n (two's complement around the magic number's).
    let exponent = Int32(bitPattern: shifted.bitPattern) &- Int32(bitPattern: magic.bitPattern)
    let y = p * Float(bitPattern: UInt32(bitPattern: (exponent &+ 127) &<< 23))
    return x < -87.3 ? 0 : (x > 88.72 ? .infinity : (x != x ? x : y))
}

/// erfc(x): Numerical Recipes' Chebyshev fit `t·exp(−z² − 1.26551223 + t·P(t))`, t = 1/(1 + z/2),
/// z = |x|, relative error below 1.2e-7 for every x (before float rounding); erfc(−z) = 2 − erfc(z).
@inline(__always)
func fastErfc(_ x: Float) -> Float {
    let z = x < 0 ? -x : x
    let t = 1 / (1 + 0.5 * z)
    var p: Float = 0.17087277
    p = p * t - 0.82215223
    p = p * t + 1.48851587
    p = p * t - 1.13520398
    p = p * t + 0.27886807
    p = p * t - 0.18628806
    p = p * t + 0.09678418
    p = p * t + 0.37409196
    p = p * t + 1.00002368
    p = p * t - 1.26551223
    // NOTE: an exponent of −z² + P rounded to float is off by up to z²·6e-8, which e^x turns
    // into a relative error of that size (3.7e-6 at z = 8). So z² is split into its float value
    // and that value's rounding error, and e^{−z²} and e^P are taken apart: the error stays
    // near e^x's own 3e-7. The rounding error is exact by Dekker's product (z split into two
    // 12-bit halves), not a fused multiply-add: the baseline x86-64 target has no FMA
    // instruction and would call a slow software fmaf.
    let zz = z * z
    let split = 4097 * z
    let high = split - (split - z), low = z - high
    let lo = ((high * high - zz) + 2 * high * low) + low * low
    let tail = t * fastExp(-zz) * fastExp(p) * (1 - lo)
    return x < 0 ? 2 - tail : tail
}

/// GELU `x Φ(x)` and its derivative `Φ(x) + x φ(x)`, with Φ(x) = erfc(−x/√2)/2 (accurate in the
/// negative tail, where 1 + erf would cancel) and φ(x) = e^{−x²/2}/√(2π).
@inline(__always)
func fastGELU(_ x: Float) -> (value: Float, derivative: Float) {
    let cdf = 0.5 * fastErfc(x * -0.70710678118654752)
    let pdf = fastExp(-0.5 * x * x) * 0.39894228040143268
    return (x * cdf, cdf + x * pdf)
}

extension Tensor {
    /// `fastExp` over a tensor's values (for tests).
    public func fastExpValues() -> [Float] { data.map(fastExp) }

    /// `fastErfc` over a tensor's values (for tests).
    public func fastErfcValues() -> [Float] { data.map(fastErfc) }
}
