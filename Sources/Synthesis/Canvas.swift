import TensorCore
import Foundation
import Media

/// An RGB colour with components in 0…255.
public struct Colour: Codable, Equatable, Sendable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }

    /// From hue (0…1), saturation and value.
    public static func hsv(_ h: Double, _ s: Double, _ v: Double) -> Colour {
        let i = Int(floor(h * 6)) % 6, f = h * 6 - floor(h * 6)
        let p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s)
        let (r, g, b): (Double, Double, Double)
        switch (i + 6) % 6 {
        case 0: (r, g, b) = (v, t, p)
        case 1: (r, g, b) = (q, v, p)
        case 2: (r, g, b) = (p, v, t)
        case 3: (r, g, b) = (p, q, v)
        case 4: (r, g, b) = (t, p, v)
        default: (r, g, b) = (v, p, q)
        }
        return Colour(r * 255, g * 255, b * 255)
    }

    public func scaled(_ k: Double) -> Colour { Colour(min(255, r * k), min(255, g * k), min(255, b * k)) }
}

/// A filled shape in pixel coordinates (x right, y down).
public enum Shape: Codable, Equatable, Sendable {
    case circle(cx: Double, cy: Double, radius: Double)
    case polygon([[Double]])

    /// A regular polygon (`sides` ≥ 3) or a star (`star: true`, 5 points) around a centre.
    public static func regular(kind: String, cx: Double, cy: Double, radius r: Double, rotation: Double) -> Shape {
        switch kind {
        case "circle": return .circle(cx: cx, cy: cy, radius: r)
        case "square": return polygon(cx: cx, cy: cy, radii: [r, r, r, r], rotation: rotation + .pi / 4)
        case "triangle": return polygon(cx: cx, cy: cy, radii: [r * 1.15, r * 1.15, r * 1.15], rotation: rotation - .pi / 2)
        case "star": return polygon(cx: cx, cy: cy, radii: (0..<10).map { $0 % 2 == 0 ? r * 1.2 : r * 0.5 }, rotation: rotation - .pi / 2)
        case "diamond": return polygon(cx: cx, cy: cy, radii: [r * 1.2, r * 0.8, r * 1.2, r * 0.8], rotation: rotation)
        case "hexagon": return polygon(cx: cx, cy: cy, radii: [Double](repeating: r, count: 6), rotation: rotation)
        default: preconditionFailure("Shape.regular: unknown kind \(kind)")
        }
    }

    /// A rectangle of size w x h centred at (cx, cy), rotated.
    public static func rectangle(cx: Double, cy: Double, width w: Double, height h: Double, rotation: Double) -> Shape {
        let c = cos(rotation), s = sin(rotation)
        let corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        return .polygon(corners.map { [cx + $0.0 * c - $0.1 * s, cy + $0.0 * s + $0.1 * c] })
    }

    static func polygon(cx: Double, cy: Double, radii: [Double], rotation: Double) -> Shape {
        let n = Double(radii.count)
        return .polygon(radii.enumerated().map { k, r in
            let a = rotation + 2 * .pi * Double(k) / n
            return [cx + r * cos(a), cy + r * sin(a)]
        })
    }

    /// Bounding box [x0, y0, x1, y1].
    public var bounds: [Double] {
        switch self {
        case .circle(let cx, let cy, let r): return [cx - r, cy - r, cx + r, cy + r]
        case .polygon(let pts):
            return [pts.map { $0[0] }.min()!, pts.map { $0[1] }.min()!, pts.map { $0[0] }.max()!, pts.map { $0[1] }.max()!]
        }
    }

    /// Whether the point lies inside (even–odd rule for polygons).
    @inline(__always)
    public func contains(_ x: Double, _ y: Double) -> Bool {
        switch self {
        case .circle(let cx, let cy, let r):
            let dx = x - cx, dy = y - cy
            return dx * dx + dy * dy <= r * r
        case .polygon(let pts):
            var inside = false
            var j = pts.count - 1
            for i in 0..<pts.count {
                let (xi, yi, xj, yj) = (pts[i][0], pts[i][1], pts[j][0], pts[j][1])
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi { inside.toggle() }
                j = i
            }
            return inside
        }
    }

    /// The shape's pixel mask on a `width` x `height` grid (pixel centres inside), row-major 0/1.
    public func mask(width: Int, height: Int) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: width * height)
        let b = bounds
        for y in max(0, Int(b[1]))...min(height - 1, max(0, Int(b[3]) + 1)) where Int(b[1]) < height {
            for x in max(0, Int(b[0]))...min(width - 1, max(0, Int(b[2]) + 1)) where Int(b[0]) < width {
                if contains(Double(x) + 0.5, Double(y) + 0.5) { m[y * width + x] = 1 }
            }
        }
        return m
    }
}

/// A picture being drawn: RGB pixels as doubles, composited with 2x2 supersampled coverage.
public struct Canvas {
    public let width: Int
    public let height: Int
    var pixels: [Double]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [Double](repeating: 0, count: width * height * 3)
    }

    /// A textured background: a two-colour gradient with smooth value noise, `margin` pixels
    /// larger on every side so that camera jitter can move the view inside it.
    public static func background(width: Int, height: Int, rng: inout SeededRandom) -> Canvas {
        var c = Canvas(width: width, height: height)
        let hue = rng.unit()
        let a = Colour.hsv(hue, rng.uniform(0.1, 0.6), rng.uniform(0.25, 0.85))
        let b = Colour.hsv(fmod(hue + rng.uniform(-0.2, 0.2) + 1, 1), rng.uniform(0.1, 0.6), rng.uniform(0.25, 0.85))
        let angle = rng.uniform(0, 2 * .pi)
        let (dx, dy) = (cos(angle), sin(angle))
        // Value noise on a coarse grid, bilinearly upsampled.
        let cell = Double(rng.int(12...28))
        let gw = Int(Double(width) / cell) + 2, gh = Int(Double(height) / cell) + 2
        let grid = (0..<(gw * gh)).map { _ in rng.uniform(-1, 1) }
        let amplitude = rng.uniform(8, 28)
        let stripes = rng.chance(0.3) ? rng.uniform(6, 20) : 0
        for y in 0..<height {
            for x in 0..<width {
                let t = ((Double(x) / Double(width) - 0.5) * dx + (Double(y) / Double(height) - 0.5) * dy) + 0.5
                let gx = Double(x) / cell, gy = Double(y) / cell
                let ix = Int(gx), iy = Int(gy), fx = gx - Double(ix), fy = gy - Double(iy)
                let n = grid[iy * gw + ix] * (1 - fx) * (1 - fy) + grid[iy * gw + ix + 1] * fx * (1 - fy)
                    + grid[(iy + 1) * gw + ix] * (1 - fx) * fy + grid[(iy + 1) * gw + ix + 1] * fx * fy
                var v = n * amplitude
                if stripes > 0 && Int(Double(x + y) / stripes) % 2 == 0 { v += 10 }
                let i = (y * width + x) * 3
                c.pixels[i] = a.r * (1 - t) + b.r * t + v
                c.pixels[i + 1] = a.g * (1 - t) + b.g * t + v
                c.pixels[i + 2] = a.b * (1 - t) + b.b * t + v
            }
        }
        return c
    }

    /// The `width` x `height` window of this canvas whose top-left corner is at (x, y).
    public func window(x: Int, y: Int, width w: Int, height h: Int) -> Canvas {
        var c = Canvas(width: w, height: h)
        for row in 0..<h {
            let src = ((y + row) * width + x) * 3
            for k in 0..<(w * 3) { c.pixels[row * w * 3 + k] = pixels[src + k] }
        }
        return c
    }

    /// Paints `shape` in `colour` with opacity `alpha`, antialiased by 2x2 supersampling.
    public mutating func fill(_ shape: Shape, _ colour: Colour, alpha: Double = 1) {
        let b = shape.bounds
        let x0 = max(0, Int(floor(b[0]))), x1 = min(width - 1, Int(ceil(b[2])))
        let y0 = max(0, Int(floor(b[1]))), y1 = min(height - 1, Int(ceil(b[3])))
        guard x0 <= x1, y0 <= y1 else { return }
        let offsets = [0.25, 0.75]
        for y in y0...y1 {
            for x in x0...x1 {
                var hits = 0
                for oy in offsets { for ox in offsets where shape.contains(Double(x) + ox, Double(y) + oy) { hits += 1 } }
                if hits == 0 { continue }
                let a = alpha * Double(hits) / 4
                let i = (y * width + x) * 3
                pixels[i] += (colour.r - pixels[i]) * a
                pixels[i + 1] += (colour.g - pixels[i + 1]) * a
                pixels[i + 2] += (colour.b - pixels[i + 2]) * a
            }
        }
    }

    /// Adds sensor noise (triangular, in ±`amplitude`) and converts to 8-bit RGB.
    public func image(noise amplitude: Double, rng: inout SeededRandom) -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        let scale = amplitude / 65536
        for i in 0..<pixels.count {
            let bits = rng.next()
            let n = amplitude > 0 ? Double(Int(bits & 0xFFFF) + Int((bits >> 16) & 0xFFFF) - 65536) * scale : 0
            out[i] = UInt8(max(0, min(255, (pixels[i] + n).rounded())))
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
