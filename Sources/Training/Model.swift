import Encoders
import NN
import Pipeline
import TensorCore
import Text

/// The encoders and heads of a run, under one state: `video.*`, `audio.*` (the presets'
/// PyTorch names after the prefix) and `heads.<objective>.*`.
public final class TrainModel: Module {
    public let video: R2Plus1DTiny?
    public let audio: VGGishTiny?
    public let text: WordPool?
    /// The text encoder's vocabulary (stored in checkpoints).
    public let vocabulary: Vocabulary?
    public let heads: Heads
    let objectives: [(name: String, objective: TrainingObjective)]

    /// The objectives' heads by objective name.
    public final class Heads: Module {
        public var items: [(String, Module)] = []
        public override var children: [(String, Module)] { items }
        public func head<T: Module>(_ name: String) -> T { items.first { $0.0 == name }!.1 as! T }
    }

    /// `vocabulary` is needed when an objective asks for text.
    public init(config: TrainConfig, vocabulary: Vocabulary? = nil) throws {
        var rng = SeededRandom(seed: UInt64(config.seed))
        let needs = Set(config.objectives.flatMap { objective(for: $0).spec.views.map(\.modality) })
        func encoder(_ e: TrainConfig.Encoder?, _ modality: Modality, _ preset: String) throws -> TrainConfig.Encoder? {
            guard needs.contains(modality) else { return nil }
            let e = e ?? TrainConfig.Encoder(preset: preset)
            guard e.preset == preset else { throw ConfigError.invalid("config", "\(modality.rawValue) encoder '\(e.preset)' is not supported here (use \(preset))") }
            return e
        }
        let v = try encoder(config.video, .video, "r2plus1d-tiny"), a = try encoder(config.audio, .audio, "vggish-tiny")
        video = v.map { R2Plus1DTiny(width: $0.width, rng: &rng) }
        audio = a.map { VGGishTiny(width: $0.width, rng: &rng) }
        if needs.contains(.text) {
            guard let vocabulary else { throw ConfigError.invalid("config", "a text objective needs a vocabulary") }
            guard (config.text ?? TrainConfig.TextEncoder()).preset == "wordpool" else {
                throw ConfigError.invalid("config", "text encoder '\(config.text!.preset)' is not supported here (use wordpool)")
            }
            text = WordPool(vocabulary: vocabulary.size, rng: &rng)
            self.vocabulary = vocabulary
        } else {
            (text, self.vocabulary) = (nil, nil)
        }
        heads = Heads()
        objectives = config.objectives.map { ($0.name.replacingOccurrences(of: "-", with: "_"), objective(for: $0)) }
        super.init()
        for o in config.objectives {
            heads.items.append((o.name.replacingOccurrences(of: "-", with: "_"),
                                objective(for: o).makeHead(videoWidth: video?.outputs ?? 0, audioWidth: audio?.outputs ?? 0, rng: &rng)))
        }
    }

    public override var children: [(String, Module)] {
        (video.map { [("video", $0 as Module)] } ?? []) + (audio.map { [("audio", $0 as Module)] } ?? [])
            + (text.map { [("text", $0 as Module)] } ?? []) + [("heads", heads)]
    }
}

/// What the objectives of one step share: each encoder runs once per batch.
public final class Encodings {
    let model: TrainModel
    let batch: Batch
    private var cache: [String: Tensor] = [:]

    init(model: TrainModel, batch: Batch) { (self.model, self.batch) = (model, batch) }

    /// The video encoder's feature map `[rows, 8w, T', 7, 7]`.
    public var videoFeatures: Tensor {
        if let t = cache["video.features"] { return t }
        let t = model.video!.features(batch.streams["video"]!)
        cache["video.features"] = t
        return t
    }

    /// `[rows, 8w]` pooled video embeddings.
    public var video: Tensor {
        if let t = cache["video"] { return t }
        let t = videoFeatures.globalAveragePooled()
        cache["video"] = t
        return t
    }

    /// `[B·first, 256]` narration embeddings: the first `first` text views of each example
    /// (the text stream holds `perExample` of them per example).
    public func text(first: Int) -> Tensor {
        let key = "text.\(first)"
        if let t = cache[key] { return t }
        let stream = batch.streams["text"]!  // [B·perExample, tokens]
        let examples = batch.videos.count, perExample = stream.shape[0] / examples, tokens = stream.shape[1]
        var ids: [Int] = []
        ids.reserveCapacity(examples * first * tokens)
        for i in 0..<examples {
            for k in 0..<first { ids += stream.data[((i * perExample + k) * tokens)..<((i * perExample + k + 1) * tokens)].map { Int($0) } }
        }
        let t = model.text!(ids, batch: examples * first)
        cache[key] = t
        return t
    }

    /// `[rows, 8w]` audio embeddings.
    public var audio: Tensor {
        if let t = cache["audio"] { return t }
        let t = model.audio!(batch.streams["audio"]!)
        cache["audio"] = t
        return t
    }
}

extension TrainModel {
    /// The joint spaces this model embeds into, by objective name, with their modalities
    /// (e.g. `milnce`: video and text; `avnce`: video and audio).
    public var jointSpaces: [(space: String, modalities: [Modality])] {
        objectives.filter { !$0.objective.jointModalities.isEmpty }.map { ($0.name, $0.objective.jointModalities) }
    }

    /// L2-normalised embeddings `[B, D]` in `space` of a batch of one modality: video clips
    /// `[B, 3, T, H, W]`, audio log-mels `[B, 1, 96, 64]` or token ids `[B, tokens]` (as floats).
    /// Evaluation mode, no gradients.
    public func embed(_ modality: Modality, _ input: Tensor, space: String) -> Tensor {
        guard let o = objectives.first(where: { $0.name == space }), o.objective.jointModalities.contains(modality) else {
            preconditionFailure("TrainModel.embed: no joint space '\(space)' with \(modality.rawValue)")
        }
        return Autograd.withoutGradients {
            let encoded: Tensor = switch modality {
            case .video: video!.features(input).globalAveragePooled()
            case .audio: audio!(input)
            case .text: text!(input.data.map { Int($0) }, batch: input.shape[0])
            }
            return o.objective.embed(modality, encoded, head: heads.head(space) as Module)
        }
    }
}
