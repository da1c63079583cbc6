import Corpora
import Foundation
import Media

/// Where the sound comes from in one frame of a synthetic video: what the localisation
/// protocols compare heatmaps with.
public struct LocalizationMoment: Sendable {
    /// Seconds from the start of the file (the frame on screen then).
    public var time: Double
    public var width: Int
    public var height: Int
    /// Pixels of a visible object that sounds at `time`: `[height * width]`.
    public var sounding: [Bool]
    /// Pixels of visible objects that are silent at `time`.
    public var silent: [Bool]
    /// Whether anything visible sounds (false: a negative of SLAVC's extended protocol).
    public var visibleSounding: Bool { sounding.contains(true) }
    /// Whether a silent object is on screen too.
    public var hasDistractor: Bool { silent.contains(true) }
}

/// Ground truth that cannot be read: the file and what is wrong.
public struct GroundTruthError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public init(_ file: String, _ problem: String) { (self.file, self.problem) = (file, problem) }
    public var description: String { "\(file): \(problem)" }
}

/// Reads the localisation ground truth that the synthetic recipes write.
public enum LocalizationTruth {
    /// The moments of one corpus video: `sounding-photos` masks (`masks/ID.png`, bands listed
    /// in the annotation's `moments`), or for `sounding-objects` the sounding object's shape
    /// rebuilt from its per-frame geometry at every second (from 0.5 s, while a clip fits).
    /// Throws naming the file when the annotation is missing or holds neither.
    public static func moments(corpus: Corpus, entry: CorpusEntry) throws -> [LocalizationMoment] {
        guard let relative = entry.annotation else {
            throw GroundTruthError(entry.id, "no annotation file, so no localisation ground truth")
        }
        let path = corpus.resolve(relative)
        guard let data = FileManager.default.contents(atPath: path) else { throw GroundTruthError(path, "cannot read the annotation") }
        let annotation: JSONValue
        do { annotation = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw GroundTruthError(path, "not JSON (\(error))")
        }
        guard case .object(let a) = annotation, case .object(let format)? = a["format"],
              case .number(let w)? = format["width"], case .number(let h)? = format["height"], w >= 1, h >= 1, w * h <= 16_777_216 else {
            throw GroundTruthError(path, "no frame size ('format.width', 'format.height')")
        }
        let (width, height) = (Int(w), Int(h))
        // A sounding-photos video too short for any moment lists none and has no masks.
        if case .array(let list)? = a["moments"], list.isEmpty, a["masks"] == nil { return [] }
        if case .string(let masks)? = a["masks"], case .array(let list)? = a["moments"] {
            let picture = try StillImage.read(path: corpus.resolve(masks))
            guard picture.width == width, picture.height == height * list.count else {
                throw GroundTruthError(corpus.resolve(masks), "\(picture.width)x\(picture.height) is not \(list.count) bands of \(width)x\(height)")
            }
            return try list.enumerated().map { k, m in
                guard case .object(let o) = m, case .number(let t)? = o["time"] else { throw GroundTruthError(path, "moment \(k) has no time") }
                let base = k * width * height * 4
                let pixels = picture.pixels
                return LocalizationMoment(time: t, width: width, height: height,
                                          sounding: (0..<(width * height)).map { pixels[base + $0 * 4] >= 128 },
                                          silent: (0..<(width * height)).map { pixels[base + $0 * 4 + 1] >= 128 })
            }
        }
        guard case .array(let frames)? = a["frames"], case .array(let times)? = a["frame_times"], frames.count == times.count,
              case .array(let objects)? = a["objects"] else {
            throw GroundTruthError(path, "neither masks ('masks', 'moments') nor per-frame geometry ('frames', 'frame_times', 'objects')")
        }
        let kinds: [(shape: String, sounding: Bool)] = try objects.map {
            guard case .object(let o) = $0, case .string(let s)? = o["shape"] else { throw GroundTruthError(path, "an object without a 'shape'") }
            if case .bool(let b)? = o["sounding"] { return (s, b) }
            return (s, false)
        }
        let frameTimes: [Double] = times.map { if case .number(let t) = $0 { return t }; return 0 }
        let duration = entry.duration ?? (frameTimes.last ?? 0)
        var out: [LocalizationMoment] = []
        for t in stride(from: 0.5, through: duration - 0.5, by: 1.0) {
            guard let f = frameTimes.lastIndex(where: { $0 <= t + 1e-9 }), case .array(let shapes) = frames[f] else { continue }
            var sounding = [Bool](repeating: false, count: width * height), silent = sounding
            // Drawn as the recipe draws: distractors first, the sounding object on top.
            for (k, item) in shapes.enumerated().reversed() where k < kinds.count {
                guard case .object(let o) = item, case .array(let g)? = o["geometry"], g.count == 4 else { continue }
                let v = g.map { if case .number(let x) = $0 { return x }; return 0 }
                let shape = Shape.regular(kind: kinds[k].shape, cx: v[0], cy: v[1], radius: v[2], rotation: v[3])
                for (i, m) in shape.mask(width: width, height: height).enumerated() where m != 0 {
                    sounding[i] = kinds[k].sounding
                    silent[i] = !kinds[k].sounding
                }
            }
            out.append(LocalizationMoment(time: t, width: width, height: height, sounding: sounding, silent: silent))
        }
        return out
    }
}
