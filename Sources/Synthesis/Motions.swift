import TensorCore
import Corpora
import Foundation
import Media

/// `motions`: video-only clips whose classes differ only in their motion, in pairs that are
/// each other's time reversal (grow/shrink, rise/fall, clockwise/anticlockwise rotation,
/// brighten/darken), so that only a model that sees the order of frames can tell them apart.
///
/// The motion repeats in cycles of 1.2–3 s, so every clip of a video shows it. Nuisances:
/// the object's shape and colour (not tied to the class), its size and position, static
/// distractor shapes, textured backgrounds, camera jitter, sensor noise, compression.
public struct Motions: Recipe {
    public let name = "motions"
    public let labelName = "class"
    public let hasAudio = false
    public var classes: [String] { ["grow", "shrink", "rise", "fall", "rotate-cw", "rotate-ccw", "brighten", "darken"] }
    static let shapes = ["square", "triangle", "star", "diamond", "hexagon"]

    public init() {}

    public var metadata: [String: JSONValue] {
        ["time_reversal_pairs": .array([["grow", "shrink"], ["rise", "fall"], ["rotate-cw", "rotate-ccw"], ["brighten", "darken"]]
            .map { .array($0.map { .string($0) }) })]
    }

    public func makeVideo(label: Int, format: VideoFormat, rng: inout SeededRandom, sounds: SoundBank) -> SynthesizedVideo {
        let duration = rng.uniform(4, 10)
        let times = format.frameTimes(duration: duration, rng: &rng)
        let (w, h) = (Double(format.width), Double(format.height))
        let scene = Scene(width: format.width, height: format.height, rng: &rng)
        let kind = rng.choose(Self.shapes)
        let colour = Colour.hsv(rng.unit(), rng.uniform(0.5, 1), rng.uniform(0.6, 1))
        let m = min(w, h)
        let base = (x: rng.uniform(0.3, 0.7) * w, y: rng.uniform(0.35, 0.65) * h, r: m * rng.uniform(0.1, 0.16))
        let cycle = rng.uniform(1.2, 3)
        let phase = rng.unit()
        let travel = m * rng.uniform(0.25, 0.4)
        let startAngle = rng.uniform(0, 2 * .pi)
        let distractors: [(Shape, Colour)] = (0..<rng.int(0...2)).map { _ in
            (Shape.regular(kind: rng.choose(Self.shapes + ["circle"]), cx: rng.uniform(0.1, 0.9) * w, cy: rng.uniform(0.1, 0.9) * h,
                           radius: m * rng.uniform(0.05, 0.1), rotation: rng.uniform(0, 6)),
             Colour.hsv(rng.unit(), rng.uniform(0.3, 1), rng.uniform(0.5, 1)))
        }
        let className = classes[label]

        /// Progress u in [0, 1) through the current cycle; the class decides what it does.
        func state(_ t: Double) -> (cx: Double, cy: Double, r: Double, rotation: Double, brightness: Double) {
            let u = (t / cycle + phase).truncatingRemainder(dividingBy: 1)
            var s = (cx: base.x, cy: base.y, r: base.r, rotation: startAngle, brightness: 1.0)
            switch className {
            case "grow": s.r = base.r * (0.5 + 1.1 * u)
            case "shrink": s.r = base.r * (1.6 - 1.1 * u)
            case "rise": s.cy = base.y + travel * (0.5 - u)
            case "fall": s.cy = base.y + travel * (u - 0.5)
            case "rotate-cw": s.rotation = startAngle + 2 * .pi * u * 0.5
            case "rotate-ccw": s.rotation = startAngle - 2 * .pi * u * 0.5
            case "brighten": s.brightness = 0.35 + 0.9 * u
            default: s.brightness = 1.25 - 0.9 * u  // darken
            }
            s.cy = min(max(s.cy, s.r), h - s.r)
            return s
        }

        var perFrame: [JSONValue] = []
        for t in times {
            let o = scene.cameraOffset(at: t)
            let s = state(t)
            let shape = Shape.regular(kind: kind, cx: s.cx - o.x, cy: s.cy - o.y, radius: s.r, rotation: s.rotation)
            perFrame.append(.object(["box": .array(clippedBox(shape.bounds, width: w, height: h).map { .number(round2($0)) }),
                                     "phase": .number(round3((t / cycle + phase).truncatingRemainder(dividingBy: 1)))]))
        }
        let frameSeed = rng.next()
        let render: (Int) -> RGBImage = { k in
            let t = times[k]
            var canvas = scene.view(at: t)
            let o = scene.cameraOffset(at: t)
            for (shape, c) in distractors { canvas.fill(shape, c) }
            let s = state(t)
            canvas.fill(Shape.regular(kind: kind, cx: s.cx - o.x, cy: s.cy - o.y, radius: s.r, rotation: s.rotation), colour.scaled(s.brightness))
            var frameRNG = SeededRandom(seed: frameSeed, stream: UInt64(k))
            return canvas.image(noise: scene.noise, rng: &frameRNG)
        }
        return SynthesizedVideo(
            duration: duration, frameTimes: times, render: render, audio: nil, narrations: [],
            labels: ["class": className],
            annotation: ["label": .string(className), "shape": .string(kind), "cycle_s": .number(round3(cycle)), "frames": .array(perFrame)])
    }
}
