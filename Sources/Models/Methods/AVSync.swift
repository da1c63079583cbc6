import Corpora
import Encoders
import NN
import Objectives
import Pipeline
import TensorCore

/// `avsync`: audio–visual temporal synchronisation (AVTS, Korbar, Tran & Torresani, NeurIPS
/// 2018; Owens & Efros, ECCV 2018; `docs/methods.md#avsync`): is this sound in time with this
/// clip?
///
/// Views: a video clip `[B, 3, T, H, W]` and an audio log-mel `[B, 1, 96, 64]`. A share
/// `negatives` of the examples are negatives: easy ones take the audio of another video at a
/// random time; hard ones the same video's audio moved by ±[`min_shift`, `max_shift`] s. For
/// the first `curriculum_steps` steps every negative is easy, then `hard_fraction` of them are
/// hard (AVTS's curriculum).
/// Heads see time-resolved features: the video map averaged over space `[B, C, T/4]` and the
/// audio map averaged over frequency `[B, C, 6]`, each flattened, so the head can tell *when*
/// things happen (a globally pooled embedding cannot: a first run with pooled projections
/// collapsed to one distance for every pair once hard negatives came, docs/experiments.md).
/// Head and loss: `margin` (AVTS) — a projection MLP per modality to 128 dimensions,
/// L2-normalised, and the contrastive margin loss `y·d² + (1 − y)·max(η − d, 0)²`; or `bce`
/// (Owens & Efros) — the fusion MLP on the concatenated projections, 2 logits, cross-entropy.
/// Clip: asks for 16 frames 0.06 s apart where the config's `clip` does not say (`clip`).
/// Metrics: `avsync_accuracy` (in sync or not, on the step's pairs); the in-sync score of a
/// pair (`syncScores`) is what `eval sync` and offset estimation rank.
public struct AVSync: Method {
    public struct Options: Codable, Equatable, Sendable {
        /// Share of examples that are negatives.
        public var negatives: Double = 0.5
        /// Share of the negatives that are hard (same video, shifted) after the curriculum.
        public var hardFraction: Double = 0.25
        /// Seconds a hard negative's audio is moved, at least and at most.
        public var minShift: Double = 0.5
        public var maxShift: Double = 2.0
        /// Steps with easy negatives only.
        public var curriculumSteps: Int = 0
        /// `margin` (AVTS's contrastive margin loss) or `bce` (a fusion head, cross-entropy).
        public var loss: String = "margin"
        /// The margin η of the `margin` loss (distances of L2-normalised embeddings lie in [0, 2]).
        public var margin: Float = 0.99
        public init() {}
    }

    public static let name = "avsync"
    public static let summary = "is this sound in time with this clip (hard negatives: the same video's audio shifted; loss: margin|bce)"
    public static var defaultOptions: Options { Options() }
    /// 16 frames 0.06 s apart (the 0.96 s clip): the default 0.12 s between frames cannot place
    /// a sound within 40 ms. A config's `clip` keys still win.
    public static var clip: [String: JSONValue] { ["frames": .number(16), "frame_spacing": .number(0.06)] }
    public let options: Options

    public init(options: Options) throws {
        func invalid(_ key: String, _ why: String) -> MethodError { MethodError.invalid(Self.name, key, why) }
        guard options.negatives > 0, options.negatives < 1 else { throw invalid("negatives", "must be between 0 and 1, exclusive (got \(options.negatives))") }
        guard (0...1).contains(options.hardFraction) else { throw invalid("hard_fraction", "must be between 0 and 1 (got \(options.hardFraction))") }
        guard options.minShift > 0, options.minShift.isFinite else { throw invalid("min_shift", "must be a positive number of seconds (got \(options.minShift))") }
        guard options.maxShift >= options.minShift, options.maxShift.isFinite else {
            throw invalid("max_shift", "must be at least min_shift (\(options.minShift)) and finite (got \(options.maxShift))")
        }
        guard options.curriculumSteps >= 0 else { throw invalid("curriculum_steps", "must be 0 or more (got \(options.curriculumSteps))") }
        guard ["margin", "bce"].contains(options.loss) else { throw invalid("loss", "must be margin or bce (got '\(options.loss)')") }
        guard options.margin > 0, options.margin <= 2 else { throw invalid("margin", "must be in (0, 2] (got \(options.margin))") }
        self.options = options
    }

    /// A projection per modality (MLP with BatchNorm to 128 dimensions, L2-normalised); `bce`
    /// adds the fusion head on the two projections.
    public final class Head: Module {
        public let video: ProjectionHead, audio: ProjectionHead
        public let fusion: AVCHead?
        init(video: ProjectionHead, audio: ProjectionHead, fusion: AVCHead?) { (self.video, self.audio, self.fusion) = (video, audio, fusion) }
        public override var children: [(String, Module)] {
            [("video", video), ("audio", audio)] + (fusion.map { [("fusion", $0 as Module)] } ?? [])
        }
    }

    public var spec: ExampleSpec {
        var audio = ViewRequest(.audio, otherVideoProbability: options.negatives)
        if options.hardFraction > 0 {
            audio.shift = TimeShift(probability: options.negatives * options.hardFraction, minimum: options.minShift,
                                    maximum: options.maxShift, fromBatch: options.curriculumSteps)
        }
        return ExampleSpec(views: [ViewRequest(.video), audio])
    }
    public var videoAugmentation: VideoAugmentation { .light }

    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> Head {
        // NOTE: the flattened maps (1280 values at width 16) go through the projections'
        // BatchNorm first; a fusion MLP on the raw maps lost every ReLU within 50 steps
        // (the loss stayed at log 2, docs/experiments.md).
        let video = ProjectionHead(input: widths.video * widths.videoSteps, rng: &rng)
        let audio = ProjectionHead(input: widths.audio * widths.audioSteps, rng: &rng)
        return Head(video: video, audio: audio, fusion: options.loss == "bce" ? AVCHead(inputs: 256, rng: &rng) : nil)
    }

    /// The video feature map `[B, C, T', h, w]` averaged over space and flattened: `[B, C·T']`.
    public static func timeResolved(video map: Tensor) -> Tensor {
        let pooled = map.mean(axes: [3, 4])
        return pooled.reshaped([pooled.shape[0], pooled.shape[1] * pooled.shape[2]])
    }

    /// The audio feature map `[B, C, T', f]` averaged over frequency and flattened: `[B, C·T']`.
    public static func timeResolved(audio map: Tensor) -> Tensor {
        let pooled = map.mean(axes: [3])
        return pooled.reshaped([pooled.shape[0], pooled.shape[1] * pooled.shape[2]])
    }

    public func loss(_ e: Encodings, head: Head, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        let inSync = batch.examples.map { $0.inSync ? 1 : 0 }
        let (v, a) = (head.video(Self.timeResolved(video: e.videoFeatures)), head.audio(Self.timeResolved(audio: e.audioFeatures)))
        if let fusion = head.fusion {
            let logits = fusion(video: v, audio: a)
            let objective = CorrespondenceLoss()
            return (objective(logits: logits, corresponds: inSync), ["avsync_accuracy": objective.accuracy(logits: logits, corresponds: inSync)])
        }
        let objective = ContrastiveMarginLoss(margin: options.margin)
        return (objective(video: v, audio: a, inSync: inSync), ["avsync_accuracy": objective.accuracy(video: v, audio: a, inSync: inSync)])
    }

    /// A pair is called in sync when its score (`syncScores`) is above this: −η/2 (margin),
    /// 0 (bce).
    public var decisionThreshold: Float { options.loss == "bce" ? 0 : -options.margin / 2 }

    /// How in sync each pair looks, higher is more: `−d` (margin) or the in-sync logit minus
    /// the other (bce). `video, audio`: time-resolved features (`timeResolved`); `[B]` scores.
    public func syncScores(video: Tensor, audio: Tensor, head: Head) -> [Float] {
        Autograd.withoutGradients {
            let (v, a) = (head.video(video), head.audio(audio))
            if let fusion = head.fusion {
                let logits = fusion(video: v, audio: a)
                return (0..<logits.shape[0]).map { logits.data[2 * $0 + 1] - logits.data[2 * $0] }
            }
            return ContrastiveMarginLoss(margin: options.margin).squaredDistances(video: v, audio: a).data.map { -$0.squareRoot() }
        }
    }
}
