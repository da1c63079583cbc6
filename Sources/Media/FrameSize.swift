/// How decoded frames are sized: native, an exact size, or the short side scaled to a
/// length (aspect kept), followed by an optional crop.
public struct FrameGeometry: Equatable, Sendable, CustomStringConvertible {
    public enum Resize: Equatable, Sendable {
        case native
        case exact(width: Int, height: Int)
        case shortSide(Int)
    }

    public enum Crop: Equatable, Sendable {
        case none
        /// A centred window of this size.
        case center(width: Int, height: Int)
        /// A window whose top-left corner is at (x, y).
        case window(x: Int, y: Int, width: Int, height: Int)
    }

    public var resize: Resize
    public var crop: Crop

    public init(resize: Resize = .native, crop: Crop = .none) {
        self.resize = resize
        self.crop = crop
    }

    public static let native = FrameGeometry()

    /// The clip geometry of the reference encoders: short side 128, centre crop 112x112.
    public static let clip112 = FrameGeometry(resize: .shortSide(128), crop: .center(width: 112, height: 112))

    /// Size after resizing (before cropping) for a source of `width`x`height`.
    public func scaledSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch resize {
        case .native: return (width, height)
        case .exact(let w, let h): return (w, h)
        case .shortSide(let n):
            if width <= height {
                return (n, max(1, Int((Double(height) * Double(n) / Double(width)).rounded())))
            }
            return (max(1, Int((Double(width) * Double(n) / Double(height)).rounded())), n)
        }
    }

    /// The crop rectangle inside the scaled picture; nil when it does not fit.
    public func cropRect(scaledWidth w: Int, scaledHeight h: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        switch crop {
        case .none: return (0, 0, w, h)
        case .center(let cw, let ch):
            guard cw <= w, ch <= h, cw > 0, ch > 0 else { return nil }
            return ((w - cw) / 2, (h - ch) / 2, cw, ch)
        case .window(let x, let y, let cw, let ch):
            guard x >= 0, y >= 0, cw > 0, ch > 0, x + cw <= w, y + ch <= h else { return nil }
            return (x, y, cw, ch)
        }
    }

    /// Parses the command-line forms `native`, `WxH` and `short:N` (resize) and
    /// `WxH` or `WxH+X+Y` (crop).
    public static func parse(size: String, crop: String? = nil) -> FrameGeometry? {
        var g = FrameGeometry()
        if size == "native" {
            g.resize = .native
        } else if size.hasPrefix("short:") {
            guard let n = Int(size.dropFirst(6)), n > 0 else { return nil }
            g.resize = .shortSide(n)
        } else if let (w, h) = parseWxH(size) {
            g.resize = .exact(width: w, height: h)
        } else {
            return nil
        }
        if let crop {
            let parts = crop.split(separator: "+").map(String.init)
            guard let (w, h) = parseWxH(parts[0]) else { return nil }
            if parts.count == 1 {
                g.crop = .center(width: w, height: h)
            } else if parts.count == 3, let x = Int(parts[1]), let y = Int(parts[2]) {
                g.crop = .window(x: x, y: y, width: w, height: h)
            } else {
                return nil
            }
        }
        return g
    }

    private static func parseWxH(_ s: String) -> (Int, Int)? {
        let p = s.split(separator: "x")
        guard p.count == 2, let w = Int(p[0]), let h = Int(p[1]), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    public var description: String {
        var s: String
        switch resize {
        case .native: s = "native"
        case .exact(let w, let h): s = "\(w)x\(h)"
        case .shortSide(let n): s = "short:\(n)"
        }
        switch crop {
        case .none: break
        case .center(let w, let h): s += ", centre crop \(w)x\(h)"
        case .window(let x, let y, let w, let h): s += ", crop \(w)x\(h)+\(x)+\(y)"
        }
        return s
    }
}
