import Corpora
import Foundation
import Pipeline
import Yams

/// A training run's configuration (`concord train --config FILE.yaml key.sub=value …`).
/// Keys are snake_case in YAML; every field has a default except `corpus` and `objectives`.
public struct TrainConfig: Codable, Equatable, Sendable {
    /// One entry of `objectives`: a method by name, its weight in the total loss, and the
    /// method's own options (`MethodRegistry`; after loading, every default filled in).
    public struct Objective: Codable, Equatable, Sendable {
        /// A registered method (`MethodRegistry.names`).
        public var name: String
        public var weight: Float = 1
        /// The method's keys, snake_case, as in the YAML entry.
        public var options: [String: JSONValue] = [:]

        public init(name: String, weight: Float = 1, options: [String: JSONValue] = [:]) {
            (self.name, self.weight, self.options) = (name, weight, options)
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        // NOTE: decoded with `.convertFromSnakeCase`, the keys arrive camelCased; options are
        // kept snake_case (as the methods' own decoders and the docs spell them).
        public init(from decoder: Swift.Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            name = try c.decode(String.self, forKey: Key(stringValue: "name"))
            weight = try c.decodeIfPresent(Float.self, forKey: Key(stringValue: "weight")) ?? 1
            for key in c.allKeys where !["name", "weight"].contains(key.stringValue) {
                options[Self.snakeCased(key.stringValue)] = try c.decode(JSONValue.self, forKey: key)
            }
        }

        public func encode(to encoder: Swift.Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(name, forKey: Key(stringValue: "name"))
            try c.encode(weight, forKey: Key(stringValue: "weight"))
            for (k, v) in options { try c.encode(v, forKey: Key(stringValue: k)) }
        }

        static func snakeCased(_ key: String) -> String {
            var out = ""
            for ch in key {
                if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
            }
            return out
        }
    }

    public struct Encoder: Codable, Equatable, Sendable {
        /// `r2plus1d-tiny` (video) or `vggish-tiny` (audio).
        public var preset: String
        /// First stage's channels (32 for the presets); outputs are 8 × width.
        public var width: Int = 32

        public init(preset: String, width: Int = 32) { (self.preset, self.width) = (preset, width) }
    }

    /// The narration encoder and its vocabulary (built from the training split's narrations).
    public struct TextEncoder: Codable, Equatable, Sendable {
        /// `wordpool`.
        public var preset: String = "wordpool"
        /// Words seen fewer times are unknown (id 1).
        public var minCount: Int = 1
        /// At most this many ids, padding and unknown included.
        public var vocabularySize: Int = 10_000

        public init() {}
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        /// `sgd`, `adamw` or `lars`.
        public var name: String = "sgd"
        public var lr: Float = 0.01
        public var momentum: Float = 0.9
        public var weightDecay: Float = 1e-4
        public var nesterov: Bool = false
        /// Linear warm-up steps, then a cosine to 0 at the last step (`schedule: cosine`) or constant.
        public var warmupSteps: Int = 0
        public var schedule: String = "cosine"
        /// Clip the global gradient norm (0: off).
        public var clipNorm: Float = 0
    }

    public struct Augment: Codable, Equatable, Sendable {
        /// `strong` (SimCLR/CVRL), `light` or `none`; default per objective.
        public var video: String?
        /// `standard` (gain + SpecAugment masks) or `none`.
        public var audio: String = "standard"
    }

    public var corpus: String
    /// A clip cache made by `concord prepare` from the corpus: clips are read from it instead
    /// of decoded (its geometry must equal `clip`).
    public var cache: String? = nil
    public var split: String = "train"
    public var out: String = "runs/train"
    /// A checkpoint whose encoders (`video.`, `audio.`, `text.`) start this run: fine-tuning
    /// from a pretrained model. Heads and the optimizer start fresh; `--resume` ignores it.
    public var initFrom: String? = nil
    public var objectives: [Objective]
    public var video: Encoder? = nil
    public var audio: Encoder? = nil
    public var text: TextEncoder? = nil
    public var optimizer = Optimizer()
    public var augment = Augment()
    public var clip = ClipGeometry()
    public var batchSize: Int = 16
    public var steps: Int = 100
    public var seed: Int = 0
    public var threads: Int? = nil
    /// Background threads decoding batches.
    public var workers: Int = 1
    public var checkpointEvery: Int = 50
    public var logEvery: Int = 1

    /// A config with every default but the corpus and the objectives.
    public init(corpus: String, objectives: [Objective]) { (self.corpus, self.objectives) = (corpus, objectives) }

    /// Reads a YAML (or JSON) config and applies `key.sub=value` overrides (values parsed as YAML).
    public static func load(path: String?, overrides: [String]) throws -> TrainConfig {
        guard let path else { return try load(text: nil, source: "(command line)", overrides: overrides) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigError.unreadable(path) }
        return try load(text: text, source: path, overrides: overrides)
    }

    /// A config from YAML `text` (nil: defaults only) and overrides; `source` names it in errors.
    public static func load(text: String?, source: String, overrides: [String]) throws -> TrainConfig {
        var tree: [String: Any] = [:]
        if let text {
            let path = source
            do {
                guard let parsed = try parseYAML(text, source: path) else { throw ConfigError.invalid(path, "empty file") }
                guard let map = parsed as? [String: Any] else { throw ConfigError.invalid(path, "the top level is not a mapping") }
                tree = map
            } catch let e as ConfigError { throw e } catch { throw ConfigError.invalid(path, "\(error)") }
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else { throw ConfigError.badOverride(o, "expected key.sub=value") }
            let keys = o[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !keys.contains(where: \.isEmpty) else { throw ConfigError.badOverride(o, "a key is empty (expected key.sub=value)") }
            let value: Any
            do { value = try parseYAML(String(o[o.index(after: eq)...]), source: o) ?? NSNull() } catch let e as ConfigError { throw e } catch {
                throw ConfigError.badOverride(o, "the value is not YAML (\(error))")
            }
            tree = try set(tree, keys: keys, value: value, override: o)
        }
        return try decode(tree, source: source)
    }

    /// The most values a config may hold once its aliases are expanded (a real one has a few
    /// hundred): more is refused before anything is built, so an alias bomb costs nothing.
    static let maximumValues = 100_000

    /// The value of YAML `text` (nil for an empty document), refused when its aliases expand
    /// to more than `maximumValues` values.
    /// NOTE: Yams composes aliases as shared values (cheap); only turning the tree into Swift
    /// values expands them, so the count walks the composed tree and stops at the limit.
    /// NOTE: two inputs that make Yams's constructor trap are refused here (both found by
    /// fuzzing, `fuzz/regressions/config/`): a key that is itself a list or mapping (YAML's
    /// `? [a, b]: 1`; Yams unwraps every key as a string), and a YAML 1.1 base-60 integer
    /// (`1:30:00`) too large for Int (Yams multiplies without an overflow check).
    static func parseYAML(_ text: String, source: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        var count = 0
        var badKey: Node? = nil, badNumber: Node? = nil
        func visit(_ n: Node) -> Bool {
            count += 1
            guard count <= maximumValues else { return false }
            switch n {
            case .scalar(let s) where n.tag.rawValue == Tag.Name.int.rawValue && s.string.contains(":") && !sexagesimalFits(s.string):
                badNumber = n
                return false
            case .mapping(let m):
                return m.allSatisfy { pair in
                    guard case .scalar = pair.key else { badKey = pair.key; return false }
                    return visit(pair.key) && visit(pair.value)
                }
            case .sequence(let q): return q.allSatisfy(visit)
            default: return true
            }
        }
        guard visit(node) else {
            if let badKey {
                let place = badKey.mark.map { "line \($0.line): " } ?? ""
                throw ConfigError.invalid(source, place + "a key must be a name, not a list or a mapping")
            }
            if let badNumber {
                let place = badNumber.mark.map { "line \($0.line): " } ?? ""
                throw ConfigError.invalid(source, place + "'\(badNumber.string ?? "")' reads as a base-60 number too large for an integer (quote it to mean text)")
            }
            throw ConfigError.invalid(source, "more than \(maximumValues) values once its aliases are expanded (an alias bomb?); a config holds a few hundred")
        }
        return Constructor.default.any(from: node)
    }

    /// Whether a YAML 1.1 base-60 integer (`[-+]d:d:…`, underscores ignored) fits in Int, as
    /// Yams evaluates it (each part times 60^k, summed); true when it is no such number.
    public static func sexagesimalFits(_ text: String) -> Bool {
        var digits = text.replacingOccurrences(of: "_", with: "")
        if digits.hasPrefix("-") || digits.hasPrefix("+") { digits.removeFirst() }
        let parts = digits.components(separatedBy: ":").map { Int($0, radix: 10) }
        guard parts.allSatisfy({ $0 != nil }) else { return true }
        var (base, value) = (1, 0)
        for part in parts.reversed() {
            let (term, o1) = part!.multipliedReportingOverflow(by: base)
            let (sum, o2) = value.addingReportingOverflow(term)
            let (next, o3) = base.multipliedReportingOverflow(by: 60)
            if o1 || o2 || o3 { return false }
            (base, value) = (next, sum)
        }
        return true
    }

    static func set(_ node: [String: Any], keys: [String], value: Any, override: String) throws -> [String: Any] {
        var node = node
        let key = keys[0]
        if keys.count == 1 { node[key] = value; return node }
        if let list = node[key] as? [Any], let index = Int(keys[1]) {
            guard index >= 0, index < list.count, let item = list[index] as? [String: Any] else { throw ConfigError.badOverride(override, "no item \(index) in '\(key)'") }
            var list = list
            list[index] = keys.count == 2 ? value : try set(item, keys: Array(keys.dropFirst(2)), value: value, override: override)
            node[key] = list
            return node
        }
        node[key] = try set(node[key] as? [String: Any] ?? [:], keys: Array(keys.dropFirst()), value: value, override: override)
        return node
    }

    /// A default value's JSON tree (snake_case keys).
    static func defaults<T: Encodable>(_ value: T) -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return (try? JSONSerialization.jsonObject(with: encoder.encode(value))) as? [String: Any] ?? [:]
    }

    /// `tree` over `base`, recursively for mappings.
    static func merged(_ tree: [String: Any], over base: [String: Any]) -> [String: Any] {
        var out = base
        for (k, v) in tree {
            if let sub = v as? [String: Any], let b = base[k] as? [String: Any] { out[k] = merged(sub, over: b) } else { out[k] = v }
        }
        return out
    }

    /// The snake_case keys of a value's stored properties (optional ones included).
    static func keys(of value: Any) -> Set<String> {
        Set(Mirror(reflecting: value).children.compactMap { $0.label.map(Objective.snakeCased) })
    }

    /// Every key of the config must be one Concord knows (objectives' keys are their methods'
    /// business): an unknown one is an error that names it and the nearest known key.
    static func checkKeys(_ tree: [String: Any], source: String) throws {
        let sections: [String: Set<String>] = [
            "optimizer": keys(of: Optimizer()), "augment": keys(of: Augment()), "clip": keys(of: ClipGeometry()),
            "video": keys(of: Encoder(preset: "")), "audio": keys(of: Encoder(preset: "")), "text": keys(of: TextEncoder()),
        ]
        func unknown(_ key: String, _ known: Set<String>, prefix: String) -> ConfigError {
            let hint = MethodRegistry.nearest(key, among: Array(known)).map { " (did you mean '\(prefix)\($0)'?)" } ?? ""
            return ConfigError.invalid(source, "unknown key '\(prefix)\(key)'\(hint)")
        }
        let top = keys(of: TrainConfig(corpus: "", objectives: []))
        for (key, value) in tree {
            guard top.contains(key) else { throw unknown(key, top, prefix: "") }
            guard let known = sections[key] else { continue }
            guard let map = value as? [String: Any] else {
                if value is NSNull { continue }
                throw ConfigError.invalid(source, "'\(key)' must be a mapping of keys (got \(value))")
            }
            for sub in map.keys where !known.contains(sub) { throw unknown(sub, known, prefix: key + ".") }
        }
    }

    /// Numbers must be finite: `lr: .nan` is an error naming the key, not a JSON failure.
    static func checkNumbers(_ node: Any, path: String, source: String) throws {
        if let map = node as? [String: Any] {
            for (k, v) in map { try checkNumbers(v, path: path.isEmpty ? k : path + "." + k, source: source) }
        } else if let list = node as? [Any] {
            for (i, v) in list.enumerated() { try checkNumbers(v, path: path + ".\(i)", source: source) }
        } else if let d = node as? Double, !d.isFinite {
            throw ConfigError.invalid(source, "\(path) is \(d): must be a finite number")
        }
    }

    /// The clip-geometry keys the config's methods ask for (`Method.clip`), as values for the
    /// JSON tree (integral numbers as `Int`, so integer keys decode).
    static func askedClip(_ tree: [String: Any]) -> [String: Any] {
        var asked: [String: Any] = [:]
        for item in tree["objectives"] as? [Any] ?? [] {
            guard let name = (item as? [String: Any])?["name"] as? String, let entry = try? MethodRegistry.entry(name) else { continue }
            for (key, value) in entry.clip {
                if case .number(let d) = value { asked[key] = d == d.rounded() && abs(d) < 1e9 ? Int(d) as Any : d as Any }
            }
        }
        return asked
    }

    /// Fills every key the user left out with its default (Swift's synthesised decoding would
    /// otherwise require them all).
    static func withDefaults(_ tree: [String: Any]) -> [String: Any] {
        var full = merged(tree, over: defaults(TrainConfig(corpus: "", objectives: [])))
        // The clip keys a method asks for, where the config does not set them.
        var clip = defaults(ClipGeometry())
        for (key, value) in askedClip(tree) { clip[key] = value }
        full["clip"] = merged(tree["clip"] as? [String: Any] ?? [:], over: clip)
        for key in ["video", "audio"] {
            if let e = tree[key] as? [String: Any] { full[key] = merged(e, over: defaults(Encoder(preset: ""))) }
        }
        if let e = tree["text"] as? [String: Any] { full["text"] = merged(e, over: defaults(TextEncoder())) }
        return full
    }

    static func decode(_ tree: [String: Any], source: String, lenient: Bool = false) throws -> TrainConfig {
        if !lenient { try checkKeys(tree, source: source) }
        try checkNumbers(tree, path: "", source: source)
        let data = try JSONSerialization.data(withJSONObject: withDefaults(tree))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            var config = try decoder.decode(TrainConfig.self, from: data)
            try config.validate(source: source)
            for (i, o) in config.objectives.enumerated() {
                do { config.objectives[i].options = try MethodRegistry.resolve(o.name, options: o.options, lenient: lenient) } catch {
                    throw ConfigError.invalid(source, "objectives.\(i): \(error)")
                }
            }
            return config
        } catch let e as ConfigError { throw e } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError.invalid(source, "missing key '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ConfigError.invalid(source, "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw ConfigError.invalid(source, "\(error)")
        }
    }

    func validate(source: String) throws {
        func invalid(_ key: String, _ value: Any, _ allowed: String) -> ConfigError {
            ConfigError.invalid(source, "\(key) is \(value): \(allowed)")
        }
        func check<T: Comparable>(_ key: String, _ value: T, _ range: ClosedRange<T>) throws {
            guard range.contains(value) else { throw invalid(key, value, "must be between \(range.lowerBound) and \(range.upperBound)") }
        }
        func check(_ key: String, _ value: Double, _ range: ClosedRange<Double>) throws {
            guard value.isFinite, range.contains(value) else { throw invalid(key, value, "must be a number between \(range.lowerBound) and \(range.upperBound)") }
        }
        guard !corpus.isEmpty else { throw ConfigError.invalid(source, "no corpus (set corpus: PATH or corpus=PATH)") }
        guard !objectives.isEmpty else { throw ConfigError.invalid(source, "no objectives") }
        var seen = Set<String>()
        for o in objectives where !seen.insert(o.name).inserted {
            throw ConfigError.invalid(source, "objective '\(o.name)' is listed twice")
        }
        for (i, o) in objectives.enumerated() { try check("objectives.\(i).weight", Double(o.weight), 0...1e6) }
        try check("batch_size", batchSize, 2...4096)
        try check("steps", steps, 1...100_000_000)
        try check("seed", seed, 0...Int(Int32.max))
        if let threads { try check("threads", threads, 1...1024) }
        try check("workers", workers, 0...64)
        try check("checkpoint_every", checkpointEvery, 1...100_000_000)
        try check("log_every", logEvery, 1...100_000_000)
        for (key, encoder) in [("video", video), ("audio", audio)] {
            guard let encoder else { continue }
            try check("\(key).width", encoder.width, 4...1024)
            // r2plus1d-tiny's stem has 3/4 of the width.
            if key == "video" && encoder.width % 4 != 0 { throw invalid("video.width", encoder.width, "must be a multiple of 4") }
        }
        if let text {
            try check("text.min_count", text.minCount, 1...1_000_000)
            try check("text.vocabulary_size", text.vocabularySize, 3...10_000_000)
        }
        guard ["sgd", "adamw", "lars"].contains(optimizer.name) else {
            throw invalid("optimizer.name", "'\(optimizer.name)'", "must be sgd, adamw or lars")
        }
        try check("optimizer.lr", Double(optimizer.lr), 0...1e15)
        try check("optimizer.momentum", Double(optimizer.momentum), 0...0.999999)
        try check("optimizer.weight_decay", Double(optimizer.weightDecay), 0...10)
        try check("optimizer.warmup_steps", optimizer.warmupSteps, 0...100_000_000)
        guard ["cosine", "constant"].contains(optimizer.schedule) else {
            throw invalid("optimizer.schedule", "'\(optimizer.schedule)'", "must be cosine or constant")
        }
        try check("optimizer.clip_norm", Double(optimizer.clipNorm), 0...1e9)
        if let v = augment.video, !["strong", "light", "none"].contains(v) {
            throw invalid("augment.video", "'\(v)'", "must be strong, light or none")
        }
        guard ["standard", "none"].contains(augment.audio) else { throw invalid("augment.audio", "'\(augment.audio)'", "must be standard or none") }
        try check("clip.duration", clip.duration, 0.1...60)
        try check("clip.frames", clip.frames, 1...256)
        try check("clip.frame_spacing", clip.frameSpacing, 0.001...10)
        try check("clip.short_side", clip.shortSide, 16...4096)
        try check("clip.size", clip.size, 16...clip.shortSide)
        try check("clip.sample_rate", clip.sampleRate, 4000...192_000)
        try check("clip.mel_frames", clip.melFrames, 16...6000)
        try check("clip.mean", Double(clip.mean), -1e3...1e3)
        try check("clip.std", Double(clip.std), 1e-6...1e3)
        // Derived sizes: one batch of video views must fit in memory (floats).
        let videoValues = Double(batchSize) * 3 * Double(clip.frames) * Double(clip.size * clip.size)
        guard videoValues * 4 < 16e9 else {
            throw ConfigError.invalid(source, "batch_size \(batchSize) with clip.frames \(clip.frames) and clip.size \(clip.size) needs \(Int(videoValues * 4 / 1e9)) GB for one batch of video alone")
        }
    }

    /// The config as JSON (stored in checkpoints and the metrics log).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// A config stored by `json`; keys added since it was written take their defaults, so
    /// older checkpoints stay readable.
    public static func fromJSON(_ text: String) throws -> TrainConfig {
        guard let tree = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ConfigError.invalid("stored config", "not a JSON object")
        }
        // Configs stored before methods had their own options held every method's keys.
        return try decode(tree, source: "stored config", lenient: true)
    }
}

public enum ConfigError: Error, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)
    case badOverride(String, String)
    public var description: String {
        switch self {
        case .unreadable(let p): "\(p): cannot read the config file"
        case .invalid(let p, let why): "\(p): \(why)"
        case .badOverride(let o, let why): "override '\(o)': \(why)"
        }
    }
}
