import Corpora
import Foundation
import Media
import TensorCore

/// What a recipe makes for one video.
public struct SynthesizedVideo {
    public var duration: Double
    /// The frames, one per entry of `frameTimes`.
    public var frameTimes: [Double]
    public var render: (Int) -> RGBImage
    /// Interleaved samples at the format's rate and channel count, or nil for a silent video.
    public var audio: [Float]?
    public var narrations: [SubtitleSegment]
    public var labels: [String: String]
    /// Ground truth, written as the video's annotation JSON.
    public var annotation: [String: JSONValue]
    /// Ground-truth masks, written as `masks/ID.png` (named in the annotation as `masks`).
    public var masks: RGBImage? = nil
    /// Where the video's pictures and sounds come from, with their licences (the manifest's
    /// `sound_source`; the sound bank's provenance when nil).
    public var provenance: String? = nil
}

/// A synthetic corpus recipe (`docs/methods.md`, "Synthetic corpora").
public protocol Recipe {
    /// The recipe's name on the command line.
    var name: String { get }
    /// The label the corpus is stratified by, and its classes.
    var labelName: String { get }
    var classes: [String] { get }
    var hasAudio: Bool { get }
    /// Recipe-level metadata for `corpus.json` (class definitions, step texts, …).
    var metadata: [String: JSONValue] { get }
    func makeVideo(label: Int, format: VideoFormat, rng: inout SeededRandom, sounds: SoundBank) -> SynthesizedVideo
}

/// Options of `concord synth`.
public struct SynthOptions: Sendable {
    public var videos: Int
    public var seed: UInt64
    /// Speak the narrations into the audio track with espeak-ng.
    public var speak = false
    /// Use the real recordings when installed (false forces the synthesised fallback).
    public var useRecordings = true
    public var soundFolder = SoundBank.sonicPiFolder
    /// Shares of the videos in the test and val splits (per class, the rest train).
    public var testShare = 0.2
    public var valShare = 0.1

    public init(videos: Int, seed: UInt64) {
        self.videos = videos
        self.seed = seed
    }
}

public enum SynthError: Error, CustomStringConvertible {
    case unknownRecipe(String)
    case badOptions(String)
    case speechUnavailable(String)

    public var description: String {
        switch self {
        case .unknownRecipe(let r): return "unknown recipe '\(r)' (known: \(Synthesizer.recipeNames.joined(separator: ", ")))"
        case .badOptions(let s): return s
        case .speechUnavailable(let s): return "cannot speak the narrations: \(s)"
        }
    }
}

/// Writes a synthetic corpus folder: `manifest.jsonl`, `corpus.json`, `videos/*.mp4` (H.264 +
/// AAC + a mov_text narration stream), `narrations/*.srt`, `annotations/*.json`.
public enum Synthesizer {
    public static let recipeNames = ["sounding-objects", "sounding-photos", "narrated-howto", "narrated-howto-long", "motions"]

    public static func recipe(named name: String) throws -> Recipe {
        switch name {
        case "sounding-objects": return SoundingObjects()
        case "sounding-photos": return SoundingPhotos(library: try StampLibrary())
        case "narrated-howto": return NarratedHowto()
        case "narrated-howto-long": return NarratedHowto.long
        case "motions": return Motions()
        default: throw SynthError.unknownRecipe(name)
        }
    }

    /// Writes the corpus into `folder` (created if needed); returns its entries.
    /// `progress(done, total)` is called after each video (from one thread at a time).
    ///
    /// Videos are made on every core of the thread budget (each video's content depends only on
    /// the seed and its index, so the corpus is the same for any thread count); with `speak`,
    /// on one.
    @discardableResult
    public static func run(_ recipe: Recipe, options: SynthOptions, folder: String,
                           progress: ((Int, Int) -> Void)? = nil) throws -> [CorpusEntry] {
        guard options.videos > 0 else { throw SynthError.badOptions("--videos must be at least 1") }
        let fm = FileManager.default
        for sub in ["videos", "narrations", "annotations"] {
            try fm.createDirectory(atPath: (folder as NSString).appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let speech = options.speak ? try Speech() : nil
        guard options.testShare >= 0, options.valShare >= 0, options.testShare + options.valShare < 1 else {
            throw SynthError.badOptions("test share \(options.testShare) and val share \(options.valShare): each at least 0, together below 1")
        }
        let splits = stratifiedSplits(count: options.videos, classes: recipe.classes.count, seed: options.seed,
                                      testShare: options.testShare, valShare: options.valShare)
        let workers = speech == nil ? max(1, min(Threads.count, options.videos)) : 1
        let results = SynthResults(count: options.videos, progress: progress)
        let job = SynthJob(recipe: recipe, options: options, folder: folder, splits: splits, speech: speech)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            // Each worker has its own sound banks (their caches are not shared between threads).
            var banks: [Int: SoundBank] = [:]
            for i in stride(from: w, to: options.videos, by: workers) where !results.failed {
                results.store(i, Result { try job.makeEntry(i, banks: &banks) })
            }
        }
        let entries = try results.entries()
        var meta = recipe.metadata
        meta["recipe"] = .string(recipe.name)
        meta["seed"] = .number(Double(options.seed))
        meta["videos"] = .number(Double(options.videos))
        meta["generator"] = .string("concord synth \(recipe.name) --videos \(options.videos) --seed \(options.seed)" + (options.speak ? " --speak" : "")
                                      + (options.testShare != 0.2 ? " --test-share \(options.testShare)" : "")
                                      + (options.valShare != 0.1 ? " --val-share \(options.valShare)" : ""))
        meta["label"] = .string(recipe.labelName)
        meta["classes"] = .array(recipe.classes.map { .string($0) })
        if recipe.hasAudio {
            let bank = SoundBank(rate: 16000, folder: options.soundFolder, allowRecordings: options.useRecordings)
            meta["sound_source"] = .string(bank.provenance)
        }
        if options.speak { meta["speech"] = .string("espeak-ng (GPL-3+), narrations spoken into the audio track") }
        try writeJSON(meta, to: (folder as NSString).appendingPathComponent("corpus.json"))
        try writeAtomically(Manifest.encode(entries), to: (folder as NSString).appendingPathComponent(Manifest.fileName))
        return entries
    }

    /// Splits stratified by class: about 70 % train, 10 % val, 20 % test overall. Each class
    /// first gets its whole share (floor of 20 % and 10 % of its videos); the rest of each
    /// target goes one video at a time to randomly ordered classes that keep a training video.
    public static func stratifiedSplits(count: Int, classes: Int, seed: UInt64, testShare: Double = 0.2, valShare: Double = 0.1) -> [String] {
        var rng = SeededRandom(seed: seed, stream: 0xC1A55)
        let members = (0..<classes).map { c in rng.shuffled(Array(stride(from: c, to: count, by: classes))) }
        var test = members.map { Int(Double($0.count) * testShare) }
        var val = members.map { Int(Double($0.count) * valShare) }
        func topUp(_ share: inout [Int], target: Int, other: [Int]) {
            var missing = target - share.reduce(0, +)
            for c in rng.shuffled(Array(0..<classes)) where missing > 0 && members[c].count - share[c] - other[c] >= 2 {
                share[c] += 1
                missing -= 1
            }
        }
        topUp(&test, target: Int((Double(count) * testShare).rounded()), other: val)
        topUp(&val, target: Int((Double(count) * valShare).rounded()), other: test)
        var splits = [String](repeating: "train", count: count)
        for c in 0..<classes {
            for (k, i) in members[c].enumerated() {
                splits[i] = k < test[c] ? "test" : (k < test[c] + val[c] ? "val" : "train")
            }
        }
        return splits
    }

    static func write(_ video: SynthesizedVideo, format: VideoFormat, to path: String) throws {
        let vSettings = VideoTrackSettings(width: format.width, height: format.height, frameRate: format.frameRate,
                                           options: ["preset": "veryfast", "crf": String(format.crf), "threads": "1"])
        let aSettings = video.audio == nil ? nil
            : AudioTrackSettings(sampleRate: format.audioRate, channels: format.audioChannels, bitRate: 48_000 * format.audioChannels)
        let writer = try MediaWriter(path: path, video: vSettings, audio: aSettings, subtitles: !video.narrations.isEmpty)
        var nextSubtitle = 0
        var audioWritten = 0
        let channels = format.audioChannels
        for (k, t) in video.frameTimes.enumerated() {
            while nextSubtitle < video.narrations.count && video.narrations[nextSubtitle].start <= t {
                try writer.addSubtitle(video.narrations[nextSubtitle]); nextSubtitle += 1
            }
            try writer.addVideoFrame(video.render(k), time: t)
            if let audio = video.audio {
                let until = k + 1 < video.frameTimes.count ? video.frameTimes[k + 1] : video.duration
                let end = min(audio.count / channels, Int(until * Double(format.audioRate)))
                if end > audioWritten {
                    try writer.addAudio(Array(audio[(audioWritten * channels)..<(end * channels)]))
                    audioWritten = end
                }
            }
        }
        while nextSubtitle < video.narrations.count { try writer.addSubtitle(video.narrations[nextSubtitle]); nextSubtitle += 1 }
        if let audio = video.audio, audioWritten * channels < audio.count {
            try writer.addAudio(Array(audio[(audioWritten * channels)...]))
        }
        try writer.finish()
    }

    static func writeText(_ text: String, to path: String) throws {
        try writeAtomically(Data(text.utf8), to: path)
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(encoder.encode(value), to: path)
    }

    static func jsonValue<T: Encodable>(_ value: T) -> JSONValue {
        let data = try! JSONEncoder().encode(value)
        return try! JSONDecoder().decode(JSONValue.self, from: data)
    }
}

/// The fixed inputs of one `Synthesizer.run`, shared by its workers.
private struct SynthJob: @unchecked Sendable {
    let recipe: Recipe
    let options: SynthOptions
    let folder: String
    let splits: [String]
    let speech: Speech?

    /// Makes and writes video `i` (media, narration, annotation) and returns its manifest entry.
    func makeEntry(_ i: Int, banks: inout [Int: SoundBank]) throws -> CorpusEntry {
        var rng = SeededRandom(seed: options.seed, stream: UInt64(i))
        let format = VideoFormat.random(&rng)
        let bank = banks[format.audioRate] ?? SoundBank(rate: format.audioRate, folder: options.soundFolder,
                                                        allowRecordings: options.useRecordings)
        banks[format.audioRate] = bank
        let label = i % recipe.classes.count
        var video = recipe.makeVideo(label: label, format: format, rng: &rng, sounds: bank)
        if let speech, var audio = video.audio {
            try speech.mix(video.narrations, into: &audio, rate: format.audioRate, channels: format.audioChannels)
            video.audio = audio
        }
        let id = "\(recipe.name)-\(String(format: "%04d", i))"
        let mediaPath = "videos/\(id).mp4"
        try Synthesizer.write(video, format: format, to: (folder as NSString).appendingPathComponent(mediaPath))
        var narrationPath: String? = nil
        if !video.narrations.isEmpty {
            narrationPath = "narrations/\(id).srt"
            try Synthesizer.writeText(Subtitles.srtText(video.narrations), to: (folder as NSString).appendingPathComponent(narrationPath!))
        }
        var annotation = video.annotation
        annotation["id"] = .string(id)
        if let masks = video.masks {
            let maskPath = "masks/\(id).png"
            try FileManager.default.createDirectory(atPath: (folder as NSString).appendingPathComponent("masks"), withIntermediateDirectories: true)
            try PNGWriter.write(masks, to: (folder as NSString).appendingPathComponent(maskPath))
            annotation["masks"] = .string(maskPath)
        }
        annotation["format"] = Synthesizer.jsonValue(format)
        annotation["frame_times"] = .array(video.frameTimes.map { .number(($0 * 1e6).rounded() / 1e6) })
        let annotationPath = "annotations/\(id).json"
        try Synthesizer.writeJSON(annotation, to: (folder as NSString).appendingPathComponent(annotationPath))
        return CorpusEntry(id: id, media: mediaPath, split: splits[i], labels: video.labels,
                           narration: narrationPath, annotation: annotationPath,
                           duration: (video.duration * 1000).rounded() / 1000,
                           soundSource: video.provenance ?? (recipe.hasAudio ? bank.provenance : nil))
    }
}

/// The entries the workers of `Synthesizer.run` made, in video order, and the first error.
private final class SynthResults: @unchecked Sendable {
    private let lock = NSLock()
    private var made: [CorpusEntry?]
    private var error: Error?
    private var done = 0
    private let progress: ((Int, Int) -> Void)?

    init(count: Int, progress: ((Int, Int) -> Void)?) {
        made = Array(repeating: nil, count: count)
        self.progress = progress
    }

    var failed: Bool { lock.withLock { error != nil } }

    func store(_ i: Int, _ result: Result<CorpusEntry, Error>) {
        lock.withLock {
            switch result {
            case .success(let entry):
                made[i] = entry
                done += 1
                progress?(done, made.count)
            case .failure(let e):
                if error == nil { error = e }
            }
        }
    }

    func entries() throws -> [CorpusEntry] {
        if let error { throw error }
        return made.map { $0! }
    }
}
