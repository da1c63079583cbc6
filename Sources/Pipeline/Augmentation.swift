import Foundation
import Media
import TensorCore

/// Augmentation of a video clip, drawn once per clip and applied to each of its frames alike
/// (random resized crop, horizontal flip, colour jitter, greyscale), as in SimCLR/CVRL.
public struct VideoAugmentation: Codable, Equatable, Sendable {
    /// Smallest share of the frame's area a crop keeps (1 with `crop: false`).
    public var minimumCropArea: Double = 0.3
    public var crop = true
    public var flip = true
    /// Colour jitter strength (brightness, contrast, saturation factors in 1 ± strength), and
    /// the probability it is applied.
    public var jitter: Float = 0.4
    public var jitterProbability = 0.8
    public var greyscaleProbability = 0.2

    public init() {}

    /// No augmentation: the centre crop (evaluation).
    public static let none: VideoAugmentation = {
        var a = VideoAugmentation()
        a.crop = false
        a.flip = false
        a.jitterProbability = 0
        a.greyscaleProbability = 0
        return a
    }()

    /// Crops, flips and mild jitter, no greyscale (for the cross-modal objectives, whose
    /// other view is the audio).
    public static let light: VideoAugmentation = {
        var a = VideoAugmentation()
        a.minimumCropArea = 0.5
        a.jitter = 0.2
        a.jitterProbability = 0.5
        a.greyscaleProbability = 0
        return a
    }()

    public static let strong = VideoAugmentation()

    /// One clip's draw.
    struct Draw {
        var rect: (x: Double, y: Double, width: Double, height: Double)
        var flip: Bool
        var brightness: Float = 1, contrast: Float = 1, saturation: Float = 1
        var greyscale: Bool
    }

    func draw(width: Int, height: Int, size: Int, rng: inout SeededRandom) -> Draw {
        let (w, h) = (Double(width), Double(height))
        // Without a random crop: the centre crop of `FrameGeometry.clip112` (integer offsets).
        let centre = FrameGeometry(resize: .native, crop: .center(width: min(size, width), height: min(size, height)))
            .cropRect(scaledWidth: width, scaledHeight: height)!
        var rect = (x: Double(centre.x), y: Double(centre.y), width: Double(centre.width), height: Double(centre.height))
        if crop {
            // Up to 10 tries for a crop of the drawn area and aspect that fits; else the centre square.
            for _ in 0..<10 {
                let area = w * h * rng.uniform(minimumCropArea, 1)
                let aspect = Foundation.exp(rng.uniform(Foundation.log(3.0 / 4), Foundation.log(4.0 / 3)))
                let cw = (area * aspect).squareRoot(), ch = (area / aspect).squareRoot()
                if cw <= w && ch <= h {
                    rect = (rng.uniform(0, w - cw), rng.uniform(0, h - ch), cw, ch)
                    break
                }
            }
        }
        var d = Draw(rect: rect, flip: flip && rng.uniform(0, 1) < 0.5, greyscale: false)
        if rng.uniform(0, 1) < jitterProbability {
            d.brightness = Float(rng.uniform(Double(1 - jitter), Double(1 + jitter)))
            d.contrast = Float(rng.uniform(Double(1 - jitter), Double(1 + jitter)))
            d.saturation = Float(rng.uniform(Double(1 - jitter), Double(1 + jitter)))
        }
        d.greyscale = rng.uniform(0, 1) < greyscaleProbability
        return d
    }

    /// Writes one clip `[3, T, size, size]` (normalised) from `frames` RGB24 frames of
    /// `width`x`height` into `out`, with one draw for all frames.
    func apply(frames: [UInt8], count: Int, width: Int, height: Int, geometry: ClipGeometry,
               rng: inout SeededRandom, into out: UnsafeMutablePointer<Float>) {
        let size = geometry.size
        let d = draw(width: width, height: height, size: size, rng: &rng)
        // Bilinear taps per output column and row (pixel centres aligned).
        func taps(_ start: Double, _ extent: Double, _ limit: Int, flipped: Bool) -> [(Int, Int, Float)] {
            (0..<size).map { o in
                let oo = flipped ? size - 1 - o : o
                let s = start + (Double(oo) + 0.5) * extent / Double(size) - 0.5
                let s0 = min(max(Int(s.rounded(.down)), 0), limit - 1)
                let s1 = min(s0 + 1, limit - 1)
                return (s0, s1, Float(min(max(s - Double(s0), 0), 1)))
            }
        }
        let xs = taps(d.rect.x, d.rect.width, width, flipped: d.flip)
        let ys = taps(d.rect.y, d.rect.height, height, flipped: false)
        let plane = size * size, channelStride = count * plane
        let scale = 1 / (255 * geometry.std), offset = geometry.mean / geometry.std
        var rgb = [Float](repeating: 0, count: 3 * plane)
        frames.withUnsafeBufferPointer { px in
            for t in 0..<count {
                let base = t * width * height * 3
                for (oy, (y0, y1, fy)) in ys.enumerated() {
                    for (ox, (x0, x1, fx)) in xs.enumerated() {
                        for c in 0..<3 {
                            let a = Float(px[base + (y0 * width + x0) * 3 + c]), b = Float(px[base + (y0 * width + x1) * 3 + c])
                            let e = Float(px[base + (y1 * width + x0) * 3 + c]), f = Float(px[base + (y1 * width + x1) * 3 + c])
                            let top = a + (b - a) * fx, bottom = e + (f - e) * fx
                            rgb[c * plane + oy * size + ox] = top + (bottom - top) * fy
                        }
                    }
                }
                colour(&rgb, plane: plane, d)
                for c in 0..<3 {
                    let dst = out + c * channelStride + t * plane
                    for i in 0..<plane { dst[i] = rgb[c * plane + i] * scale - offset }
                }
            }
        }
    }

    /// Brightness, contrast, saturation (in that order), then greyscale, on 0…255 values.
    func colour(_ rgb: inout [Float], plane: Int, _ d: Draw) {
        let jittered = d.brightness != 1 || d.contrast != 1 || d.saturation != 1
        guard jittered || d.greyscale else { return }
        func grey(_ i: Int) -> Float { 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i] }
        if jittered {
            for i in 0..<(3 * plane) { rgb[i] = min(max(rgb[i] * d.brightness, 0), 255) }
            var meanGrey: Float = 0
            for i in 0..<plane { meanGrey += grey(i) }
            meanGrey /= Float(plane)
            for i in 0..<(3 * plane) { rgb[i] = min(max((rgb[i] - meanGrey) * d.contrast + meanGrey, 0), 255) }
            for i in 0..<plane {
                let g = grey(i)
                for c in 0..<3 { rgb[c * plane + i] = min(max((rgb[c * plane + i] - g) * d.saturation + g, 0), 255) }
            }
        }
        if d.greyscale {
            for i in 0..<plane { let g = grey(i); for c in 0..<3 { rgb[c * plane + i] = g } }
        }
    }
}

/// Augmentation of an audio window: a random gain, then SpecAugment-style masks on its
/// log-mel (Park et al., 2019): one band of frequencies and one span of time set to the
/// clip's mean value.
public struct AudioAugmentation: Codable, Equatable, Sendable {
    /// Gain drawn uniformly in ±`gainDecibels`.
    public var gainDecibels: Double = 6
    /// Widest frequency mask (mel bands) and time mask (frames); 0 turns a mask off.
    public var frequencyMask = 8
    public var timeMask = 16

    public init() {}

    public static let none: AudioAugmentation = {
        var a = AudioAugmentation()
        a.gainDecibels = 0
        a.frequencyMask = 0
        a.timeMask = 0
        return a
    }()

    public static let standard = AudioAugmentation()

    func gain(_ samples: inout [Float], rng: inout SeededRandom) {
        guard gainDecibels > 0 else { return }
        let g = Float(Foundation.pow(10, rng.uniform(-gainDecibels, gainDecibels) / 20))
        for i in samples.indices { samples[i] *= g }
    }

    /// Masks `mel: [frames, bands]` in place.
    func mask(_ mel: UnsafeMutablePointer<Float>, frames: Int, bands: Int, rng: inout SeededRandom) {
        guard frequencyMask > 0 || timeMask > 0 else { return }
        var mean: Float = 0
        for i in 0..<(frames * bands) { mean += mel[i] }
        mean /= Float(max(frames * bands, 1))
        if frequencyMask > 0 {
            let width = Int(rng.next() % UInt64(frequencyMask + 1))
            let start = Int(rng.next() % UInt64(max(bands - width, 0) + 1))
            for t in 0..<frames { for f in start..<min(start + width, bands) { mel[t * bands + f] = mean } }
        }
        if timeMask > 0 {
            let width = Int(rng.next() % UInt64(timeMask + 1))
            let start = Int(rng.next() % UInt64(max(frames - width, 0) + 1))
            for t in start..<min(start + width, frames) { for f in 0..<bands { mel[t * bands + f] = mean } }
        }
    }
}
