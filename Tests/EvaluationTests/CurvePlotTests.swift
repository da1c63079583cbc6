import Evaluation
import Media
import Testing

/// `CurvePlot`: the curve's highest point is at the top margin in its column, its lowest at the
/// bottom margin, and the marked candidate and 0 are vertical lines of their colours.
@Suite struct CurvePlotTests {
    func colour(_ image: RGBImage, _ c: Int, _ r: Int) -> (UInt8, UInt8, UInt8) {
        let i = 3 * (r * image.width + c)
        return (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }

    @Test func peakTroughMarkAndZeroAreWhereTheyBelong() {
        // Candidates −0.6…+0.6 in 0.04 s steps; a peak at +0.2, the lowest score at −0.6.
        let x = (0...30).map { -0.6 + 0.04 * Double($0) }
        let y = x.map { -abs($0 - 0.2) }
        let (w, h, m) = (640, 240, CurvePlot.margin)
        let image = CurvePlot.render(x: x, y: y, mark: 0.2, width: w, height: h)
        let peakColumn = m + Int(((0.2 + 0.6) / 1.2 * Double(w - 2 * m - 1)).rounded())
        let zeroColumn = m + Int((0.6 / 1.2 * Double(w - 2 * m - 1)).rounded())
        // The marker runs the full height; the curve is drawn over it at the top margin.
        #expect(colour(image, peakColumn, h - 1) == CurvePlot.marker)
        #expect(colour(image, peakColumn, m) == CurvePlot.line)
        #expect(colour(image, m, h - 1 - m) == CurvePlot.line, "the lowest score at the bottom margin")
        #expect(colour(image, zeroColumn, 0) == CurvePlot.axis)
        #expect(colour(image, peakColumn + 20, 0) == CurvePlot.background)
        // A flat curve is a line along the top margin, not a division by zero.
        let flat = CurvePlot.render(x: x, y: x.map { _ in 1 }, mark: nil)
        #expect(colour(flat, w / 3, m) == CurvePlot.line)
    }
}
