import Corpora
import Foundation
import Media
import TensorCore

/// `sounding-photos`: real cut-out photos (a dog, a violin, a kettle, a fire truck, …) that move
/// and scale over real scene photos, the sounding one playing its own real recording (Tux
/// Paint's stamps and scenes, `StampLibrary`). For sound-source localisation: the alpha
/// channels give exact per-pixel ground truth.
///
/// Each video has 1–3 objects. Scenes (label `scene`):
/// - `on-screen` (75 %): the labelled object plays its recording at onsets; the others are
///   silent distractors, except that in a fifth of the videos with two or more objects a
///   second one plays its own recording too (several sounding objects);
/// - `off-screen` (12.5 %): the labelled object's recording plays, but the object is not in the
///   picture; what is visible is silent (SLAVC's off-screen negatives);
/// - `silent` (12.5 %): the labelled object is visible and nothing sounds but the bed (SLAVC's
///   silent negatives).
/// Every video has a quiet ambience bed (sonic-pi-samples, CC0, when installed) and noise. The
/// camera pans slowly across a crop of the scene photo.
///
/// Ground truth (the video's annotation JSON): per frame, every object's box and whether it
/// sounds at that time (from the onset to the end of its recording) and whether anything
/// visible sounds; `moments`: the times the localisation protocols evaluate — the middle of the
/// first quarter second of each sound (or every 1.5 s in a silent video) — with masks in
/// `masks/ID.png`, one frame-sized band per moment, top to bottom: red where a sounding object
/// is visible, green where a silent one is, blue = index of the topmost object + 1.
public struct SoundingPhotos: Recipe {
    public let name = "sounding-photos"
    public let labelName = "stamp"
    public let hasAudio = true
    public let library: StampLibrary
    public var classes: [String] { library.stamps.map(\.name) }

    static let beds = ["ambi_drone", "ambi_glass_hum", "ambi_soft_buzz", "ambi_lunar_land", "vinyl_hiss", "ambi_dark_woosh", "ambi_sauna"]

    public init(library: StampLibrary) { self.library = library }

    public var metadata: [String: JSONValue] {
        ["licences": .object(["stamps": .string(StampLibrary.licence), "scenes": .string(StampLibrary.scenesLicence),
                              "beds": .string(SoundBank.licence)]),
         "stamps": .object(Dictionary(uniqueKeysWithValues: library.stamps.map { ($0.name, JSONValue.string($0.path)) })),
         "scenes": .array(library.scenes.map { .string($0.name) }),
         "masks": .string("masks/ID.png: one band per moment (annotation 'moments'), top to bottom; R 255 = a sounding object, G 255 = a silent object, B = topmost object index + 1")]
    }

    /// One object: a stamp moving with a constant velocity (reflected at the frame's edges),
    /// its height swelling and shrinking slowly.
    struct Placed {
        let stamp: Int
        let flip: Bool
        let height: Double
        let start: (x: Double, y: Double)
        let velocity: (x: Double, y: Double)
        let swell: (amplitude: Double, frequency: Double, phase: Double)

        func geometry(at t: Double, aspect: Double, width: Double, height frameHeight: Double) -> (cx: Double, cy: Double, h: Double) {
            let h = height * (1 + swell.amplitude * sin(2 * .pi * swell.frequency * t + swell.phase))
            let halfW = h * aspect / 2, halfH = h / 2
            func fold(_ p: Double, _ lo: Double, _ hi: Double) -> Double {
                guard hi > lo else { return (lo + hi) / 2 }
                let l = hi - lo
                var m = (p - lo).truncatingRemainder(dividingBy: 2 * l)
                if m < 0 { m += 2 * l }
                return lo + (m <= l ? m : 2 * l - m)
            }
            // NOTE: up to a fifth of an object may leave the frame at an edge.
            return (fold(start.x + velocity.x * t, halfW * 0.6, width - halfW * 0.6),
                    fold(start.y + velocity.y * t, halfH * 0.6, frameHeight - halfH * 0.6), h)
        }
    }

    /// A sound of one object (index into the video's objects, or -1 for the off-screen one).
    struct Event { let object: Int; let onset: Double; let length: Double }

    public func makeVideo(label: Int, format: VideoFormat, rng: inout SeededRandom, sounds: SoundBank) -> SynthesizedVideo {
        let library = self.library
        let duration = rng.uniform(4, 10)
        let times = format.frameTimes(duration: duration, rng: &rng)
        let (w, h) = (Double(format.width), Double(format.height))
        let draw = rng.unit()
        let scene = draw < 0.75 ? "on-screen" : draw < 0.875 ? "off-screen" : "silent"

        // Objects: the labelled stamp first (absent off screen), then distractors.
        let count = { let u = rng.unit(); return u < 0.5 ? 1 : u < 0.85 ? 2 : 3 }()
        var chosen = scene == "off-screen" ? [] : [label]
        while chosen.count < count {
            let s = rng.int(0...(library.stamps.count - 1))
            if s != label && !chosen.contains(s) { chosen.append(s) }
        }
        let objects: [Placed] = chosen.map { s in
            let speed = min(w, h) * rng.uniform(0.05, 0.3)
            let angle = rng.uniform(0, 2 * .pi)
            return Placed(stamp: s, flip: rng.chance(0.5), height: h * rng.uniform(0.35, 0.6),
                          start: (rng.uniform(0, w), rng.uniform(0, h)), velocity: (speed * cos(angle), speed * sin(angle)),
                          swell: (rng.uniform(0, 0.15), rng.uniform(0.1, 0.4), rng.uniform(0, 2 * .pi)))
        }
        let order = rng.shuffled(Array(objects.indices))  // drawing order, back to front
        let aspects = objects.map { Double(library.stamps[$0.stamp].image.width) / Double(library.stamps[$0.stamp].image.height) }

        // Which objects sound: the labelled one (on or off screen), maybe a second visible one.
        var sounding: [Int] = []
        if scene == "on-screen" { sounding = [0]; if objects.count >= 2 && rng.chance(0.2) { sounding.append(1) } }
        if scene == "off-screen" { sounding = [-1] }
        var events: [Event] = []
        for k in sounding {
            let stamp = library.stamps[k < 0 ? label : objects[k].stamp]
            let length = Double(stamp.sound.count) / Double(stamp.soundRate)
            var t = rng.uniform(0.1, 1.2)
            while t < duration - 0.3 {
                events.append(Event(object: k, onset: t, length: length))
                t += length + rng.uniform(0.3, 1.5)
            }
        }
        events.sort { $0.onset < $1.onset }

        // Audio: each event plays the stamp's own recording, panned by where the object is.
        var mix = Mix(rate: format.audioRate, channels: format.audioChannels, duration: duration)
        var resampled: [Int: [Float]] = [:]
        for e in events {
            let s = e.object < 0 ? label : objects[e.object].stamp
            if resampled[s] == nil {
                let stamp = library.stamps[s]
                resampled[s] = (try? resample(stamp.sound, from: stamp.soundRate, to: format.audioRate)) ?? stamp.sound
            }
            let pan = e.object < 0 ? rng.uniform(-1, 1)
                : objects[e.object].geometry(at: e.onset, aspect: aspects[e.object], width: w, height: h).cx / w * 2 - 1
            mix.add(resampled[s]!, at: e.onset, gain: rng.uniform(0.5, 1.0), pan: pan * 0.8)
        }
        if sounds.usesRecordings {
            mix.addLooped(sounds.clip(rng.choose(Self.beds)), gain: rng.uniform(0.03, 0.15), offset: rng.int(0...100_000))
        }
        mix.addNoise(0.003, rng: &rng)

        // The camera: a crop of the scene photo with the frame's aspect, panning slowly.
        let photo = library.scenes[rng.int(0...(library.scenes.count - 1))]
        let cropScale = rng.uniform(0.55, 1.0)
        var cropW = Double(photo.image.width) * cropScale, cropH = cropW * h / w
        if cropH > Double(photo.image.height) { cropH = Double(photo.image.height) * cropScale; cropW = cropH * w / h }
        let from = (rng.uniform(0, Double(photo.image.width) - cropW), rng.uniform(0, Double(photo.image.height) - cropH))
        let to = (rng.uniform(0, Double(photo.image.width) - cropW), rng.uniform(0, Double(photo.image.height) - cropH))
        let flipScene = rng.chance(0.5)

        func soundsAt(_ k: Int, _ t: Double) -> Bool { events.contains { $0.object == k && $0.onset <= t && t < $0.onset + $0.length } }

        /// The picture at time t and its object map (0 = scene, k + 1 = object k on top).
        func compose(_ t: Double, objectMap: Bool) -> (RGBImage, [UInt8]) {
            let f = duration > 0 ? t / duration : 0
            let ox = from.0 + (to.0 - from.0) * f, oy = from.1 + (to.1 - from.1) * f
            let sx = cropW / w, sy = cropH / h
            var pixels = [UInt8](repeating: 0, count: format.width * format.height * 3)
            var map = [UInt8](repeating: 0, count: objectMap ? format.width * format.height : 0)
            var rgb = [Float](repeating: 0, count: format.width * format.height * 3)
            for y in 0..<format.height {
                for x in 0..<format.width {
                    let px = flipScene ? w - (Double(x) + 0.5) : Double(x) + 0.5
                    let (r, g, b, _) = sampleBilinear(photo.image, ox + px * sx, oy + (Double(y) + 0.5) * sy)
                    let i = (y * format.width + x) * 3
                    (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b)
                }
            }
            for k in order {
                let o = objects[k]
                let stamp = library.stamps[o.stamp]
                let g = o.geometry(at: t, aspect: aspects[k], width: w, height: h)
                let scale = g.h / Double(stamp.image.height)  // frame pixels per stamp pixel
                let halfW = Double(stamp.image.width) * scale / 2, halfH = g.h / 2
                let xs = max(0, Int((g.cx - halfW).rounded(.down)))...min(format.width - 1, Int((g.cx + halfW).rounded(.up)))
                let ys = max(0, Int((g.cy - halfH).rounded(.down)))...min(format.height - 1, Int((g.cy + halfH).rounded(.up)))
                guard xs.lowerBound <= xs.upperBound, ys.lowerBound <= ys.upperBound else { continue }
                for y in ys {
                    for x in xs {
                        var u = (Double(x) + 0.5 - (g.cx - halfW)) / scale
                        if o.flip { u = Double(stamp.image.width) - u }
                        let v = (Double(y) + 0.5 - (g.cy - halfH)) / scale
                        guard u >= 0, v >= 0, u < Double(stamp.image.width), v < Double(stamp.image.height) else { continue }
                        let (r, gg, b, a) = sampleBilinear(stamp.image, u, v)
                        guard a > 0 else { continue }
                        let alpha = a / 255, i = (y * format.width + x) * 3
                        rgb[i] += (r - rgb[i]) * alpha
                        rgb[i + 1] += (gg - rgb[i + 1]) * alpha
                        rgb[i + 2] += (b - rgb[i + 2]) * alpha
                        if objectMap && a >= 127.5 { map[y * format.width + x] = UInt8(k + 1) }
                    }
                }
            }
            for i in 0..<rgb.count { pixels[i] = UInt8(min(max(rgb[i].rounded(), 0), 255)) }
            return (RGBImage(width: format.width, height: format.height, pixels: pixels), map)
        }

        // Ground truth per frame: boxes from the geometry, and who sounds.
        var perFrame: [JSONValue] = []
        for t in times {
            let entries: [JSONValue] = objects.enumerated().map { k, o in
                let g = o.geometry(at: t, aspect: aspects[k], width: w, height: h)
                let stamp = library.stamps[o.stamp]
                let scale = g.h / Double(stamp.image.height)
                let left = g.cx - Double(stamp.image.width) * scale / 2, top = g.cy - g.h / 2
                let b = stamp.opaqueBox
                let (bx0, bx1) = o.flip ? (stamp.image.width - b.x1, stamp.image.width - b.x0) : (b.x0, b.x1)
                let box = clippedBox([left + Double(bx0) * scale, top + Double(b.y0) * scale, left + Double(bx1) * scale, top + Double(b.y1) * scale],
                                     width: w, height: h)
                return .object(["box": .array(box.map { .number(round2($0)) }), "sounding": .bool(soundsAt(k, t))])
            }
            perFrame.append(.object(["objects": .array(entries),
                                     "visible_sounding": .bool(objects.indices.contains { soundsAt($0, t) })]))
        }

        // Moments: early in each sound (or every 1.5 s in a silent video), where a clip fits.
        var momentTimes = events.map { $0.onset + min(0.25, $0.length / 2) }
        if events.isEmpty { momentTimes = Array(stride(from: 0.75, to: duration, by: 1.5)) }
        momentTimes = momentTimes.filter { $0 >= 0.5 && $0 <= duration - 0.5 }
        var masks: [UInt8] = []
        var moments: [JSONValue] = []
        for t in momentTimes {
            let frame = max(0, (times.lastIndex { $0 <= t + 1e-9 }) ?? 0)
            let (_, map) = compose(times[frame], objectMap: true)
            var band = [UInt8](repeating: 0, count: format.width * format.height * 3)
            var anyVisible = false
            for (i, m) in map.enumerated() where m > 0 {
                let k = Int(m) - 1
                let s = soundsAt(k, t)
                anyVisible = anyVisible || s
                band[i * 3] = s ? 255 : 0
                band[i * 3 + 1] = s ? 0 : 255
                band[i * 3 + 2] = m
            }
            masks += band
            moments.append(.object(["time": .number(round3(t)), "frame": .number(Double(frame)), "visible_sounding": .bool(anyVisible),
                                    "sounding_objects": .array(objects.indices.filter { soundsAt($0, t) }.map { .number(Double($0)) })]))
        }

        let objectInfo: [JSONValue] = objects.enumerated().map { k, o in
            let stamp = library.stamps[o.stamp]
            return .object(["stamp": .string(stamp.name), "picture": .string(stamp.path + ".png"), "recording": .string(stamp.path + ".ogg"),
                            "sounds": .bool(sounding.contains(k)), "flipped": .bool(o.flip)])
        }
        var annotation: [String: JSONValue] = [
            "label": .string(library.stamps[label].name), "scene": .string(scene), "objects": .array(objectInfo),
            "frames": .array(perFrame), "moments": .array(moments), "background": .string(photo.name),
            "events": .array(events.map { .object(["object": .number(Double($0.object)), "onset": .number(round3($0.onset)),
                                                   "length": .number(round3($0.length))]) }),
            "av_offset": .number(0)]
        if scene == "off-screen" { annotation["offscreen_recording"] = .string(library.stamps[label].path + ".ogg") }
        return SynthesizedVideo(
            duration: duration, frameTimes: times, render: { compose(times[$0], objectMap: false).0 }, audio: mix.normalised(),
            narrations: [], labels: ["stamp": library.stamps[label].name, "scene": scene], annotation: annotation,
            masks: momentTimes.isEmpty ? nil : RGBImage(width: format.width, height: format.height * momentTimes.count, pixels: masks),
            provenance: "pictures and recordings: \(StampLibrary.licence); scene \(photo.name): \(StampLibrary.scenesLicence)"
                + (sounds.usesRecordings ? "; ambience: \(SoundBank.licence)" : ""))
    }
}
