import ArgumentParser
import Corpora
import Evaluation
import Foundation
import Media
import Pipeline
import Retrieval
import Synthesis
import TensorCore
import Models
import Training

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Concord in about five minutes: the released encoders probed on fresh videos, a short training run from scratch, and text search with the released MIL-NCE model.",
        discussion: """
        1. synthesises a fresh sounding-objects corpus (a seed no released model was trained on) and \
        probes the released avc-sounding-objects encoders against the same architecture at random \
        initialisation (linear probe and kNN, video and audio); 2. trains avnce from scratch on it for a \
        few minutes with small clips and narrow encoders, and probes that run the same way; 3. answers the \
        canonical step texts of a fresh narrated corpus with the released milnce-narrated-howto model and \
        prints how often the best window is a moment of that step; 4. delays a test video's audio and finds \
        and undoes the delay with the released avsync model; 5. localises the sounds of fresh real-photo \
        videos with the released avnce-loc model (figures beside a centred prior, and overlay pictures); \
        6. says where everything lies. A part \
        whose model is not installed is skipped with a message.
        """)

    @Option(help: "Where to write everything (default: a new temporary folder).")
    var out: String?

    @Option(help: "Seed of the fresh corpora (the released models were trained on seeds 3 and 2).")
    var seed: UInt64 = 11

    @Option(name: .customLong("test-videos"), help: "Test videos of the fresh corpus (twice as many fit the probes and train part 2).")
    var testVideos: Int = 100

    @Option(name: .customLong("train-steps"), help: "Steps of the from-scratch run (part 2).")
    var trainSteps: Int = 800

    @Option(name: .customLong("narrated-videos"), help: "Videos of the fresh narrated corpus (part 3).")
    var narratedVideos: Int = 16

    @Option(name: .customLong("photo-videos"), help: "Videos of the fresh sounding-photos corpus (part 5).")
    var photoVideos: Int = 24

    @Option(help: "Clips a video for the probes' features.")
    var clips: Int = 5

    @Option(help: "Which parts to run (comma-separated, of 1,2,3,4,5).")
    var parts: String = "1,2,3,4,5"

    @OptionGroup var global: GlobalOptions

    static let encoderModel = "avc-sounding-objects"

    /// Part 2's run: `configs/avnce-demo.yaml` on `corpus`.
    static func fromScratchConfig(corpus: String, steps: Int, seed: UInt64) throws -> TrainConfig {
        let avnce = try MethodRegistry.resolve("avnce", options: ["temperature": .number(0.07)])
        var config = TrainConfig(corpus: corpus, objectives: [TrainConfig.Objective(name: "avnce", options: avnce)])
        config.clip.shortSide = 40
        config.clip.size = 32
        config.video = TrainConfig.Encoder(preset: "r2plus1d-tiny", width: 8)
        config.audio = TrainConfig.Encoder(preset: "vggish-tiny", width: 8)
        config.optimizer.name = "adamw"
        config.optimizer.lr = 0.003
        config.optimizer.weightDecay = 1e-4
        config.optimizer.warmupSteps = 10
        config.augment.video = "strong"
        config.batchSize = 64
        config.steps = steps
        config.seed = Int(seed)
        config.checkpointEvery = 800  // the trainer also writes one at the end
        return config
    }
    static let searchModel = "milnce-narrated-howto"

    func run() throws {
        global.apply()
        let selected = Set(parts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        guard !selected.isEmpty, selected.isSubset(of: [1, 2, 3, 4, 5]) else { throw ValidationError("--parts: a comma-separated list of 1, 2, 3, 4, 5") }
        guard (4...1000).contains(photoVideos) else { throw ValidationError("--photo-videos must be between 4 and 1000") }
        guard testVideos >= 16 else { throw ValidationError("--test-videos must be at least 16 (two a class)") }
        let folder = out ?? (NSTemporaryDirectory() + "concord-demo-\(ProcessInfo.processInfo.processIdentifier)")
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: folder), !existing.isEmpty {
            throw ValidationError("\(folder) is not empty; the demo writes a corpus, a cache, a run and an index there: give a new or empty --out")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let started = Date()
        print("Concord demo: seed \(seed), writing to \(folder)")
        var written: [(String, String)] = []
        let objects = (folder as NSString).appendingPathComponent("objects")
        if !selected.isDisjoint(with: [1, 2, 4]) {
            print("\nsynthesising \(3 * testVideos) sounding-objects videos (seed \(seed): \(2 * testVideos) to fit the probes and to train on, \(testVideos) to test)")
            try synthesise("sounding-objects", videos: 3 * testVideos, testShare: 1.0 / 3, into: objects)
            written.append((objects, "the fresh sounding-objects corpus (concord inspect \(objects))"))
        }
        if selected.contains(1) { try releasedEncoders(corpus: objects) }
        if selected.contains(2) { written += try trainFromScratch(corpus: objects, folder: folder) }
        if selected.contains(3) { written += try textSearch(folder: (folder as NSString).appendingPathComponent("narrated")) }
        if selected.contains(4) { written += try syncOffset(corpus: objects, folder: folder) }
        if selected.contains(5) { written += try localization(folder: folder) }

        print("\n6. What was written (in \(ProgressLine.clock(Date().timeIntervalSince(started))))")
        for (path, what) in written { print("   " + pad(path, 44) + what) }
        print("""
           On your own data (a corpus folder: manifest.jsonl and media; see the README):
             concord inspect CORPUS                                     check it: streams, splits, problems
             concord prepare CORPUS --config configs/avnce-small-clips.yaml --out CACHE
             concord train --config configs/avnce-small-clips.yaml corpus=CORPUS cache=CACHE out=RUN
             concord eval linear --checkpoint RUN --corpus CORPUS --modality all   (and --random-init)
             concord embed --checkpoint milnce-narrated-howto CORPUS --out INDEX
             concord search --index INDEX --text "..."
           tensorboard --logdir RUN shows a run's curves; concord models lists the released models.
        """)
    }

    func synthesise(_ recipe: String, videos: Int, testShare: Double, into folder: String) throws {
        var options = SynthOptions(videos: videos, seed: seed)
        options.testShare = testShare
        options.valShare = 0
        let progress = ProgressLine("   synth", total: videos, unit: "videos")
        _ = try Synthesizer.run(try Synthesizer.recipe(named: recipe), options: options, folder: folder) { done, _ in progress.update(done) }
    }

    /// Linear-probe and kNN accuracy on the test split of `corpus` for each model (features
    /// decoded once for all), by modality and probe: `[model][("video linear", accuracy)]`.
    func probes(_ models: [TrainModel], corpus: Corpus, geometry: ClipGeometry) throws -> [[String: Double]] {
        var results = [[String: Double]](repeating: [:], count: models.count)
        for modality in [Modality.video, .audio] {
            var features: [String: [VideoFeatures]] = [:]
            for split in ["train", "test"] {
                var line: ProgressLine?
                let (f, problems) = try VideoFeatures.extract(models: models, modality: modality, corpus: corpus, split: split, labelKey: "class",
                                                              clips: clips, geometry: geometry) { done, total in
                    if line == nil { line = ProgressLine("   \(modality.rawValue) features, \(split) split", total: total, unit: "videos") }
                    line?.update(done)
                }
                for p in problems { note("   skipped \(p.file): \(p.problem)") }
                features[split] = f
            }
            for m in models.indices {
                let (train, test) = (features["train"]![m], features["test"]![m])
                results[m]["\(modality.rawValue) linear"] = linearProbeAccuracy(train: train, test: test).accuracy
                results[m]["\(modality.rawValue) knn"] = knnAccuracy(train: train, test: test)
            }
        }
        return results
    }

    /// The probe table: each row's baseline, trained figure and change, and whether the change
    /// is beyond what the test set's size lets one tell from noise.
    func printTable(random: [String: Double], trained: [String: Double], trainedName: String, testCount: Int) {
        print("   encoder  probe   random init  " + pad(trainedName, 10) + "change")
        // NOTE: the standard error of an accuracy near 50 % on n videos is about 50/√n points;
        // a difference of two such errors is the least this demo calls a gain.
        let noise = 2 * 50 / Double(max(testCount, 1)).squareRoot()
        for key in ["video linear", "video knn", "audio linear", "audio knn"] {
            guard let before = random[key], let after = trained[key] else { continue }
            let change = (1000 * (after - before)).rounded() / 10  // in points, as printed
            let parts = key.split(separator: " ")
            let verdict = change >= 10 ? "" : change > noise ? "  (a gain, under 10 points)" : "  (within noise: not a gain)"
            print("   " + pad(String(parts[0]), 9) + pad(String(parts[1]), 8) + pad(String(format: "%.1f %%", 100 * before), 13)
                  + pad(String(format: "%.1f %%", 100 * after), 10) + String(format: "%+.1f points", change) + verdict)
        }
        print(String(format: "   (%d test videos, 8 classes: chance 12.5 %%; differences under about %.0f points are within noise)", testCount, noise))
    }

    /// Part 1: the released encoders against their architecture at initialisation.
    func releasedEncoders(corpus path: String) throws {
        print("\n1. The released encoders on videos they have never seen")
        guard let model = try? ReleasedModels.resolve(Self.encoderModel) else {
            print("   skipped: the released model \(Self.encoderModel) is not installed (models/ of the repository; concord models lists what is)")
            return
        }
        let (released, checkpoint) = try loadModel(checkpoint: model, randomInit: false)
        let (random, _) = try loadModel(checkpoint: model, randomInit: true)
        let objectives = checkpoint.config.objectives.map(\.name).joined(separator: "+")
        print("   \(Self.encoderModel) (\(model): \(objectives), step \(checkpoint.step); card in models/README.md)")
        let corpus = try Corpus(path: path)
        let results = try probes([random, released], corpus: corpus, geometry: checkpoint.config.clip)
        printTable(random: results[0], trained: results[1], trainedName: "released", testCount: corpus.entries.filter { $0.split == "test" }.count)
        print("   the same figures: concord eval linear|knn --checkpoint \(Self.encoderModel) --corpus \(path) --modality all [--random-init]")
    }

    /// Part 2: avnce from scratch on the fresh corpus's train split, then the same probes.
    func trainFromScratch(corpus: String, folder: String) throws -> [(String, String)] {
        let cache = (folder as NSString).appendingPathComponent("objects-cache")
        let run = (folder as NSString).appendingPathComponent("run")
        print("\n2. Training from scratch: avnce on the \(2 * testVideos) training videos, \(trainSteps) steps")
        // NOTE: the settings of configs/avnce-demo.yaml (a test checks that the two agree).
        var config = try Self.fromScratchConfig(corpus: corpus, steps: trainSteps, seed: seed)
        config.out = run
        config.cache = cache
        print("   concord prepare \(corpus) --config configs/avnce-demo.yaml --split train --out \(cache)")
        var line: ProgressLine?
        _ = try ClipCache.prepare(corpus: try Corpus(path: corpus), split: "train", geometry: config.clip, out: cache, workers: 2) { event in
            switch event {
            case .progress(let done, let total):
                if line == nil { line = ProgressLine("   prepare", total: total, unit: "videos") }
                line?.update(done)
            case .problem(let file, let reason): note("   skipping \(file): \(reason)")
            case .notice(let text): note("   " + text)
            }
        }
        print("   concord train --config configs/avnce-demo.yaml corpus=\(corpus) cache=\(cache) out=\(run) steps=\(trainSteps) seed=\(seed)")
        let trainer = try Trainer(config: config)
        let progress = TrainProgress(total: trainSteps)
        let history = try trainer.run(overwrite: true) { progress.handle($0) }  // the demo's own folder
        let tenth = max(1, history.count / 10)
        let tenths = stride(from: 0, to: history.count, by: tenth).map { start in
            let part = history[start..<min(history.count, start + tenth)]
            return part.map(\.loss).reduce(0, +) / Double(part.count)
        }
        print("   loss, mean of each tenth of the run: " + tenths.map { String(format: "%.2f", $0) }.joined(separator: " → ")
              + String(format: " (chance: log %d = %.2f)", config.batchSize, log(Double(config.batchSize))))
        let (trained, checkpoint) = try loadModel(checkpoint: trainer.checkpointPath, randomInit: false)
        let (random, _) = try loadModel(checkpoint: trainer.checkpointPath, randomInit: true)
        let corpusValue = try Corpus(path: corpus)
        let results = try probes([random, trained], corpus: corpusValue, geometry: checkpoint.config.clip)
        printTable(random: results[0], trained: results[1], trainedName: "trained", testCount: corpusValue.entries.filter { $0.split == "test" }.count)
        let gains = results[1].filter { (1000 * ($0.value - (results[0][$0.key] ?? 0))).rounded() >= 100 }.map(\.key).sorted()
        if gains.isEmpty {
            print("   Not convincing in this time: the loss falls as the encoders learn the training videos, but no probe of unseen videos")
            print("   gains 10 points; features that carry the classes take longer (the released encoders: see their card in models/README.md)")
        } else {
            print("   10 points or more in this time: \(gains.joined(separator: ", ")); the other rows need longer training (models/README.md)")
        }
        return [(cache, "its clip cache (concord prepare)"), (run, "the run: checkpoint.safetensors, metrics.jsonl, TensorBoard events")]
    }

    static let syncModel = "avsync-sounding-objects"

    /// Part 4: the released avsync model finds an offset put into a fresh test video, and the
    /// copy it writes to undo it reads as in sync.
    func syncOffset(corpus: String, folder: String) throws -> [(String, String)] {
        print("\n4. Finding and fixing out-of-sync audio")
        guard let checkpoint = try? ReleasedModels.resolve(Self.syncModel) else {
            print("   skipped: the released model \(Self.syncModel) is not installed (concord models lists what is)")
            return []
        }
        let c = try Corpus(path: corpus)
        // The longest test video: the most windows to sum the scores over.
        guard let entry = c.entries.filter({ $0.split == "test" }).max(by: { ($0.duration ?? 0) < ($1.duration ?? 0) }) else {
            print("   skipped: no test video")
            return []
        }
        let (late, fixed) = ((folder as NSString).appendingPathComponent("late.mp4"), (folder as NSString).appendingPathComponent("fixed.mp4"))
        let delay = 0.32
        try Remuxer.copy(from: c.resolve(entry.media), to: late, audioShift: delay)
        print(String(format: "   %@ with its audio delayed by %.3f s (no re-encoding): %@", entry.id, delay, late))
        let (model, ckpt) = try loadModel(checkpoint: checkpoint, randomInit: false)
        let evaluation = try SyncEvaluation(model: model)
        let grid = SyncEvaluation.Grid(name: "sync", step: 0.04, steps: 15)
        let e = try evaluation.estimate(file: late, geometry: ckpt.config.clip, grid: grid, stride: 0.96)
        let found = abs(e.offset - delay) < 0.02 ? "the offset put in" : abs(e.offset - delay) < 0.06 ? "one 40 ms step from the offset put in" : "not the offset put in"
        print(String(format: "   concord sync late.mp4: offset %+.3f s (%@), confidence %.3f over %d windows", e.offset, found, e.confidence, e.windows))
        try Remuxer.copy(from: late, to: fixed, audioShift: -e.offset)
        let f = try evaluation.estimate(file: fixed, geometry: ckpt.config.clip, grid: grid, stride: 0.96)
        print(String(format: "   concord sync late.mp4 --fix fixed.mp4, then concord sync fixed.mp4: offset %+.3f s, confidence %.3f", f.offset, f.confidence))
        print("   (\(Self.syncModel) knows sounding-objects videos; on other footage its estimates are not yet reliable: models/README.md)")
        return [(late, "a test video with its audio delayed"), (fixed, "the copy concord sync --fix wrote")]
    }

    /// Part 3: the released milnce model answers the step texts of a fresh narrated corpus.
    func textSearch(folder: String) throws -> [(String, String)] {
        print("\n3. Searching narrated videos by text")
        guard let model = try? ReleasedModels.resolve(Self.searchModel) else {
            print("   skipped: the released model \(Self.searchModel) is not installed (concord models lists what is)")
            return []
        }
        print("   synthesising \(narratedVideos) narrated-howto-long videos (seed \(seed))")
        try synthesise("narrated-howto-long", videos: narratedVideos, testShare: 0.2, into: folder)
        let index = (folder as NSString).appendingPathComponent("index")
        print("   concord embed --checkpoint \(Self.searchModel) \(folder) --out \(index)")
        let (videos, problems) = try EmbedCommand.videos([folder], split: nil)
        for p in problems { note("   skipping \(p.file): \(p.problem)") }
        let line = ProgressLine("   embed", total: videos.count, unit: "videos")
        try IndexBuilder(checkpoint: model).build(videos: videos, out: index) { event in
            if case .progress(let done, _) = event { line.update(done) }
        }
        let corpus = try Corpus(path: folder)
        let segments = try ["train", "val", "test"].flatMap { try RetrievalEvaluation.stepSegments(corpus: corpus, split: $0) }
        let searcher = try Searcher(index: index, checkpoint: model)
        let hits = try RetrievalEvaluation.stepTextHits(searcher: searcher, segments: segments)
        print("   each step text, and the best of the index's \(searcher.index.segments(try searcher.space(query: .text, target: .video).table).count) windows:")
        for h in hits {
            let narration = searcher.nearestNarration(video: h.window.video, time: (h.window.start + h.window.end) / 2)
            print("   " + pad("\"\(h.text)\"", 26) + pad(h.window.video, 26) + String(format: "%6.2f–%-6.2f s  ", h.window.start, h.window.end)
                  + (h.correct ? "a moment of this step" : "another step") + (narration.map { "  (narration nearby: \($0))" } ?? ""))
        }
        let correct = hits.filter(\.correct).count
        let chance = hits.map(\.chance).reduce(0, +) / Double(max(hits.count, 1))
        print(String(format: "   step R@1: %d of %d step texts (%.0f %%); a random window would be a moment of the step %.0f %% of the time",
                     correct, hits.count, 100 * Double(correct) / Double(max(hits.count, 1)), 100 * chance))
        if 2 * correct <= hits.count { print("   (under half: on this corpus the model does not find most steps' moments)") }
        print("   your own: concord search --index \(index) --text \"...\"")
        return [(folder, "the fresh narrated corpus"), (index, "its search index (concord embed)")]
    }
}
