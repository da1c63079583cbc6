import Foundation

/// Analysis windows. Periodic windows are the DFT-even ones librosa (`fftbins=True`) and
/// torch use for spectrograms; symmetric ones are the filter-design kind.
public enum WindowKind: String, Codable, Sendable, CaseIterable {
    case hann
    case hannSymmetric = "hann-symmetric"
    case hamming
    case hammingSymmetric = "hamming-symmetric"

    /// The window's `length` coefficients: `w[n] = a - (1 - a) cos(2πn / N)` with a = 0.5 (Hann)
    /// or 0.54 (Hamming), N = length (periodic) or length − 1 (symmetric).
    public func coefficients(_ length: Int) -> [Float] {
        doubleCoefficients(length).map { Float($0) }
    }

    /// The coefficients in double precision.
    public func doubleCoefficients(_ length: Int) -> [Double] {
        precondition(length > 0, "WindowKind.coefficients: length must be positive")
        let a: Double = (self == .hann || self == .hannSymmetric) ? 0.5 : 0.54
        let symmetric = self == .hannSymmetric || self == .hammingSymmetric
        let n = Double(symmetric ? max(length - 1, 1) : length)
        return (0..<length).map { a - (1 - a) * cos(2 * Double.pi * Double($0) / n) }
    }
}
