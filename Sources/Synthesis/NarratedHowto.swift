import TensorCore
import Corpora
import Foundation
import Media

/// `narrated-howto`: videos of a task made of 3–6 steps from a vocabulary of 10; each step is
/// a visible action (its own object, colour and motion) with its own sound (real
/// recordings in the step's rhythm). Narrations describe the steps in varied words, are out
/// of step with them by up to ±3 s, sometimes skip a step, and include unrelated lines
/// ("welcome back", "subscribe") — as real instructional narrations do.
///
/// Ground truth: the task, every step's span and canonical text, the per-frame step phase,
/// and the canonical step texts that serve as retrieval queries.
public struct NarratedHowto: Recipe {
    public let name: String
    public let labelName = "task"
    public let hasAudio = true
    /// How long one step lasts, in seconds.
    public let stepSeconds: ClosedRange<Double>
    /// How many narration lines describe one step (each is skipped with probability 0.1).
    public let linesPerStep: ClosedRange<Int>
    /// How many unrelated lines a video has.
    public let chatterLines: ClosedRange<Int>
    /// The longest a video may be, in seconds.
    public let maximumDuration: Double

    struct Step {
        let verb: String
        let object: String
        let glyph: String
        let hue: Double
        let sounds: [String]
        let period: Double
        var text: String { "\(verb) \(object)" }
    }

    static let steps: [Step] = [
        Step(verb: "pour", object: "the water", glyph: "pour", hue: 0.58, sounds: ["ambi_swoosh", "perc_swash", "ambi_dark_woosh"], period: 0.9),
        Step(verb: "stir", object: "the mixture", glyph: "stir", hue: 0.08, sounds: ["elec_ping", "elec_tick", "perc_till"], period: 0.35),
        Step(verb: "chop", object: "the vegetables", glyph: "chop", hue: 0.33, sounds: ["elec_wood", "tabla_tas1", "tabla_tas2", "tabla_tas3"], period: 0.3),
        Step(verb: "shake", object: "the jar", glyph: "shake", hue: 0.15, sounds: ["drum_cymbal_pedal", "drum_cymbal_closed", "elec_cymbal"], period: 0.25),
        Step(verb: "hammer", object: "the nail", glyph: "hammer", hue: 0.0, sounds: ["drum_tom_lo_hard", "bd_tek", "elec_hollow_kick"], period: 0.6),
        Step(verb: "ring", object: "the bell", glyph: "ring", hue: 0.13, sounds: ["perc_bell", "elec_bell", "elec_chime"], period: 0.8),
        Step(verb: "roll", object: "the dough", glyph: "roll", hue: 0.09, sounds: ["ambi_glass_rub", "elec_flip", "vinyl_backspin"], period: 1.0),
        Step(verb: "press", object: "the button", glyph: "press", hue: 0.83, sounds: ["elec_beep", "elec_blip2", "elec_twang"], period: 0.7),
        Step(verb: "spin", object: "the wheel", glyph: "spin", hue: 0.72, sounds: ["vinyl_rewind", "elec_twip", "vinyl_scratch"], period: 0.9),
        Step(verb: "wipe", object: "the table", glyph: "wipe", hue: 0.47, sounds: ["drum_snare_soft", "sn_zome", "elec_filt_snare"], period: 0.5),
    ]

    /// Tasks as sequences of step indices.
    static let tasks: [(name: String, steps: [Int])] = [
        ("make soup", [2, 0, 1, 5]),
        ("bake bread", [0, 1, 6, 7, 5]),
        ("build a shelf", [9, 4, 8]),
        ("mix a drink", [0, 3, 1]),
        ("repair a bike", [9, 8, 4, 7, 6, 5]),
    ]

    static let templates = ["now {s}", "next we {s}", "{s} like this", "okay, time to {s}", "let's {s} now",
                            "you want to {s} carefully", "then just {s}", "I always {s} at this point", "and {s}"]
    static let chatter = ["welcome back to the channel", "don't forget to subscribe", "let me know in the comments",
                          "this is my favourite part", "thanks for watching", "I got this at the store last week"]

    /// The default corpus: short videos (steps of 1.8–3.4 s, 4–20 s in all), one line per step.
    public init() {
        name = "narrated-howto"
        stepSeconds = 1.8...3.4
        linesPerStep = 1...1
        chatterLines = 1...2
        maximumDuration = 20
    }

    /// `narrated-howto-long`: the same tasks performed slowly (steps of 5–9 s, about 18–60 s in all),
    /// each step narrated by 1–3 lines spread over it (each misaligned by up to ±3 s), and 2–4
    /// unrelated lines: narration is dense, so the lines near a clip are about its step and its
    /// neighbours rather than the whole task — closer to HowTo100M's minutes-long videos.
    public static var long: NarratedHowto {
        NarratedHowto(name: "narrated-howto-long", stepSeconds: 5...9, linesPerStep: 1...3, chatterLines: 2...4, maximumDuration: 60)
    }

    init(name: String, stepSeconds: ClosedRange<Double>, linesPerStep: ClosedRange<Int>, chatterLines: ClosedRange<Int>, maximumDuration: Double) {
        self.name = name
        self.stepSeconds = stepSeconds
        self.linesPerStep = linesPerStep
        self.chatterLines = chatterLines
        self.maximumDuration = maximumDuration
    }

    public var classes: [String] { Self.tasks.map(\.name) }

    public var metadata: [String: JSONValue] {
        ["step_texts": .array(Self.steps.map { .string($0.text) }),
         "tasks": .object(Dictionary(uniqueKeysWithValues: Self.tasks.map { ($0.name, .array($0.steps.map { .string(Self.steps[$0].text) })) }))]
    }

    public func makeVideo(label: Int, format: VideoFormat, rng: inout SeededRandom, sounds: SoundBank) -> SynthesizedVideo {
        let task = Self.tasks[label]
        let (w, h) = (Double(format.width), Double(format.height))
        let m = min(w, h)
        // Step spans.
        var spans: [(step: Int, start: Double, end: Double)] = []
        var t = rng.uniform(0.4, 1.2)
        for s in task.steps {
            let d = rng.uniform(stepSeconds.lowerBound, stepSeconds.upperBound)
            spans.append((s, t, t + d))
            t += d + rng.uniform(0.2, 0.6)
        }
        let duration = min(maximumDuration, max(4, t + rng.uniform(0.3, 0.8)))
        let times = format.frameTimes(duration: duration, rng: &rng)
        let scene = Scene(width: format.width, height: format.height, rng: &rng)
        let table = (y: h * rng.uniform(0.68, 0.8), colour: Colour.hsv(rng.uniform(0.05, 0.12), rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.6)))
        let place = (x: w * rng.uniform(0.35, 0.65), y: h * rng.uniform(0.4, 0.55))
        let hueJitter = spans.map { _ in rng.uniform(-0.03, 0.03) }

        // Audio: each step's sounds in its rhythm, a room tone and noise.
        var mix = Mix(rate: format.audioRate, channels: format.audioChannels, duration: duration)
        for span in spans {
            let step = Self.steps[span.step]
            var s = span.start + rng.uniform(0, 0.15)
            while s < span.end - 0.1 {
                mix.add(sounds.clip(rng.choose(step.sounds)), at: s, gain: rng.uniform(0.45, 0.9), pan: rng.uniform(-0.3, 0.3))
                s += step.period * rng.uniform(0.85, 1.15)
            }
        }
        mix.addLooped(sounds.clip(rng.choose(["ambi_drone", "ambi_soft_buzz", "vinyl_hiss"])), gain: rng.uniform(0.03, 0.08),
                      offset: rng.int(0...10000))
        mix.addNoise(0.003, rng: &rng)

        // Narrations: misaligned step descriptions, some skipped, plus unrelated chatter.
        var lines: [SubtitleSegment] = []
        for span in spans {
            // Line j of n is about the centre of the j-th n-th of the step, misaligned by up to ±3 s.
            // NOTE: a fixed count draws nothing, so the default recipe's corpora stay byte-identical.
            let count = linesPerStep.count == 1 ? linesPerStep.lowerBound : rng.int(linesPerStep)
            for j in 0..<count where rng.chance(0.9) {
                let text = rng.choose(Self.templates).replacingOccurrences(of: "{s}", with: Self.steps[span.step].text)
                let centre = span.start + (span.end - span.start) * (Double(j) + 0.5) / Double(count) + rng.uniform(-3, 3)
                let length = rng.uniform(1.2, 2.2)
                let start = min(max(0, centre - length / 2), duration - length)
                lines.append(SubtitleSegment(start: round3(max(0, start)), end: round3(min(duration, max(0, start) + length)), text: text))
            }
        }
        for _ in 0..<rng.int(chatterLines) {
            let start = rng.uniform(0, max(0.1, duration - 1.5))
            lines.append(SubtitleSegment(start: round3(start), end: round3(min(duration, start + rng.uniform(1, 1.8))), text: rng.choose(Self.chatter)))
        }
        lines.sort { $0.start < $1.start }
        var narrations: [SubtitleSegment] = []
        for var line in lines {
            if let last = narrations.last, line.start < last.end + 0.05 { line.start = round3(last.end + 0.05) }
            if line.end - line.start >= 0.5 { narrations.append(line) }
        }

        // Ground truth: the step phase of every frame (-1 between steps).
        let phases: [JSONValue] = times.map { t in
            .number(Double(spans.firstIndex { t >= $0.start && t < $0.end } ?? -1))
        }
        let frameSeed = rng.next()
        let render: (Int) -> RGBImage = { k in
            let t = times[k]
            var canvas = scene.view(at: t)
            let o = scene.cameraOffset(at: t)
            canvas.fill(Shape.rectangle(cx: w / 2 - o.x, cy: (table.y + h) / 2 - o.y, width: w * 1.2, height: h - table.y, rotation: 0), table.colour)
            if let i = spans.firstIndex(where: { t >= $0.start && t < $0.end }) {
                let step = Self.steps[spans[i].step]
                let colour = Colour.hsv(fmod(step.hue + hueJitter[i] + 1, 1), 0.8, 0.95)
                Self.draw(step.glyph, u: t - spans[i].start, at: (place.x - o.x, place.y - o.y), size: m * 0.14, colour: colour, on: &canvas)
            }
            var frameRNG = SeededRandom(seed: frameSeed, stream: UInt64(k))
            return canvas.image(noise: scene.noise, rng: &frameRNG)
        }
        let stepInfo: [JSONValue] = spans.map {
            .object(["step": .string(Self.steps[$0.step].text), "start": .number(round3($0.start)), "end": .number(round3($0.end))])
        }
        return SynthesizedVideo(
            duration: duration, frameTimes: times, render: render, audio: mix.normalised(), narrations: narrations,
            labels: ["task": task.name],
            annotation: ["task": .string(task.name), "steps": .array(stepInfo), "frame_phases": .array(phases),
                         "canonical_step_texts": .array(task.steps.map { .string(Self.steps[$0].text) })])
    }

    /// Draws one step's action `u` seconds after it began.
    static func draw(_ glyph: String, u: Double, at p: (Double, Double), size r: Double, colour: Colour, on canvas: inout Canvas) {
        let (x, y) = p
        switch glyph {
        case "pour":  // a tilted jug and a falling stream of drops
            canvas.fill(.rectangle(cx: x - r, cy: y - r, width: r * 1.2, height: r * 1.8, rotation: 0.9), colour)
            for d in 0..<5 {
                let fall = (u * 2.5 + Double(d) * 0.2).truncatingRemainder(dividingBy: 1)
                canvas.fill(.circle(cx: x - r * 0.2, cy: y - r * 0.4 + fall * r * 2.5, radius: r * 0.15), Colour(120, 170, 255))
            }
        case "stir":  // a bowl and a spoon circling fast inside it
            canvas.fill(.circle(cx: x, cy: y + r * 0.6, radius: r * 1.2), colour.scaled(0.6))
            let a = u * 2 * .pi * 2.8
            canvas.fill(.rectangle(cx: x + r * 0.6 * cos(a), cy: y + r * 0.3 * sin(a), width: r * 0.25, height: r * 1.6, rotation: 0.3), colour)
        case "chop":  // a knife going up and down quickly over a board
            canvas.fill(.rectangle(cx: x, cy: y + r * 1.1, width: r * 3, height: r * 0.4, rotation: 0), colour.scaled(0.5))
            canvas.fill(.rectangle(cx: x, cy: y - r * 0.4 * abs(sin(u * .pi / 0.3)), width: r * 1.8, height: r * 0.35, rotation: 0), colour)
        case "shake":  // a jar moving side to side fast
            canvas.fill(.rectangle(cx: x + r * 0.8 * sin(u * 2 * .pi / 0.25), cy: y, width: r, height: r * 1.6, rotation: 0), colour)
        case "hammer":  // a hammer swinging about its handle's end
            let a = -0.9 + 0.9 * abs(sin(u * .pi / 0.6))
            let hx = x + r * 1.4 * cos(a - .pi / 2), hy = y + r * 1.4 * sin(a - .pi / 2)
            canvas.fill(.rectangle(cx: (x + hx) / 2, cy: (y + hy) / 2, width: r * 0.25, height: r * 1.4, rotation: a), colour.scaled(0.7))
            canvas.fill(.rectangle(cx: hx, cy: hy, width: r * 1.0, height: r * 0.5, rotation: a), colour)
        case "ring":  // a bell swinging like a pendulum
            let a = 0.5 * sin(u * 2 * .pi / 0.8)
            canvas.fill(Shape.regular(kind: "triangle", cx: x + r * sin(a), cy: y, radius: r, rotation: a), colour)
        case "roll":  // a ball of dough rolling left and right
            canvas.fill(.circle(cx: x + r * 1.5 * sin(u * 2 * .pi / 2.0), cy: y + r * 0.5, radius: r * 0.8), colour)
        case "press":  // a button squashed and released
            let squash = 0.4 + 0.6 * abs(cos(u * .pi / 0.7))
            canvas.fill(.rectangle(cx: x, cy: y + r * (1 - squash) * 0.5, width: r * 1.6, height: r * squash, rotation: 0), colour)
        case "spin":  // a wheel (star) spinning
            canvas.fill(Shape.regular(kind: "star", cx: x, cy: y, radius: r, rotation: u * 2 * .pi * 1.1), colour)
        default:  // wipe: a cloth sliding across the table
            canvas.fill(.rectangle(cx: x + r * 1.8 * sin(u * 2 * .pi / 1.0), cy: y + r, width: r * 1.4, height: r * 0.4, rotation: 0), colour)
        }
    }
}
