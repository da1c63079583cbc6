import Corpora
import Foundation
import NN
import Pipeline
import TensorCore

/// A self-supervised method, in one file (`Sources/Models/Methods/<Name>.swift`): its name, its
/// options (its own section of a config's `objectives` list), the views it asks the sampler
/// for, its head, its default augmentation, its loss and metrics, and what it embeds for
/// retrieval. `MethodRegistry.all` lists the methods; the trainer, the model and the
/// evaluations never know which one they run. `docs/methods.md` defines each.
public protocol Method: MethodInstance {
    /// Its own keys of a config's objective entry (besides `name` and `weight`), snake_case
    /// in YAML; `Options()` are the defaults.
    associatedtype Options: Codable, Equatable, Sendable
    associatedtype Head: Module

    /// The name in configs (`objectives: [{name: avnce}]`).
    static var name: String { get }
    /// One line for `concord train --help` and error messages.
    static var summary: String { get }
    /// The defaults of the options.
    static var defaultOptions: Options { get }
    /// Clip-geometry keys (snake_case, as in a config's `clip`) this method needs other than
    /// the defaults, used where the config leaves them out (avsync: denser frames).
    static var clip: [String: JSONValue] { get }

    /// Validates the options (throwing `MethodError.invalid` naming the key).
    init(options: Options) throws

    /// What the sampler must deliver for each example.
    var spec: ExampleSpec { get }
    /// The video augmentation when the config does not set `augment.video`.
    var videoAugmentation: VideoAugmentation { get }
    func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> Head
    /// The loss (a scalar) and named metrics (`<name>_accuracy` becomes TensorBoard's
    /// `accuracy/<name>`).
    func loss(_ e: Encodings, head: Head, batch: Batch) -> (loss: Tensor, metrics: [String: Double])
    /// The modalities this method maps into one joint space (for retrieval); empty for none.
    var jointModalities: [Modality] { get }
    /// The L2-normalised embedding `[B, D]`, in the joint space, of encoder outputs `[B, width]`
    /// of one of `jointModalities`.
    func embed(_ modality: Modality, _ encoded: Tensor, head: Head) -> Tensor
}

extension Method {
    public static var clip: [String: JSONValue] { [:] }
    public var jointModalities: [Modality] { [] }
    public func embed(_ modality: Modality, _ encoded: Tensor, head: Head) -> Tensor {
        preconditionFailure("\(Self.name) has no joint space")
    }
    /// This method with a fresh head: what a model holds.
    public func bind(_ widths: EncoderWidths, rng: inout SeededRandom) -> any BoundObjective {
        Bound(method: self, head: makeHead(widths, rng: &rng))
    }
}

/// The encoders' output widths a head is made for (0 when the model has no such encoder),
/// and the time steps of their feature maps at the config's clip geometry.
public struct EncoderWidths: Sendable {
    public var video: Int, audio: Int, text: Int
    /// Time steps of the video feature map (`frames / 4`) and of the audio one (`mel frames / 16`).
    public var videoSteps = 0, audioSteps = 0
    public init(video: Int = 0, audio: Int = 0, text: Int = 0) { (self.video, self.audio, self.text) = (video, audio, text) }
}

/// A method with its head, as a model holds it (the head's parameters are the model's
/// `heads.<name>.*`).
public protocol BoundObjective: AnyObject {
    var methodName: String { get }
    var spec: ExampleSpec { get }
    var videoAugmentation: VideoAugmentation { get }
    var headModule: Module { get }
    var jointModalities: [Modality] { get }
    func loss(_ e: Encodings, batch: Batch) -> (loss: Tensor, metrics: [String: Double])
    func embed(_ modality: Modality, _ encoded: Tensor) -> Tensor
}

extension BoundObjective {
    /// The method and its head when this is a `M`.
    public func typed<M: Method>(_ type: M.Type) -> (method: M, head: M.Head)? {
        (self as? Bound<M>).map { ($0.method, $0.head) }
    }
}

final class Bound<M: Method>: BoundObjective {
    let method: M
    let head: M.Head
    init(method: M, head: M.Head) { (self.method, self.head) = (method, head) }
    var methodName: String { M.name }
    var spec: ExampleSpec { method.spec }
    var videoAugmentation: VideoAugmentation { method.videoAugmentation }
    var headModule: Module { head }
    var jointModalities: [Modality] { method.jointModalities }
    func loss(_ e: Encodings, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) { method.loss(e, head: head, batch: batch) }
    func embed(_ modality: Modality, _ encoded: Tensor) -> Tensor { method.embed(modality, encoded, head: head) }
}

/// One registered method, without its types: how to read its options and make it.
public struct MethodEntry: Sendable {
    public let name: String
    public let summary: String
    /// The option keys (snake_case) and their defaults.
    public let defaults: [String: JSONValue]
    /// The clip-geometry keys the method asks for (`Method.clip`).
    public let clip: [String: JSONValue]
    let make: @Sendable ([String: JSONValue]) throws -> any MethodInstance

    init<M: Method>(_ type: M.Type) {
        (name, summary, clip) = (M.name, M.summary, M.clip)
        defaults = optionTree(M.defaultOptions)
        make = { tree in
            let data = try JSONEncoder().encode(tree)
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let options: M.Options
            do { options = try decoder.decode(M.Options.self, from: data) } catch let DecodingError.typeMismatch(_, c) {
                throw MethodError.invalid(M.name, c.codingPath.map(\.stringValue).joined(separator: "."), "has the wrong type")
            } catch let DecodingError.dataCorrupted(c) {
                throw MethodError.invalid(M.name, c.codingPath.map(\.stringValue).joined(separator: "."), "is not a valid value")
            }
            return try M(options: options)
        }
    }
}

/// A configured method (options read and checked), before a model gives it a head.
public protocol MethodInstance: Sendable {
    var spec: ExampleSpec { get }
    var videoAugmentation: VideoAugmentation { get }
    var jointModalities: [Modality] { get }
    func bind(_ widths: EncoderWidths, rng: inout SeededRandom) -> any BoundObjective
}

/// The methods Concord trains, in the order `concord train --help` lists them.
public enum MethodRegistry {
    public static let all: [MethodEntry] = [
        MethodEntry(AVNCE.self), MethodEntry(AVC.self), MethodEntry(MILNCEMethod.self), MethodEntry(NCE.self),
        MethodEntry(RhoSimCLR.self), MethodEntry(AVSync.self),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func entry(_ name: String) throws -> MethodEntry {
        guard let e = all.first(where: { $0.name == name }) else {
            throw MethodError.unknown(name, known: names)
        }
        return e
    }

    /// The options of an objective entry with every default filled in. Keys the method does
    /// not have are an error naming the nearest known key, unless `lenient` (configs stored in
    /// older checkpoints held every method's keys in every entry): then they are dropped.
    public static func resolve(_ name: String, options: [String: JSONValue], lenient: Bool = false) throws -> [String: JSONValue] {
        let e = try entry(name)
        var out = e.defaults
        for (key, value) in options {
            guard e.defaults[key] != nil else {
                if lenient { continue }
                throw MethodError.unknownKey(name, key, nearest: nearest(key, among: Array(e.defaults.keys)))
            }
            out[key] = value
        }
        _ = try e.make(out)  // validates
        return out
    }

    /// The method of an objective entry (options as `resolve` returns them).
    public static func make(_ name: String, options: [String: JSONValue]) throws -> any MethodInstance {
        try entry(name).make(try resolve(name, options: options))
    }

    /// The known key closest to `key` by edit distance (nil when none is close).
    static func nearest(_ key: String, among keys: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            // Levenshtein distance, one row at a time.
            var row = Array(0...b.count)
            for i in 0..<a.count {
                var diagonal = row[0]
                row[0] = i + 1
                for j in 0..<b.count {
                    let above = row[j + 1]
                    let substitution = diagonal + (a[i] == b[j] ? 0 : 1)
                    row[j + 1] = Swift.min(above + 1, row[j] + 1, substitution)
                    diagonal = above
                }
            }
            return row[b.count]
        }
        let scored: [(key: String, distance: Int)] = keys.sorted().map { ($0, distance(Array(key), Array($0))) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= Swift.max(2, key.count / 3) else { return nil }
        return best.key
    }
}

/// The JSON tree (snake_case keys) of a value.
func optionTree<T: Encodable>(_ value: T) -> [String: JSONValue] {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    guard let data = try? encoder.encode(value), let tree = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
        preconditionFailure("optionTree: \(T.self) does not encode as a JSON object")
    }
    return tree
}

public enum MethodError: Error, CustomStringConvertible {
    case unknown(String, known: [String])
    case unknownKey(String, String, nearest: String?)
    case invalid(String, String, String)
    public var description: String {
        switch self {
        case .unknown(let n, let known): "unknown objective '\(n)' (known: \(known.joined(separator: ", ")))"
        case .unknownKey(let m, let k, let near): "\(m): unknown key '\(k)'" + (near.map { " (did you mean '\($0)'?)" } ?? "")
        case .invalid(let m, let k, let why): "\(m): \(k) \(why)"
        }
    }
}
