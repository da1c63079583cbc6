import Encoders
import NN
import Pipeline
import TensorCore

/// The encoders and heads of a run, under one state: `video.*`, `audio.*` (the presets'
/// PyTorch names after the prefix) and `heads.<objective>.*`.
public final class TrainModel: Module {
    public let video: R2Plus1DTiny?
    public let audio: VGGishTiny?
    public let heads: Heads

    /// The objectives' heads by objective name.
    public final class Heads: Module {
        public var items: [(String, Module)] = []
        public override var children: [(String, Module)] { items }
        public func head<T: Module>(_ name: String) -> T { items.first { $0.0 == name }!.1 as! T }
    }

    public init(config: TrainConfig) throws {
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
        heads = Heads()
        super.init()
        for o in config.objectives {
            heads.items.append((o.name.replacingOccurrences(of: "-", with: "_"),
                                objective(for: o).makeHead(videoWidth: video?.outputs ?? 0, audioWidth: audio?.outputs ?? 0, rng: &rng)))
        }
    }

    public override var children: [(String, Module)] {
        (video.map { [("video", $0 as Module)] } ?? []) + (audio.map { [("audio", $0 as Module)] } ?? []) + [("heads", heads)]
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

    /// `[rows, 8w]` audio embeddings.
    public var audio: Tensor {
        if let t = cache["audio"] { return t }
        let t = model.audio!(batch.streams["audio"]!)
        cache["audio"] = t
        return t
    }
}
