import NN
import Objectives
import Pipeline
import TensorCore

/// `milnce`: a clip against its K nearest narration lines (MIL-NCE, Miech et al. 2020;
/// `docs/methods.md#milnce`).
///
/// Views: a video clip `[B, 3, T, H, W]` and the `candidates` narration lines nearest its
/// centre within `window` seconds, as token ids `[B·K, tokens]`. Head: a linear map of the
/// pooled clip to the text encoder's 256 dimensions. Loss: MIL-NCE, `-log Σ_pos / Σ_all`
/// over the `B × B·K` scores; both sides L2-normalised and divided by τ (`normalize: false`:
/// raw dot products, as the paper).
///
/// NOTE: normalising with a temperature (τ 0.1) keeps the scores in a range where SGD at the
/// other objectives' learning rates is stable, so `milnce` and `avnce` can share one config.
/// For retrieval the embeddings are always normalised (cosine).
public struct MILNCEMethod: Method {
    public struct Options: Codable, Equatable, Sendable {
        /// Narrations per clip, the nearest to its centre (`nce` uses one and ignores this).
        public var candidates: Int = 4
        /// Narrations are taken within this many seconds of the clip's centre.
        public var window: Double = 5
        /// Score temperature τ.
        public var temperature: Float = 0.1
        /// Score L2-normalised embeddings (true) or raw dot products (false; τ still divides).
        public var normalize: Bool = true
        public init() {}
    }

    public static let name = "milnce"
    public static let summary = "a clip against its nearest narration lines (MIL-NCE)"
    public static var defaultOptions: Options { Options() }
    public let options: Options

    public init(options: Options) throws {
        try Self.validate(options, name: Self.name)
        self.options = options
    }

    static func validate(_ options: Options, name: String) throws {
        guard (1...64).contains(options.candidates) else {
            throw MethodError.invalid(name, "candidates", "must be between 1 and 64 (got \(options.candidates))")
        }
        guard options.window > 0, options.window.isFinite else {
            throw MethodError.invalid(name, "window", "must be a positive number of seconds (got \(options.window))")
        }
        guard options.temperature > 0, options.temperature.isFinite else {
            throw MethodError.invalid(name, "temperature", "must be a positive number (got \(options.temperature))")
        }
    }

    public var spec: ExampleSpec { Self.spec(candidates: options.candidates, window: options.window) }
    public var videoAugmentation: VideoAugmentation { .light }

    static func spec(candidates: Int, window: Double) -> ExampleSpec {
        ExampleSpec(views: [ViewRequest(.video)] + (0..<candidates).map { ViewRequest.narration($0, window: window) })
    }

    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> Linear { Linear(widths.video, 256, rng: &rng) }

    public func loss(_ e: Encodings, head: Linear, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        Self.loss(e, head: head, candidates: options.candidates, options: options)
    }

    static func loss(_ e: Encodings, head: Linear, candidates: Int, options: Options) -> (loss: Tensor, metrics: [String: Double]) {
        let rawVideo = head(e.video)
        // The text stream holds every text view of the merged spec; this objective's are the
        // first `candidates` of each example's.
        let rawText = e.text(first: candidates)
        let (video, text) = options.normalize ? (rawVideo.l2Normalized(axis: 1), rawText.l2Normalized(axis: 1)) : (rawVideo, rawText)
        return (MILNCE(temperature: options.temperature)(video: video, text: text), [:])
    }

    public var jointModalities: [Modality] { [.video, .text] }

    public func embed(_ modality: Modality, _ encoded: Tensor, head: Linear) -> Tensor { Self.embed(modality, encoded, head: head) }

    static func embed(_ modality: Modality, _ encoded: Tensor, head: Linear) -> Tensor {
        modality == .text ? encoded.l2Normalized(axis: 1) : head(encoded).l2Normalized(axis: 1)
    }
}

/// `nce`: MIL-NCE's single-positive baseline — the clip against its one nearest narration
/// (the same options as `milnce`; `candidates` is always 1).
public struct NCE: Method {
    public typealias Options = MILNCEMethod.Options
    public static let name = "nce"
    public static let summary = "milnce's single-positive baseline: a clip against its nearest narration"
    public static var defaultOptions: Options { Options() }
    public let options: Options

    public init(options: Options) throws {
        try MILNCEMethod.validate(options, name: Self.name)
        self.options = options
    }

    public var spec: ExampleSpec { MILNCEMethod.spec(candidates: 1, window: options.window) }
    public var videoAugmentation: VideoAugmentation { .light }
    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> Linear { Linear(widths.video, 256, rng: &rng) }
    public func loss(_ e: Encodings, head: Linear, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        MILNCEMethod.loss(e, head: head, candidates: 1, options: options)
    }
    public var jointModalities: [Modality] { [.video, .text] }
    public func embed(_ modality: Modality, _ encoded: Tensor, head: Linear) -> Tensor { MILNCEMethod.embed(modality, encoded, head: head) }
}
