import TensorCore
import Corpora
import Foundation
import Media

/// `sounding-objects`: 1–3 moving objects on a textured background; exactly one of them
/// sounds. Its class (shape × motion, 8 classes) decides its sound (a set of real
/// recordings with the class's own timbre and rhythm), and it visibly pulses at each of its
/// sound onsets. The others are silent distractors of other classes.
///
/// Nuisances: random backgrounds, object colours, sizes, positions and speeds; camera
/// jitter; sensor noise; H.264 compression at varying quality. On the audio side a class is
/// not one fixed waveform: each video plays one of its class's recordings (several per
/// class), transposed by the video's own pitch (±5 semitones), at gain 0.5–1.0 over an
/// ambient bed or music loop, with up to 2 off-screen sounds (gain 0.25–0.6; other
/// recordings and other classes' sounds). NOTE: one recording per video is what keeps a
/// random audio encoder from already separating the classes (a video's mean feature no
/// longer averages over the class's whole set of recordings, so the probe has to learn
/// every recording at every pitch), while each 0.96 s clip stays as clear as before for a
/// trained encoder; `AudioMix` holds the levels and `corpus.json` records them. Ground
/// truth: the label, the recording(s) and pitch, every object's per-frame box and geometry
/// (masks are rebuilt exactly with `Shape.regular`), the onsets, the audio–video offset (0).
public struct SoundingObjects: Recipe {
    public let name = "sounding-objects"
    public let labelName = "class"
    public let hasAudio = true
    static let shapes = ["circle", "square", "triangle", "star"]
    static let motions = ["bounce", "orbit"]
    public var classes: [String] { Self.shapes.flatMap { s in Self.motions.map { "\(s)-\($0)" } } }

    /// Recordings (sonic-pi-samples, all CC0) of each class: several per class.
    static let classSounds: [[String]] = [
        ["bd_808", "bd_boom", "bd_fat", "drum_heavy_kick", "bd_klub", "bd_haus"],
        ["tabla_na", "tabla_ke1", "tabla_te1", "tabla_ghe1", "tabla_tun1", "tabla_re"],
        ["elec_bell", "elec_chime", "elec_ping", "elec_triangle", "perc_bell"],
        ["drum_snare_hard", "drum_snare_soft", "sn_dolf", "sn_dub", "sn_zome", "elec_snare"],
        ["drum_cymbal_closed", "drum_cymbal_open", "drum_cymbal_hard", "drum_splash_soft", "elec_cymbal"],
        ["guit_harmonics", "guit_e_fifths", "bass_hit_c", "bass_voxy_hit_c", "bass_thick_c"],
        ["elec_blip", "elec_blup", "elec_plip", "elec_twip", "elec_beep", "elec_pop"],
        ["drum_tom_hi_hard", "drum_tom_mid_hard", "drum_tom_lo_hard", "drum_tom_hi_soft", "elec_fuzz_tom"],
    ]
    /// Seconds between onsets of each class (its rhythm).
    static let classPeriods = [0.55, 0.75, 0.45, 0.85, 0.65, 1.0, 0.4, 0.7]
    /// Sound beds: ambiences and music loops (the loops' drums overlap several classes' timbres).
    static let ambient = ["ambi_drone", "ambi_glass_hum", "ambi_haunted_hum", "ambi_soft_buzz", "ambi_lunar_land", "vinyl_hiss",
                          "ambi_choir", "ambi_dark_woosh", "ambi_glass_rub", "ambi_piano", "ambi_sauna", "loop_amen", "loop_breakbeat",
                          "loop_compus", "loop_industrial", "loop_mika", "loop_perc1", "loop_perc2", "loop_safari", "loop_3d_printer"]
    static let offscreen = ["misc_crow", "perc_snap", "perc_swash", "elec_tick", "vinyl_scratch", "perc_till", "perc_door",
                            "perc_impact1", "drum_cowbell", "elec_wood", "glitch_perc1", "mehackit_phone1", "misc_burp"]
    /// How a video's sound track is mixed (recorded in `corpus.json` as `audio_mix`).
    struct AudioMix {
        /// Largest transposition of a video's class sounds, in semitones either way.
        var pitchRange = 5.0
        /// How many of its class's recordings one video plays (each onset picks one of them).
        var recordingsPerVideo = 1
        /// Gain of each class-sound onset.
        var classGain = 0.5...1.0
        /// Gain of the looped ambience or music bed.
        var bedGain = 0.15...0.5
        /// Off-screen sounds per video, and their gain.
        var offscreenCount = 0...2
        var offscreenGain = 0.25...0.6
        /// Whether off-screen sounds include other classes' recordings (else only the `offscreen` list).
        var offscreenIncludesClasses = true

        var metadata: JSONValue {
            func bounds(_ r: ClosedRange<Double>) -> JSONValue { .array([.number(r.lowerBound), .number(r.upperBound)]) }
            return .object(["pitch_range_semitones": .number(pitchRange), "recordings_per_video": .number(Double(recordingsPerVideo)),
                            "class_gain": bounds(classGain), "bed_gain": bounds(bedGain),
                            "offscreen_count": bounds(Double(offscreenCount.lowerBound)...Double(offscreenCount.upperBound)),
                            "offscreen_gain": bounds(offscreenGain), "offscreen_includes_classes": .bool(offscreenIncludesClasses)])
        }
    }
    static let audioMix = AudioMix()

    public init() {}

    public var metadata: [String: JSONValue] {
        ["class_sounds": .object(Dictionary(uniqueKeysWithValues: zip(classes, Self.classSounds).map { ($0, .array($1.map { .string($0) })) })),
         "audio_mix": Self.audioMix.metadata,
         "class_periods_s": .object(Dictionary(uniqueKeysWithValues: zip(classes, Self.classPeriods).map { ($0, .number($1)) }))]
    }

    public func makeVideo(label: Int, format: VideoFormat, rng: inout SeededRandom, sounds: SoundBank) -> SynthesizedVideo {
        let duration = rng.uniform(4, 12)
        let times = format.frameTimes(duration: duration, rng: &rng)
        let (w, h) = (Double(format.width), Double(format.height))
        let scene = Scene(width: format.width, height: format.height, rng: &rng)

        // Objects: the sounding one carries the label; distractors have other classes
        // (none in 60 % of the videos, one in 30 %, two in 10 %).
        let draw = rng.unit()
        let count = draw < 0.6 ? 1 : draw < 0.9 ? 2 : 3
        var objectClasses = [label]
        while objectClasses.count < count {
            let c = rng.int(0...(classes.count - 1))
            if !objectClasses.contains(c) { objectClasses.append(c) }
        }
        let objects: [MovingObject] = objectClasses.map { c in
            MovingObject(kind: Self.shapes[c / 2], motion: Self.motions[c % 2], width: w, height: h, rng: &rng)
        }

        // Onsets of the sounding object: its class's period with jitter.
        let period = Self.classPeriods[label] * rng.uniform(0.9, 1.1)
        var onsets: [Double] = []
        var t = rng.uniform(0.05, period)
        while t < duration - 0.1 {
            onsets.append(t)
            t += period * rng.uniform(0.85, 1.15)
        }

        // Audio: each onset plays the video's class recording (or one of them) at this
        // video's pitch, panned by the object's position.
        let recipe = Self.audioMix
        var mix = Mix(rate: format.audioRate, channels: format.audioChannels, duration: duration)
        let semitones = rng.uniform(-recipe.pitchRange, recipe.pitchRange)
        let classSounds = Self.classSounds[label]
        let recordings = recipe.recordingsPerVideo < classSounds.count
            ? Array(rng.shuffled(classSounds).prefix(recipe.recordingsPerVideo)) : classSounds
        var transposed: [String: [Float]] = [:]
        for onset in onsets {
            let name = rng.choose(recordings)
            if transposed[name] == nil { transposed[name] = transpose(sounds.clip(name), semitones: semitones) }
            let x = objects[0].state(at: onset).cx
            mix.add(transposed[name]!, at: onset, gain: rng.uniform(recipe.classGain), pan: (x / w) * 2 - 1)
        }
        mix.addLooped(sounds.clip(rng.choose(Self.ambient)), gain: rng.uniform(recipe.bedGain), offset: rng.int(0...100_000))
        // Off-screen sounds: other recordings (and, if the recipe says so, other classes'
        // sounds) at any pitch.
        let others = Self.offscreen + (recipe.offscreenIncludesClasses
            ? Self.classSounds.enumerated().filter { $0.offset != label }.flatMap(\.element) : [])
        for _ in 0..<rng.int(recipe.offscreenCount) {
            let clip = transpose(sounds.clip(rng.choose(others)), semitones: rng.uniform(-recipe.pitchRange, recipe.pitchRange))
            mix.add(clip, at: rng.uniform(0, duration - 0.3), gain: rng.uniform(recipe.offscreenGain), pan: rng.uniform(-1, 1))
        }
        mix.addNoise(0.004, rng: &rng)

        // Ground truth per frame: each object's geometry (with the camera offset) and box.
        var perFrame: [JSONValue] = []
        for t in times {
            let offset = scene.cameraOffset(at: t)
            perFrame.append(.array(objects.enumerated().map { k, o in
                let s = o.state(at: t, pulse: k == 0 ? MovingObject.pulse(t, onsets: onsets) : 0)
                let shape = Shape.regular(kind: o.kind, cx: s.cx - offset.x, cy: s.cy - offset.y, radius: s.radius, rotation: s.rotation)
                return .object(["geometry": .array([s.cx - offset.x, s.cy - offset.y, s.radius, s.rotation].map { .number(round2($0)) }),
                                "box": .array(clippedBox(shape.bounds, width: w, height: h).map { .number(round2($0)) })])
            }))
        }
        let frameSeed = rng.next()
        let render: (Int) -> RGBImage = { k in
            let t = times[k]
            var canvas = scene.view(at: t)
            let offset = scene.cameraOffset(at: t)
            // Draw distractors first, the sounding object last (on top).
            for (index, o) in objects.enumerated().reversed() {
                let pulse = index == 0 ? MovingObject.pulse(t, onsets: onsets) : 0
                let s = o.state(at: t, pulse: pulse)
                canvas.fill(Shape.regular(kind: o.kind, cx: s.cx - offset.x, cy: s.cy - offset.y, radius: s.radius, rotation: s.rotation),
                            o.colour.scaled(1 + 0.35 * pulse))
            }
            var frameRNG = SeededRandom(seed: frameSeed, stream: UInt64(k))
            return canvas.image(noise: scene.noise, rng: &frameRNG)
        }
        let objectInfo: [JSONValue] = objects.enumerated().map { k, o in
            .object(["class": .string(classes[objectClasses[k]]), "shape": .string(o.kind), "motion": .string(o.motion),
                     "sounding": .bool(k == 0), "colour": .array([o.colour.r, o.colour.g, o.colour.b].map { .number(round2($0)) })])
        }
        return SynthesizedVideo(
            duration: duration, frameTimes: times, render: render, audio: mix.normalised(), narrations: [],
            labels: ["class": classes[label]],
            annotation: ["label": .string(classes[label]), "objects": .array(objectInfo), "frames": .array(perFrame),
                         "onsets": .array(onsets.map { .number(round3($0)) }), "av_offset": .number(0), "pitch_semitones": .number(round2(semitones)),
                         "recordings": .array(recordings.map { .string($0) }),
                         "mask": .string("per frame and object: Shape.regular(kind: shape, cx, cy, radius, rotation) from 'geometry'; pixel centres inside")])
    }
}

func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

func clippedBox(_ b: [Double], width: Double, height: Double) -> [Double] {
    [max(0, b[0]), max(0, b[1]), min(width, b[2]), min(height, b[3])]
}

/// The textured background of one video, the camera's jitter over it, and its noise level.
struct Scene {
    static let margin = 8
    let width: Int
    let height: Int
    let background: Canvas
    let jitter: (amplitude: Double, f1: Double, f2: Double, p1: Double, p2: Double)
    let noise: Double

    init(width: Int, height: Int, rng: inout SeededRandom) {
        self.width = width
        self.height = height
        background = Canvas.background(width: width + 2 * Self.margin, height: height + 2 * Self.margin, rng: &rng)
        jitter = (rng.uniform(0, 5), rng.uniform(0.3, 1.5), rng.uniform(0.3, 1.5), rng.uniform(0, 6.3), rng.uniform(0, 6.3))
        noise = rng.uniform(2, 8)
    }

    /// The camera's displacement (pixels, within ±margin) at time t.
    func cameraOffset(at t: Double) -> (x: Double, y: Double) {
        (jitter.amplitude * sin(2 * .pi * jitter.f1 * t + jitter.p1), jitter.amplitude * sin(2 * .pi * jitter.f2 * t + jitter.p2))
    }

    /// The background as the camera sees it at time t.
    func view(at t: Double) -> Canvas {
        let o = cameraOffset(at: t)
        return background.window(x: Self.margin + Int(o.x.rounded()), y: Self.margin + Int(o.y.rounded()), width: width, height: height)
    }
}

/// A shape moving along a periodic path, with a colour and size.
struct MovingObject {
    let kind: String
    let motion: String
    let colour: Colour
    let radius: Double
    let centre: (x: Double, y: Double)
    let amplitude: (x: Double, y: Double)
    let angularSpeed: Double
    let phase: Double
    let spin: Double
    let width: Double
    let height: Double

    init(kind: String, motion: String, width: Double, height: Double, rng: inout SeededRandom) {
        self.kind = kind
        self.motion = motion
        self.width = width
        self.height = height
        colour = Colour.hsv(rng.unit(), rng.uniform(0.55, 1), rng.uniform(0.65, 1))
        let m = min(width, height)
        radius = m * rng.uniform(0.15, 0.2)
        centre = (rng.uniform(0.25, 0.75) * width, rng.uniform(0.3, 0.7) * height)
        amplitude = (m * rng.uniform(0.12, 0.25), m * rng.uniform(0.12, 0.22))
        angularSpeed = 2 * .pi / rng.uniform(0.9, 1.8) * (rng.chance(0.5) ? 1 : -1)
        phase = rng.uniform(0, 2 * .pi)
        spin = rng.uniform(-1, 1)
    }

    struct State { var cx: Double, cy: Double, radius: Double, rotation: Double }

    /// Position, size (grown by `pulse`) and rotation at time t, kept inside the frame.
    func state(at t: Double, pulse: Double = 0) -> State {
        var x: Double, y: Double
        let a = angularSpeed * t + phase
        switch motion {
        case "bounce":
            // A ball's hop: |sin| vertically, a slow drift sideways.
            x = centre.x + amplitude.x * 0.5 * sin(a * 0.3)
            y = centre.y + amplitude.y * (0.5 - abs(sin(a * 0.5)))
        default:  // orbit
            x = centre.x + amplitude.x * cos(a)
            y = centre.y + amplitude.y * 0.8 * sin(a)
        }
        let r = radius * (1 + 0.3 * pulse)
        x = min(max(x, r), width - r)
        y = min(max(y, r), height - r)
        return State(cx: x, cy: y, radius: r, rotation: spin * t)
    }

    /// 1 at an onset, decaying over ~0.1 s: how much a sounding object swells and brightens.
    static func pulse(_ t: Double, onsets: [Double]) -> Double {
        var p = 0.0
        for o in onsets where o <= t && t - o < 0.5 { p = max(p, exp(-(t - o) / 0.1)) }
        return p
    }
}
