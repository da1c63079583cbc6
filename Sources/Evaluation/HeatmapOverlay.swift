import Media

/// Pictures of heatmaps over frames: the map (scaled so `range` spans the colour scale) in a
/// blue–cyan–yellow–red scale, blended over the frame where it is above the bottom of the
/// range, more opaque where hotter.
public enum HeatmapOverlay {
    /// `frame` with `map: [frame.height * frame.width]` laid over it.
    public static func render(frame: RGBImage, map: [Float], range: ClosedRange<Float>) -> RGBImage {
        precondition(map.count == frame.width * frame.height, "HeatmapOverlay: \(map.count) values for a \(frame.width)x\(frame.height) frame")
        let span = max(range.upperBound - range.lowerBound, 1e-6)
        var out = frame
        for i in 0..<map.count {
            let v = min(max((map[i] - range.lowerBound) / span, 0), 1)
            let (r, g, b) = colour(v)
            let alpha = 0.15 + 0.55 * v
            for (c, value) in [r, g, b].enumerated() {
                let old = Float(frame.pixels[i * 3 + c])
                out.pixels[i * 3 + c] = UInt8(min(max(old + (value - old) * alpha, 0), 255).rounded())
            }
        }
        return out
    }

    /// The colour scale at v in [0, 1]: blue, cyan, yellow, red.
    static func colour(_ v: Float) -> (Float, Float, Float) {
        let stops: [(Float, Float, Float)] = [(0, 0, 255), (0, 255, 255), (255, 255, 0), (255, 0, 0)]
        let x = v * Float(stops.count - 1)
        let k = min(Int(x), stops.count - 2)
        let f = x - Float(k)
        let (a, b) = (stops[k], stops[k + 1])
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }
}
