import Media

/// A score curve drawn as a picture (`concord sync --plot`): what SyncNet-style tools show to
/// let a user judge an estimate by eye, without a plotting library.
///
/// The horizontal axis runs over the candidates, left to right (0 at the dark grey line, a light
/// grey line every `gridStep` units); the vertical axis from the lowest score (bottom margin)
/// to the highest (top margin). The curve is blue, the chosen candidate a red line.
public enum CurvePlot {
    public static let background: (UInt8, UInt8, UInt8) = (255, 255, 255)
    public static let grid: (UInt8, UInt8, UInt8) = (225, 225, 225)
    public static let axis: (UInt8, UInt8, UInt8) = (120, 120, 120)
    public static let line: (UInt8, UInt8, UInt8) = (31, 84, 200)
    public static let marker: (UInt8, UInt8, UInt8) = (210, 40, 40)
    /// Pixels left free around the plot.
    public static let margin = 8

    /// - Parameters:
    ///   - x: the candidates, increasing: `[n]`, n ≥ 2.
    ///   - y: their scores: `[n]`.
    ///   - mark: the candidate to mark (the estimate), if any.
    public static func render(x: [Double], y: [Double], mark: Double?, gridStep: Double = 0.1,
                              width: Int = 640, height: Int = 240) -> RGBImage {
        precondition(x.count == y.count && x.count >= 2, "CurvePlot: need as many scores as candidates, at least 2")
        precondition(width > 2 * margin + 1 && height > 2 * margin + 1, "CurvePlot: \(width)x\(height) is too small")
        var image = RGBImage(width: width, height: height, fill: background)
        let (x0, x1) = (x[0], x[x.count - 1])
        let (lo, hi) = (y.min()!, y.max()!)
        let span = hi > lo ? hi - lo : 1
        let plotWidth = Double(width - 2 * margin - 1), plotHeight = Double(height - 2 * margin - 1)
        func column(_ v: Double) -> Int { margin + Int(((v - x0) / max(x1 - x0, 1e-12) * plotWidth).rounded()) }
        func row(_ v: Double) -> Int { margin + Int(((hi - v) / span * plotHeight).rounded()) }
        func vertical(_ c: Int, _ colour: (UInt8, UInt8, UInt8)) {
            guard c >= 0 && c < width else { return }
            for r in 0..<height { set(&image, c, r, colour) }
        }
        if gridStep > 0 {
            var g = (x0 / gridStep).rounded(.up) * gridStep
            while g <= x1 + 1e-9 { vertical(column(g), grid); g += gridStep }
        }
        if x0 <= 0 && x1 >= 0 { vertical(column(0), axis) }
        if let mark { vertical(column(mark), marker) }
        // The curve: straight segments between the points, two pixels thick.
        for k in 1..<x.count {
            let (c0, r0, c1, r1) = (column(x[k - 1]), row(y[k - 1]), column(x[k]), row(y[k]))
            let steps = max(abs(c1 - c0), abs(r1 - r0), 1)
            for s in 0...steps {
                let c = c0 + Int((Double(s * (c1 - c0)) / Double(steps)).rounded())
                let r = r0 + Int((Double(s * (r1 - r0)) / Double(steps)).rounded())
                set(&image, c, r, line)
                set(&image, c, r + 1, line)
            }
        }
        return image
    }

    private static func set(_ image: inout RGBImage, _ c: Int, _ r: Int, _ colour: (UInt8, UInt8, UInt8)) {
        guard c >= 0 && c < image.width && r >= 0 && r < image.height else { return }
        let i = 3 * (r * image.width + c)
        image.pixels[i] = colour.0; image.pixels[i + 1] = colour.1; image.pixels[i + 2] = colour.2
    }
}
