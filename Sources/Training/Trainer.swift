import Corpora
import Foundation
import Models
import Media
import NN
import Pipeline
import TensorCore
import Text

/// What the trainer reports as it goes (the command line draws the progress line from it).
public enum TrainEvent {
    case problem(String)
    case started(step: Int, total: Int, videos: Int, parameters: Int)
    /// The encoders were initialised from a checkpoint (`init_from`): its path and the tensors loaded.
    case initialised(from: String, tensors: Int)
    case step(StepMetrics)
    case checkpoint(path: String, step: Int)
}

/// One step's log line (`metrics.jsonl`).
public struct StepMetrics: Codable, Sendable {
    public var step: Int
    public var loss: Double
    public var losses: [String: Double]
    public var metrics: [String: Double]
    public var lr: Double
    public var clipsPerSecond: Double
    /// Share of this step's wall time spent waiting for the batch.
    public var dataWait: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case step, loss, losses, metrics, lr, seconds
        case clipsPerSecond = "clips_per_s"
        case dataWait = "data_wait"
    }
}

extension StepMetrics {
    /// The TensorBoard scalars of this step: `loss`, `loss/<objective>`, each objective's
    /// metrics (`<objective>_accuracy` as `accuracy/<objective>`, others by their `metrics.jsonl`
    /// keys), `lr`, `clips_per_s`, `data_wait`.
    public var scalars: [String: Double] {
        var s: [String: Double] = ["loss": loss, "lr": lr, "clips_per_s": clipsPerSecond, "data_wait": dataWait]
        for (name, value) in losses { s["loss/" + name] = value }
        for (name, value) in metrics {
            s[name.hasSuffix("_accuracy") ? "accuracy/" + name.dropLast("_accuracy".count) : name] = value
        }
        return s
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(step: Int, objective: String, value: Float, checkpoint: String?)
    case interrupted(step: Int, checkpoint: String)
    case noVideos(String)
    case wouldOverwrite(String)
    case alreadyDone(checkpoint: String, step: Int, steps: Int)
    public var description: String {
        switch self {
        case .nonFinite(let s, let o, let v, let c):
            "the loss became \(v) at step \(s) (objective \(o)); stopped. "
                + (c.map { "The last good checkpoint is \($0); lower the learning rate and --resume." } ?? "No checkpoint was written yet; lower the learning rate.")
        case .interrupted(let s, let c): "interrupted after step \(s); saved \(c) (continue with --resume)"
        case .noVideos(let why): why
        case .wouldOverwrite(let c):
            "\(c) exists: continue that run with --resume, or start again over it with --overwrite (its checkpoint and metrics are replaced)"
        case .alreadyDone(let c, let step, let steps):
            "\(c) is at step \(step) and steps is \(steps): nothing to resume (raise steps=N above \(step) to train on)"
        }
    }
}

/// Runs a config: builds the model, the batch stream and the optimizer, and trains, writing
/// metrics, checkpoints and progress. A stopped run resumes from `out/checkpoint.safetensors`.
public final class Trainer {
    public let config: TrainConfig
    public let model: TrainModel
    /// Each objective's name and weight, in the order of `model.objectives`.
    let weights: [(name: String, weight: Float)]
    /// The examples every objective needs, merged.
    let spec: ExampleSpec
    let optimizer: Optimizer
    public var checkpointPath: String { (config.out as NSString).appendingPathComponent("checkpoint.safetensors") }
    public var metricsPath: String { (config.out as NSString).appendingPathComponent("metrics.jsonl") }
    /// Set (from a signal handler) to stop after the current step with a checkpoint.
    public let stopRequested = StopFlag()

    public init(config: TrainConfig) throws {
        self.config = config
        weights = config.objectives.map { ($0.name, $0.weight) }
        let methods = try config.objectives.map { o in
            do { return (o.name, try MethodRegistry.make(o.name, options: o.options)) } catch { throw ConfigError.invalid("config", "\(error)") }
        }
        // Objectives that cannot share batches are refused before any checkpoint or corpus is read.
        spec = try Self.mergedSpec(methods)
        model = try TrainModel(config: config, vocabulary: spec.views.contains { $0.modality == .text } ? try Self.vocabulary(config) : nil)
        let o = config.optimizer
        switch o.name {
        case "adamw": optimizer = AdamW(model.parameters, learningRate: o.lr, weightDecay: o.weightDecay)
        case "lars": optimizer = LARS(model.namedParameters(), learningRate: o.lr, momentum: o.momentum, weightDecay: o.weightDecay)
        default: optimizer = SGD(model.parameters, learningRate: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov)
        }
    }

    /// The vocabulary of the training split's narrations (`text.min_count`, `text.vocabulary_size`).
    static func vocabulary(_ config: TrainConfig) throws -> Vocabulary {
        let corpus = try Corpus(path: config.corpus)
        var texts: [String] = []
        for e in corpus.entries where e.split == config.split {
            guard let n = e.narration, let lines = try? Subtitles.read(path: corpus.resolve(n)) else { continue }
            texts += lines.map(\.text)
        }
        guard !texts.isEmpty else {
            throw TrainingError.noVideos("\(config.corpus): no narrations in split '\(config.split)'; a text objective needs them")
        }
        let t = config.text ?? TrainConfig.TextEncoder()
        return Vocabulary(building: texts, minimumCount: t.minCount, maximumSize: t.vocabularySize)
    }

    /// The examples every objective needs, merged.
    static func mergedSpec(_ objectives: [(name: String, method: any MethodInstance)]) throws -> ExampleSpec {
        var spec = objectives[0].method.spec
        for o in objectives.dropFirst() {
            guard let m = spec.merged(with: o.method.spec) else {
                throw ConfigError.invalid("config", "objectives \(objectives.map(\.name)) ask for clips at different times and cannot share batches")
            }
            spec = m
        }
        // Each objective reads every view of a modality as its own (text views excepted:
        // milnce takes the first it asks for), so the merged batch must hold the same ones.
        for o in objectives {
            for m in [Modality.video, .audio] {
                let own = o.method.spec.views.filter { $0.modality == m }
                guard own.isEmpty || own == spec.views.filter({ $0.modality == m }) else {
                    var why = "objectives \(objectives.map(\.name)) ask for different \(m.rawValue) views and cannot share batches"
                    if objectives.contains(where: { $0.name == "avc" }) { why += " (avc with negatives_from: batch shares avnce's)" }
                    throw ConfigError.invalid("config", why)
                }
            }
        }
        return spec
    }

    func learningRate(_ step: Int) -> Float {
        let o = config.optimizer
        if o.schedule == "cosine" { return Schedule.warmupCosine(step: step, total: config.steps, warmup: o.warmupSteps, base: o.lr) }
        return step < o.warmupSteps ? o.lr * Float(step + 1) / Float(o.warmupSteps) : o.lr
    }

    /// The split's videos that can serve the objectives: from the clip cache when the config
    /// names one (checked against the clip geometry), else probed in the corpus.
    func trainingVideos(needs: Set<Modality>) throws -> (videos: [SampledVideo], problems: [CorpusProblem], cache: ClipCache?) {
        guard let path = config.cache else {
            let corpus = try Corpus(path: config.corpus)
            let (videos, problems) = SampledVideo.load(corpus: corpus, split: config.split, needs: needs, geometry: config.clip)
            return (videos, problems, nil)
        }
        let cache = try ClipCache(directory: path)
        guard cache.manifest.geometry == config.clip else {
            throw ClipCacheError.geometryMismatch(path, "the cache was made for another clip geometry than this config's `clip` "
                                                  + "(make it again with concord prepare, or use the cache's geometry)")
        }
        let corpus = try Corpus(path: config.corpus)
        try cache.check(against: corpus, split: config.split)
        var problems: [CorpusProblem] = []
        var cached = cache.videos(split: config.split)
        if needs.contains(.text) {
            // Narrations are not in the cache: they come from the corpus's side files.
            problems += SampledVideo.attachNarrations(&cached, from: corpus)
        }
        let videos = cached.filter { v in
            let missing = needs.contains(.video) && !v.hasVideo ? "video" : needs.contains(.audio) && !v.hasAudio ? "audio"
                : needs.contains(.text) && v.narrations.isEmpty ? "narration" : nil
            if let missing { problems.append(CorpusProblem(file: v.path, problem: "no \(missing) in the cache or corpus (this objective needs it)")) }
            return missing == nil
        }
        return (videos, problems, cache)
    }

    /// Trains to `config.steps`, from the last checkpoint when `resume` is set. Returns the
    /// metrics of the steps run. A fresh run into a folder that holds a checkpoint is refused
    /// unless `overwrite` is set (it would replace the checkpoint and restart the metrics).
    @discardableResult
    public func run(resume: Bool = false, overwrite: Bool = false, report: @escaping @Sendable (TrainEvent) -> Void) throws -> [StepMetrics] {
        let lock = try FolderLock(folder: config.out, purpose: "concord train (\(config.steps) steps)")
        defer { lock.release() }
        if let previous = lock.tookOverFrom { report(.problem("took over the lock left by \(previous), which is no longer running")) }
        var start = 0
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else { throw CheckpointError.noCheckpoint(config.out) }
            let checkpoint = try Checkpoint(path: checkpointPath)
            try checkpoint.restore(model: model, optimizer: optimizer, path: checkpointPath)
            start = checkpoint.step
            guard start < config.steps else { throw TrainingError.alreadyDone(checkpoint: checkpointPath, step: start, steps: config.steps) }
            try truncateMetrics(after: start)
        } else {
            if !overwrite && FileManager.default.fileExists(atPath: checkpointPath) {
                throw TrainingError.wouldOverwrite(checkpointPath)
            }
            if FileManager.default.fileExists(atPath: metricsPath) { try FileManager.default.removeItem(atPath: metricsPath) }
            for old in TensorBoard.eventFiles(in: config.out) { try FileManager.default.removeItem(atPath: old) }
            if let reference = config.initFrom {
                let path = try ReleasedModels.resolve(reference)
                report(.initialised(from: path, tensors: try initialiseEncoders(from: path)))
            }
        }
        let needs = Set(spec.views.map(\.modality))
        let (videos, problems, cache) = try trainingVideos(needs: needs)
        for p in problems { report(.problem("skipping \(p.file): \(p.problem)")) }
        guard videos.count >= 2 else {
            throw TrainingError.noVideos("\(config.corpus): \(videos.count) usable video(s) in split '\(config.split)'; training needs at least 2")
        }
        let videoAugmentation: VideoAugmentation = switch config.augment.video {
        case "strong": .strong
        case "light": .light
        case "none": .none
        default: model.objectives[0].objective.videoAugmentation
        }
        let loader = ClipLoader(videos: videos, geometry: config.clip, video: videoAugmentation,
                                audio: config.augment.audio == "none" ? .none : .standard, cache: cache, vocabulary: model.vocabulary)
        let sampler = ClipSampler(videos: videos, spec: spec, geometry: config.clip, seed: UInt64(config.seed))
        let stream = BatchStream(sampler: sampler, loader: loader, batchSize: config.batchSize, startStep: start,
                                 workers: config.workers, onProblem: { report(.problem($0)) })
        defer { stream.stop() }
        report(.started(step: start, total: config.steps, videos: videos.count, parameters: model.parameters.reduce(0) { $0 + $1.count }))
        model.train()
        var log: [StepMetrics] = []
        let metricsFile = try openForAppending(metricsPath)
        defer { try? metricsFile.close() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let events = try EventFileWriter(folder: config.out)
        if start > 0 { try events.restart(at: start + 1) }
        for step in start..<config.steps {
            if stopRequested.isSet {
                try saveCheckpoint(step: step, report: report)
                throw TrainingError.interrupted(step: step, checkpoint: checkpointPath)
            }
            Profiler.skip()  // set-up before the first step is not a step's time
            let t0 = DispatchTime.now().uptimeNanoseconds
            let (batch, waited) = try stream.next()
            Profiler.charge("data wait")
            optimizer.learningRate = learningRate(step)
            Profiler.whole("zero grad") { model.zeroGrad() }
            let encodings = Encodings(model: model, batch: batch)
            var total: Tensor? = nil
            var losses: [String: Double] = [:], metrics: [String: Double] = [:]
            for (o, w) in zip(model.objectives, weights) {
                let (loss, m) = o.objective.loss(encodings, batch: batch)
                let value = loss.item
                guard value.isFinite else {
                    throw TrainingError.nonFinite(step: step + 1, objective: w.name, value: value,
                                                  checkpoint: FileManager.default.fileExists(atPath: checkpointPath) ? checkpointPath : nil)
                }
                losses[w.name] = Double(value)
                metrics.merge(m) { a, _ in a }
                total = total.map { $0 + loss * w.weight } ?? loss * w.weight
            }
            Profiler.charge("forward (between operations)")
            total!.backward()
            Profiler.whole("optimizer") {
                if config.optimizer.clipNorm > 0 { clipGradientNorm(model.parameters, maxNorm: config.optimizer.clipNorm) }
                optimizer.step()
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let clips = (batch.streams[.video] ?? batch.stream(.audio)).shape[0]  // video clips (audio windows without video)
            let entry = StepMetrics(step: step + 1, loss: Double(total!.item), losses: losses, metrics: metrics,
                                    lr: Double(optimizer.learningRate), clipsPerSecond: Double(clips) / seconds,
                                    dataWait: waited / seconds, seconds: seconds)
            log.append(entry)
            if (step + 1) % config.logEvery == 0 || step + 1 == config.steps {
                try metricsFile.write(contentsOf: encoder.encode(entry) + Data("\n".utf8))
                try events.scalars(entry.scalars, step: entry.step)
            }
            report(.step(entry))
            if (step + 1) % config.checkpointEvery == 0 || step + 1 == config.steps {
                try saveCheckpoint(step: step + 1, report: report)
            }
            Profiler.charge("logging and checkpoints")
        }
        return log
    }

    /// Loads every encoder tensor of the model (names under `video.`, `audio.`, `text.`) from the
    /// checkpoint at `path`; the heads keep their initialisation. Returns how many were loaded.
    /// Throws when the checkpoint lacks one of them or has it in another shape (another preset
    /// or width), naming the tensors.
    func initialiseEncoders(from path: String) throws -> Int {
        let source = try Checkpoint(path: path)
        let encoderPrefixes = ["video.", "audio.", "text."]
        func isEncoder(_ name: String) -> Bool { encoderPrefixes.contains { name.hasPrefix($0) } }
        var file = source.file
        file.entries = file.entries.filter { isEncoder($0.key) }
        let report = try model.load(file, strict: false, path: path)
        let missing = report.missing.filter(isEncoder)
        guard missing.isEmpty, report.misshaped.isEmpty, report.unexpected.isEmpty else {
            let problems = [("missing", missing), ("not in this model", report.unexpected), ("mis-shaped", report.misshaped)]
                .filter { !$0.1.isEmpty }.map { "\($0.0): \($0.1.prefix(4).joined(separator: ", "))\($0.1.count > 4 ? ", …" : "")" }
            throw CheckpointError.incompatible(path, "its encoders do not fit this config's (\(problems.joined(separator: "; ")))")
        }
        return (model.namedParameters() + model.namedBuffers()).filter { isEncoder($0.0) }.count
    }

    func saveCheckpoint(step: Int, report: (TrainEvent) -> Void) throws {
        try Checkpoint.write(model: model, optimizer: optimizer, config: config, step: step, to: checkpointPath)
        report(.checkpoint(path: checkpointPath, step: step))
    }

    func openForAppending(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        return handle
    }

    /// Drops logged steps after `step` (they are about to be run again).
    func truncateMetrics(after step: Int) throws {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let d = try? JSONDecoder().decode(StepMetrics.self, from: Data(line.utf8)) else { return false }
            return d.step <= step
        }
        try writeAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: metricsPath)
    }
}

/// A flag set from a signal handler and read by the training loop.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    public func set() { lock.lock(); value = true; lock.unlock() }
}
