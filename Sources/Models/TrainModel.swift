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
    /// The objectives with their heads, in config order (`heads.items` holds the same heads).
    public let objectives: [(name: String, objective: any BoundObjective)]

    /// The objectives' heads by objective name (`heads.<name>.*`, `-` written `_`).
    public final class Heads: Module {
        public var items: [(String, Module)] = []
        public override var children: [(String, Module)] { items }
    }

    /// `vocabulary` is needed when an objective asks for text. Throws for a config whose
    /// objectives or encoders cannot be made (naming them).
    public init(config: TrainConfig, vocabulary: Vocabulary? = nil) throws {
        var rng = SeededRandom(seed: UInt64(config.seed))
        let methods: [(String, any MethodInstance)] = try config.objectives.map { o in
            do { return (o.name, try MethodRegistry.make(o.name, options: o.options)) } catch {
                throw ConfigError.invalid("config", "\(error)")
            }
        }
        let needs = Set(methods.flatMap { $0.1.spec.views.map(\.modality) })
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
            let preset = (config.text ?? TrainConfig.TextEncoder()).preset
            guard preset == "wordpool" else {
                throw ConfigError.invalid("config", "text encoder '\(preset)' is not supported here (use wordpool)")
            }
            text = WordPool(vocabulary: vocabulary.size, rng: &rng)
            self.vocabulary = vocabulary
        } else {
            (text, self.vocabulary) = (nil, nil)
        }
        heads = Heads()
        var widths = EncoderWidths(video: video?.outputs ?? 0, audio: audio?.outputs ?? 0, text: text == nil ? 0 : 256)
        widths.videoSteps = R2Plus1DTiny.timeSteps(frames: config.clip.frames)
        widths.audioSteps = VGGishTiny.timeSteps(melFrames: config.clip.melFrames)
        var bound: [(name: String, objective: any BoundObjective)] = []
        for (name, method) in methods {
            bound.append((name.replacingOccurrences(of: "-", with: "_"), method.bind(widths, rng: &rng)))
        }
        objectives = bound
        super.init()
        heads.items = objectives.map { ($0.name, $0.objective.headModule) }
    }

    /// The first objective of method `M` and its head.
    public func objective<M: Method>(_ type: M.Type) -> (method: M, head: M.Head)? {
        objectives.lazy.compactMap { $0.objective.typed(M.self) }.first
    }

    /// Encoder outputs `[B, width]` of a batch of one modality: video clips `[B, 3, T, H, W]`
    /// (pooled), audio log-mels `[B, 1, 96, 64]` or token ids `[B, tokens]` (as floats).
    public func encode(_ modality: Modality, _ input: Tensor) -> Tensor {
        switch modality {
        case .video:
            guard let video else { preconditionFailure("TrainModel.encode: no video encoder") }
            return video.features(input).globalAveragePooled()
        case .audio:
            guard let audio else { preconditionFailure("TrainModel.encode: no audio encoder") }
            return audio(input)
        case .text:
            guard let text else { preconditionFailure("TrainModel.encode: no text encoder") }
            return text(input.data.map { Int($0) }, batch: input.shape[0])
        }
    }

    /// An encoder's feature map before pooling: video clips `[B, 3, T, H, W]` → `[B, 8w, T/4, 7, 7]`
    /// (for 112x112 crops), audio log-mels `[B, 1, 96, 64]` → `[B, 8w, 6, 4]`.
    public func featureMap(_ modality: Modality, _ input: Tensor) -> Tensor {
        switch modality {
        case .video:
            guard let video else { preconditionFailure("TrainModel.featureMap: no video encoder") }
            return video.features(input)
        case .audio:
            guard let audio else { preconditionFailure("TrainModel.featureMap: no audio encoder") }
            return audio.features(input)
        case .text:
            preconditionFailure("TrainModel.featureMap: the text encoder has no feature map")
        }
    }

    /// The modalities this model has an encoder for.
    public var modalities: [Modality] {
        [video.map { _ in Modality.video }, audio.map { _ in .audio }, text.map { _ in .text }].compactMap { $0 }
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

    public init(model: TrainModel, batch: Batch) { (self.model, self.batch) = (model, batch) }

    /// The value under `key`, computed once per batch.
    func cached(_ key: String, _ make: () -> Tensor) -> Tensor {
        if let t = cache[key] { return t }
        let t = make()
        cache[key] = t
        return t
    }

    /// The video encoder's feature map `[rows, 8w, T', 7, 7]`.
    public var videoFeatures: Tensor { cached("video.features") { model.featureMap(.video, batch.stream(.video)) } }

    /// The video encoder's feature map of the clips of rows 2k and 2k + 1 side by side (row 2k
    /// on the left): inputs `[rows / 2, 3, T, H, 2W]` → `[rows / 2, 8w, T', h, w']`. An odd last
    /// row is left out.
    public var pairedVideoFeatures: Tensor {
        cached("video.paired") { model.featureMap(.video, Self.sideBySide(batch.stream(.video))) }
    }

    /// Clips of rows 2k and 2k + 1 side by side: `x: [B, C, T, H, W]` → `[B / 2, C, T, H, 2W]`,
    /// row 2k on the left; an odd last row is left out.
    public static func sideBySide(_ x: Tensor) -> Tensor {
        let (pairs, c, t, h, w) = (x.shape[0] / 2, x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        precondition(x.rank == 5 && pairs > 0, "Encodings.sideBySide: needs [B >= 2, C, T, H, W], got \(x.shape)")
        let even = x.shape[0] == 2 * pairs ? x : x.indexSelect(axis: 0, Array(0..<(2 * pairs)))
        return even.reshaped([pairs, 2, c, t, h, w]).permuted([0, 2, 3, 4, 1, 5]).reshaped([pairs, c, t, h, 2 * w])
    }

    /// `[rows, 8w]` pooled video embeddings.
    public var video: Tensor { cached("video") { videoFeatures.globalAveragePooled() } }

    /// The audio encoder's feature map `[rows, 8w, melFrames/16, 4]` (time, then frequency).
    public var audioFeatures: Tensor { cached("audio.features") { model.featureMap(.audio, batch.stream(.audio)) } }

    /// `[rows, 8w]` audio embeddings.
    public var audio: Tensor { cached("audio") { audioFeatures.globalAveragePooled() } }

    /// `[B·first, 256]` narration embeddings: the first `first` text views of each example
    /// (the text stream holds `perExample` of them per example).
    public func text(first: Int) -> Tensor {
        cached("text.\(first)") {
            let stream = batch.stream(.text)  // [B·perExample, tokens]
            let examples = batch.examples.count, perExample = stream.shape[0] / examples, tokens = stream.shape[1]
            var ids: [Int] = []
            ids.reserveCapacity(examples * first * tokens)
            for i in 0..<examples {
                for k in 0..<first { ids += stream.data[((i * perExample + k) * tokens)..<((i * perExample + k + 1) * tokens)].map { Int($0) } }
            }
            return model.encode(.text, Tensor(shape: [examples * first, tokens], data: ids.map(Float.init)))
        }
    }
}

extension TrainModel {
    /// The joint spaces this model embeds into, by objective name, with their modalities
    /// (e.g. `milnce`: video and text; `avnce`: video and audio).
    public var jointSpaces: [(space: String, modalities: [Modality])] {
        objectives.filter { !$0.objective.jointModalities.isEmpty }.map { ($0.name, $0.objective.jointModalities) }
    }

    /// L2-normalised embeddings `[B, D]` in `space` of a batch of one modality (inputs as
    /// `encode`). Evaluation mode, no gradients.
    public func embed(_ modality: Modality, _ input: Tensor, space: String) -> Tensor {
        guard let o = objectives.first(where: { $0.name == space }), o.objective.jointModalities.contains(modality) else {
            preconditionFailure("TrainModel.embed: no joint space '\(space)' with \(modality.rawValue)")
        }
        return Autograd.withoutGradients { o.objective.embed(modality, encode(modality, input)) }
    }
}
