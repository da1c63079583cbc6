import AudioFeatures
import Foundation
import NN
import TensorCore
import Text

/// A training checkpoint: one safetensors file holding the model's state (PyTorch names under
/// `video.`, `audio.`, `heads.`), the optimizer's state under `optimizer.`, and metadata: the
/// config (JSON), the audio front-end, the step and the format.
public struct Checkpoint {
    public static let format = "concord-checkpoint-1"
    public var step: Int
    public var config: TrainConfig
    public var file: SafeTensorsFile
    /// The text encoder's vocabulary, when the model has one.
    public var vocabulary: Vocabulary?

    /// Writes the state of `model` and `optimizer` after `step` steps, atomically.
    public static func write(model: TrainModel, optimizer: Optimizer, config: TrainConfig, step: Int, to path: String) throws {
        var file = model.stateFile(metadata: [
            "format": format, "step": String(step), "config": config.json,
            "front_end": FrontEnd.default.json, "clip": String(decoding: (try? JSONEncoder().encode(config.clip)) ?? Data(), as: UTF8.self),
        ].merging(model.vocabulary.map { ["vocabulary": String(decoding: (try? JSONEncoder().encode($0)) ?? Data(), as: UTF8.self)] } ?? [:],
                  uniquingKeysWith: { a, _ in a }))
        for (name, t) in optimizer.state() { file.set("optimizer." + name, t) }
        try file.write(to: path)
    }

    public init(path: String) throws {
        file = try SafeTensorsFile(path: path)
        guard file.metadata["format"] == Self.format, let s = file.metadata["step"].flatMap({ Int($0) }), s >= 0,
              let c = file.metadata["config"] else {
            throw CheckpointError.notACheckpoint(path)
        }
        step = s
        do { config = try TrainConfig.fromJSON(c) } catch { throw CheckpointError.badConfig(path, "\(error)") }
        if let v = file.metadata["vocabulary"] {
            do { vocabulary = try JSONDecoder().decode(Vocabulary.self, from: Data(v.utf8)) } catch {
                throw CheckpointError.badConfig(path, "the stored vocabulary cannot be read (\(error))")
            }
        }
    }

    /// Loads the model state (strictly, optimizer entries aside) and the optimizer state.
    public func restore(model: TrainModel, optimizer: Optimizer?, path: String) throws {
        var modelFile = file
        modelFile.entries = file.entries.filter { !$0.key.hasPrefix("optimizer.") }
        try model.load(modelFile, strict: true, path: path)
        if let optimizer {
            var state: [String: Tensor] = [:]
            for key in file.entries.keys where key.hasPrefix("optimizer.") { state[String(key.dropFirst(10))] = file.tensor(key) }
            try optimizer.load(state: state)
        }
    }
}

/// The model of a checkpoint: its trained weights, or (`randomInit`) the same architecture at
/// the initialisation its config's seed gives — the baseline that training must beat.
public func loadModel(checkpoint path: String, randomInit: Bool) throws -> (TrainModel, Checkpoint) {
    let checkpoint = try Checkpoint(path: path)
    let model = try TrainModel(config: checkpoint.config, vocabulary: checkpoint.vocabulary)
    if !randomInit { try checkpoint.restore(model: model, optimizer: nil, path: path) }
    model.eval()
    return (model, checkpoint)
}

public enum CheckpointError: Error, CustomStringConvertible {
    case notACheckpoint(String)
    case badConfig(String, String)
    case noCheckpoint(String)
    case incompatible(String, String)
    public var description: String {
        switch self {
        case .notACheckpoint(let p): "\(p): not a Concord training checkpoint (no format/step/config metadata)"
        case .badConfig(let p, let why): "\(p): the stored config cannot be read (\(why))"
        case .noCheckpoint(let dir): "\(dir): no checkpoint to resume from (checkpoint.safetensors is missing)"
        case .incompatible(let p, let why): "\(p): \(why)"
        }
    }
}
