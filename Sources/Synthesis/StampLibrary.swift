import Foundation
import Media
import TensorCore

/// Real cut-out photos that come with their own recording, and real scene photos, from Tux
/// Paint's Debian packages: `tuxpaint-stamps-default` (`NAME.png`, RGBA, beside `NAME.ogg`, a
/// recording of what the picture shows; GPL-2) and `tuxpaint-data` (`templates/*.jpg`, photos
/// of cliffs, forests, the sea, …; GPL-2+). The alpha channel of a stamp is an exact mask.
///
/// Loaded once and shared read-only by the synthesiser's workers.
public final class StampLibrary: Sendable {
    public static let stampsFolder = "/usr/share/tuxpaint/stamps"
    public static let scenesFolder = "/usr/share/tuxpaint/templates"
    public static let licence = "GPL-2 (Debian's tuxpaint-stamps-default; see /usr/share/doc/tuxpaint-stamps-default/copyright)"
    public static let scenesLicence = "GPL-2+ (Debian's tuxpaint-data; see /usr/share/doc/tuxpaint-data/copyright)"
    /// Folders (below the stamps folder) that are left out: letters, digits, signs and flags are
    /// not things that make their sound, and drawings are not photos.
    static let excluded = ["symbols", "town/roadsigns", "town/flags", "military"]
    /// Longest stretch of a recording that is used (seconds); longer ones are cut with a fade.
    static let longestSound = 2.5
    /// Stamps are kept at most this many pixels high (frames are at most 144 high).
    static let largestStamp = 160

    public struct Stamp: Sendable {
        /// The file's base name (`dog`), unique in the library.
        public let name: String
        /// The picture's path below the stamps folder, without extension (`animals/mammals/dogs/dog`).
        public let path: String
        public let image: RGBAImage
        /// The alpha ≥ 0.5 part of the picture: x0, y0, x1, y1 (pixels, exclusive ends).
        public let opaqueBox: (x0: Int, y0: Int, x1: Int, y1: Int)
        /// The recording, mono, peak 1, at `soundRate`.
        public let sound: [Float]
        public let soundRate: Int
        public var category: String { path.split(separator: "/").dropLast().joined(separator: "/") }
    }

    public let stamps: [Stamp]
    /// Scene photos, resized to a short side of 288.
    public let scenes: [(name: String, image: RGBAImage)]

    /// Reads every stamp with a recording (outside `excluded`) and every scene photo; throws
    /// naming the package to install when either folder is missing or empty.
    public init(stampsFolder: String = StampLibrary.stampsFolder, scenesFolder: String = StampLibrary.scenesFolder) throws {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: stampsFolder) else {
            throw SynthError.badOptions("\(stampsFolder): not found; the photos with their own sounds come from Debian's tuxpaint-stamps-default (apt-get install tuxpaint-stamps-default tuxpaint-data)")
        }
        var paths: [String] = []
        while let item = walker.nextObject() as? String {
            guard item.hasSuffix(".png") else { continue }
            let base = String(item.dropLast(4))
            let folder = (base as NSString).deletingLastPathComponent
            if Self.excluded.contains(where: { folder == $0 || folder.hasPrefix($0 + "/") }) || folder.split(separator: "/").contains("cartoon") { continue }
            if fm.fileExists(atPath: (stampsFolder as NSString).appendingPathComponent(base + ".ogg")) { paths.append(base) }
        }
        paths.sort()
        var stamps: [Stamp] = []
        var seen = Set<String>()
        for base in paths {
            let full = (stampsFolder as NSString).appendingPathComponent(base)
            var image = try StillImage.read(path: full + ".png")
            if image.height > Self.largestStamp {
                let w = max(1, Int((Double(image.width) * Double(Self.largestStamp) / Double(image.height)).rounded()))
                image = try StillImage.read(path: full + ".png", geometry: FrameGeometry(resize: .exact(width: w, height: Self.largestStamp)))
            }
            guard let box = Self.opaqueBox(image) else { continue }
            let audio = try SoundFile.read(path: full + ".ogg")
            var sound = audio.mono()
            let keep = min(sound.count, Int(Self.longestSound * Double(audio.sampleRate)))
            if keep < sound.count {
                sound = Array(sound[0..<keep])
                let fade = min(keep, audio.sampleRate / 20)
                for i in 0..<fade { sound[keep - 1 - i] *= Float(i) / Float(fade) }
            }
            let peak = sound.map(abs).max() ?? 0
            guard peak > 1e-4 else { continue }
            sound = sound.map { $0 / peak }
            var name = (base as NSString).lastPathComponent
            if seen.contains(name) { name = base.replacingOccurrences(of: "/", with: "-") }
            seen.insert(name)
            stamps.append(Stamp(name: name, path: base, image: image, opaqueBox: box, sound: sound, soundRate: audio.sampleRate))
        }
        guard !stamps.isEmpty else {
            throw SynthError.badOptions("\(stampsFolder): no picture with its own recording (NAME.png beside NAME.ogg); install Debian's tuxpaint-stamps-default")
        }
        let sceneFiles = ((try? fm.contentsOfDirectory(atPath: scenesFolder)) ?? [])
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !sceneFiles.isEmpty else {
            throw SynthError.badOptions("\(scenesFolder): no scene photos; they come from Debian's tuxpaint-data (apt-get install tuxpaint-data)")
        }
        scenes = try sceneFiles.map { file in
            ((file as NSString).deletingPathExtension,
             try StillImage.read(path: (scenesFolder as NSString).appendingPathComponent(file), geometry: FrameGeometry(resize: .shortSide(288))))
        }
        self.stamps = stamps
    }

    static func opaqueBox(_ image: RGBAImage) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        var (x0, y0, x1, y1) = (image.width, image.height, 0, 0)
        for y in 0..<image.height {
            for x in 0..<image.width where image.pixels[(y * image.width + x) * 4 + 3] >= 128 {
                x0 = min(x0, x); x1 = max(x1, x + 1); y0 = min(y0, y); y1 = max(y1, y + 1)
            }
        }
        return x1 > x0 && y1 > y0 ? (x0, y0, x1, y1) : nil
    }
}

/// Bilinear sample of an RGBA picture at (x, y) in its pixel coordinates (pixel centres at
/// +0.5), clamped at the edges: (r, g, b, a) in 0…255.
@inline(__always)
func sampleBilinear(_ image: RGBAImage, _ x: Double, _ y: Double) -> (Float, Float, Float, Float) {
    let sx = min(max(x - 0.5, 0), Double(image.width - 1)), sy = min(max(y - 0.5, 0), Double(image.height - 1))
    let x0 = Int(sx), y0 = Int(sy)
    let x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
    let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
    func px(_ x: Int, _ y: Int, _ c: Int) -> Float { Float(image.pixels[(y * image.width + x) * 4 + c]) }
    func mix(_ c: Int) -> Float {
        let top = px(x0, y0, c) + (px(x1, y0, c) - px(x0, y0, c)) * fx
        let bottom = px(x0, y1, c) + (px(x1, y1, c) - px(x0, y1, c)) * fx
        return top + (bottom - top) * fy
    }
    return (mix(0), mix(1), mix(2), mix(3))
}
