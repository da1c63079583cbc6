import Encoders
import NN
import Objectives
import Pipeline
import TensorCore

/// `avc`: audio–visual correspondence (L3-Net, Arandjelović & Zisserman 2017;
/// `docs/methods.md#avc`): does this sound belong with this clip?
///
/// Views: a video clip `[B, 3, T, H, W]` and an audio log-mel `[B, 1, 96, 64]`, which for a
/// share `negatives` of the examples the sampler takes from another video at a random time
/// (`negatives_from: other-videos`); or (`batch`) the audio of the same time only, and every
/// clip is paired with its own audio and with the next example's of another video: `2B`
/// balanced pairs and no extra view, so avc can share batches with avnce.
/// Head: the fusion MLP on the concatenated embeddings, 2 logits. Loss: cross-entropy;
/// metric `avc_accuracy`.
public struct AVC: Method {
    public struct Options: Codable, Equatable, Sendable {
        /// `other-videos`: the share of pairs whose audio comes from another video.
        public var negatives: Double = 0.5
        /// Where a negative pair's audio comes from: `other-videos` or `batch`.
        public var negativesFrom: String = "other-videos"
        public init() {}
    }

    public static let name = "avc"
    public static let summary = "does this sound belong to this clip (negatives_from: other-videos|batch)"
    public static var defaultOptions: Options { Options() }
    public let options: Options
    var inBatch: Bool { options.negativesFrom == "batch" }

    public init(options: Options) throws {
        guard ["other-videos", "batch"].contains(options.negativesFrom) else {
            throw MethodError.invalid(Self.name, "negatives_from", "must be other-videos or batch (got '\(options.negativesFrom)')")
        }
        guard options.negatives > 0, options.negatives < 1 else {
            throw MethodError.invalid(Self.name, "negatives", "must be between 0 and 1, exclusive (got \(options.negatives))")
        }
        self.options = options
    }

    public var spec: ExampleSpec {
        ExampleSpec(views: [ViewRequest(.video), ViewRequest(.audio, otherVideoProbability: inBatch ? 0 : options.negatives)])
    }
    public var videoAugmentation: VideoAugmentation { .light }

    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> AVCHead {
        AVCHead(inputs: widths.video + widths.audio, rng: &rng)
    }

    public func loss(_ e: Encodings, head: AVCHead, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        var (video, audio) = (e.video, e.audio)
        // An example corresponds when its views all come from its own video.
        var corresponds = batch.examples.map { $0.allFromAnchor ? 1 : 0 }
        if inBatch {
            let partners = batch.otherVideoPartners
            let paired = partners.indices.compactMap { i in partners[i].map { (i, $0) } }
            video = concat([video, video.indexSelect(axis: 0, paired.map(\.0))], axis: 0)
            audio = concat([audio, audio.indexSelect(axis: 0, paired.map(\.1))], axis: 0)
            corresponds = [Int](repeating: 1, count: batch.examples.count) + [Int](repeating: 0, count: paired.count)
        }
        let logits = head(video: video, audio: audio)
        let objective = CorrespondenceLoss()
        return (objective(logits: logits, corresponds: corresponds),
                ["avc_accuracy": objective.accuracy(logits: logits, corresponds: corresponds)])
    }
}
