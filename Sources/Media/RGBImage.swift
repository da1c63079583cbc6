/// An 8-bit RGB picture, rows top to bottom, pixels interleaved R, G, B.
/// `pixels: [height, width, 3]` row-major.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        if fill != (0, 0, 0) {
            for i in 0..<(width * height) {
                p[3 * i] = fill.0; p[3 * i + 1] = fill.1; p[3 * i + 2] = fill.2
            }
        }
        self.pixels = p
    }
}
