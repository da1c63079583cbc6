/// Natural logarithm of a positive, normal Float, written so that loops over arrays vectorise.
///
/// x = m · 2^e with m in [√½, √2); ln x = e · ln 2 + 2 atanh(s), s = (m − 1)/(m + 1), with the
/// series to s⁹ (|s| ≤ 0.172, so the first term left out is below 4e-10).
/// NOTE: for zero, negative, subnormal, infinite or NaN input the result is meaningless; the
/// front-end only calls it on `x + ε` (ε ≥ 1e-7) and `max(x, amin)` (amin ≥ 1e-10).
@inline(__always)
public func fastLog(_ x: Float) -> Float {
    let bits = x.bitPattern
    var e = Float(Int32(bitPattern: (bits >> 23) & 0xFF) - 127)
    var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)  // [1, 2)
    let big = m > 1.41421356
    m = big ? m * 0.5 : m
    e = big ? e + 1 : e
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    let series = s * (2 + s2 * (2.0 / 3 + s2 * (2.0 / 5 + s2 * (2.0 / 7 + s2 * (2.0 / 9)))))
    return e * 0.693147180559945 + series
}
