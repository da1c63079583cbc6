import ArgumentParser
import Retrieval
import Corpora
import Evaluation
import Foundation
import Pipeline
import TensorCore
import Models
import Training

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint's encoders (linear probe, kNN, audio-visual correspondence, synchronisation, cross-modal retrieval).",
        discussion: """
        linear: frozen features (a video's feature = mean of --clips uniformly spaced clips), logistic \
        regression on the train split, top-1 on the test split. knn: weighted cosine kNN (k 20, \
        temperature 0.07). avc: correspondence accuracy on balanced held-out pairs (each clip with \
        its own audio and with another video's), judged by the avc head, or by the avsync head's in-sync \
        decision for an avsync checkpoint. retrieval: on the step segments of the \
        test split of a narrated corpus (spans and canonical step texts from the annotations), text->video \
        and video->text (milnce/nce space), audio->video and video->audio (avnce space): each query's one \
        relevant item is its own segment; a segment's video or audio embedding is the mean of the index \
        windows centred in it; R@1/5/10, median and mean rank. sync (an avsync checkpoint): each of --clips \
        windows with its own audio and with it shifted by 0.5-2.0 s (accuracy at the method's rule and at a \
        threshold chosen on the pairs of --calibration-split; in sync scored above \
        shifted); offset estimation with the audio delayed by a drawn offset, every candidate scored, per \
        window and per video (scores summed), exact and within one step, on a grid of -15..+15 steps of \
        40 ms and on Synchformer's 21 classes over -2..+2 s. localization (an avnce localize: true checkpoint): \
        on the ground-truth moments of the test split (sounding-photos masks, or sounding-objects shapes), \
        LVS/EZ-VSL cIoU (share >= 0.5, AUC, mean), the pointing game, pixel AP, pointing on frames with a silent \
        object on screen, and SLAVC's detection AP / max-F1 over positives and off-screen or silent \
        negatives; each figure also for a centred Gaussian prior, a uniform map and the same architecture \
        at random init (docs/methods.md#localization). --random-init evaluates the same \
        architecture at its initialisation (the baseline). Writes one JSON result with the protocol.
        """)

    @Argument(help: "linear, knn, avc, sync, retrieval or localization.")
    var protocolName: String

    @Option(name: .customLong("checkpoint"), help: "The training checkpoint (checkpoint.safetensors), its run folder, or a released model's name (concord models).")
    var checkpointReference: String

    @Option(help: "The corpus (default: the one the checkpoint was trained on).")
    var corpus: String?

    @Option(help: "linear/knn: video, audio or all (every encoder the checkpoint has).")
    var modality: String = "all"

    @Option(help: "The label to classify (linear/knn); avc also splits its other-audio pairs by it.")
    var label: String = "class"

    @Option(help: "Clips per video.")
    var clips: Int = 10

    @Option(name: .customLong("train-split"), help: "Split the classifier is fitted on.")
    var trainSplit: String = "train"

    @Option(name: .customLong("test-split"), help: "Split the accuracy is measured on.")
    var testSplit: String = "test"

    @Option(name: .customLong("calibration-split"), help: "sync: the split whose pairs choose a decision threshold, judged on the test split beside the method's own rule (default val when the corpus has one; none: skip).")
    var calibrationSplit: String?

    @Option(help: "kNN neighbours.")
    var k: Int = 20

    @Flag(name: .customLong("random-init"), help: "Evaluate the architecture at its initialisation instead of the trained weights.")
    var randomInit = false

    @Option(help: "Write the JSON result here (it is printed as well).")
    var out: String?

    @Option(help: "retrieval: an index of the test split made by concord embed with this checkpoint (default: made in a temporary folder).")
    var index: String?

    @Option(help: "Also write the figures as TensorBoard scalars (eval/…, at the checkpoint's step) to an event file in this folder (e.g. the run's out folder).")
    var tensorboard: String?

    @Option(help: "Seed of the avc negatives and the probe's initialisation.")
    var seed: UInt64 = 0

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...1000).contains(clips) else { throw ValidationError("--clips must be between 1 and 1000 (got \(clips))") }
        guard (1...10_000).contains(k) else { throw ValidationError("--k must be between 1 and 10000 (got \(k))") }
    }

    func run() throws {
        global.apply()
        guard ["linear", "knn", "avc", "sync", "retrieval", "localization"].contains(protocolName) else {
            throw ValidationError("unknown protocol '\(protocolName)' (known: linear, knn, avc, sync, retrieval, localization)")
        }
        let checkpoint = try ReleasedModels.resolve(checkpointReference)
        let (model, ckpt) = try loadModel(checkpoint: checkpoint, randomInit: randomInit)
        let corpusPath = corpus ?? ckpt.config.corpus
        let corpus = try Corpus(path: corpusPath)
        let geometry = ckpt.config.clip
        var result: [String: Any] = [
            "protocol": protocolName, "checkpoint": checkpoint, "step": ckpt.step, "random_init": randomInit,
            "corpus": corpusPath, "clips_per_video": clips, "seed": seed,
            "clip": ["duration": geometry.duration, "frames": geometry.frames, "size": geometry.size, "sample_rate": geometry.sampleRate],
        ]
        var problems: [CorpusProblem] = []
        var scalars: [String: Double] = [:]
        let suffix = randomInit ? "_random_init" : ""
        if protocolName == "retrieval" {
            guard !randomInit else { throw ValidationError("retrieval evaluates the checkpoint's joint spaces; --random-init is not supported") }
            let segments = try RetrievalEvaluation.stepSegments(corpus: corpus, split: testSplit)
            guard !segments.isEmpty else { throw ValidationError("\(corpusPath): no step segments in split '\(testSplit)' (retrieval needs a narrated-howto corpus)") }
            var directory = index
            if directory == nil {
                let temporary = NSTemporaryDirectory() + "concord-eval-index-\(UUID().uuidString)"
                let (videos, p) = try EmbedCommand.videos([corpusPath], split: testSplit)
                problems += p
                var line: ProgressLine?
                try IndexBuilder(checkpoint: checkpoint).build(videos: videos, out: temporary) { event in
                    if case .progress(let done, let total) = event {
                        if line == nil { line = ProgressLine("embedding the \(testSplit) split", total: total, unit: "videos") }
                        line?.update(done)
                    }
                }
                directory = temporary
            }
            defer { if index == nil, let directory { try? FileManager.default.removeItem(atPath: directory) } }
            let embedded = try EmbeddingIndex(directory: directory!)
            let metrics = try RetrievalEvaluation.evaluate(index: embedded, model: model, segments: segments)
            guard !metrics.isEmpty else { throw ValidationError("\(checkpoint): no joint space with video (train milnce, nce or avnce)") }
            for (direction, m) in metrics {
                for (name, value) in [("R@1", m.r1), ("R@5", m.r5), ("R@10", m.r10), ("median_rank", m.medianRank)] {
                    scalars["eval/retrieval/\(direction)/\(name)"] = value
                }
            }
            if metrics["text->video"] != nil {
                // Step level: each distinct step text's best window, a hit anywhere in a segment of that step.
                let hits = try RetrievalEvaluation.stepTextHits(searcher: try Searcher(index: directory!, checkpoint: checkpoint), segments: segments)
                let r1 = Double(hits.filter(\.correct).count) / Double(max(hits.count, 1))
                result["step_texts"] = ["texts": hits.count, "R@1": r1, "chance": hits.map(\.chance).reduce(0, +) / Double(max(hits.count, 1)),
                                        "design": "each distinct step text against every video window; correct when the best window's centre lies in a segment of that step"]
                scalars["eval/retrieval/step_texts/R@1"] = r1
            }
            let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(metrics))
            result.merge(["test_split": testSplit, "segments": segments.count, "results": encoded,
                          "design": "queries and gallery are the step segments of the split; query i's one relevant item is segment i; segment embedding = mean of the index windows (\(embedded.metadata.length) s every \(embedded.metadata.stride) s) centred in it; chance R@10 = 10 / segments"]) { a, _ in a }
        } else if protocolName == "sync" {
            result["split"] = testSplit
            var line: ProgressLine?
            let evaluation = try SyncEvaluation(model: model)
            let calibrationName = calibrationSplit ?? (corpus.entries.contains { $0.split == "val" } && testSplit != "val" ? "val" : "none")
            var calibration: SyncEvaluation.Threshold? = nil
            if calibrationName != "none" {
                guard calibrationName != testSplit else { throw ValidationError("--calibration-split must not be the test split ('\(testSplit)')") }
                let c = try evaluation.calibrate(corpus: corpus, split: calibrationName, clips: clips, geometry: geometry, seed: seed &+ 1) { done, total in
                    if done == 0 { line = ProgressLine("sync threshold (\(calibrationName))", total: total, unit: "videos") }
                    line?.update(done)
                }
                calibration = c
            }
            let (r, p) = try evaluation.run(corpus: corpus, split: testSplit, clips: clips, geometry: geometry, seed: seed, calibration: calibration) { done, total in
                if done == 0 { line = ProgressLine("sync (\(testSplit))", total: total, unit: "videos") }
                line?.update(done)
            }
            problems = p
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            result["results"] = try JSONSerialization.jsonObject(with: encoder.encode(r))
            result["design"] = "in sync vs shifted: each window with its own audio and with it moved by ±[0.5, 2.0] s; offsets: the audio delayed by a uniformly drawn grid offset, the best-scoring candidate per window and per video (scores summed over its windows)"
            scalars["eval/sync/accuracy" + suffix] = r.accuracy
            if let c = r.calibrated { scalars["eval/sync/accuracy_calibrated" + suffix] = c.accuracy }
            scalars["eval/sync/in_sync_above_shifted" + suffix] = r.inSyncAboveShifted
            for o in r.offsets {
                scalars["eval/sync/\(o.grid)/video_within_one" + suffix] = o.videoWithinOne
                scalars["eval/sync/\(o.grid)/window_within_one" + suffix] = o.windowWithinOne
                scalars["eval/sync/\(o.grid)/video_exact" + suffix] = o.videoExact
            }
        } else if protocolName == "localization" {
            guard !randomInit else { throw ValidationError("localization reports the random-init baseline beside the checkpoint's figures; drop --random-init") }
            let (untrained, _) = try loadModel(checkpoint: checkpoint, randomInit: true)
            var line: ProgressLine?
            let r = try LocalizationEvaluation.run(localizer: try Localizer(model: model, geometry: geometry),
                                                   random: try Localizer(model: untrained, geometry: geometry),
                                                   corpus: corpus, split: testSplit) { done, total in
                if line == nil { line = ProgressLine("localization (\(testSplit))", total: total, unit: "videos") }
                line?.update(done)
            }
            for p in r.problems { note("skipped: \(p)") }
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            result["split"] = testSplit
            result["results"] = try JSONSerialization.jsonObject(with: encoder.encode(r))
            for (name, f) in [("model", r.model)] + r.baselines.sorted(by: { $0.key < $1.key }) {
                let tag = name == "model" ? "" : "_" + name.replacingOccurrences(of: "-", with: "_")
                scalars["eval/localization/pointing" + tag] = f.pointing
                scalars["eval/localization/pixel_ap" + tag] = f.pixelAP
                scalars["eval/localization/ciou50" + tag] = f.ciou50
            }
        } else if protocolName == "avc" {
            result["split"] = testSplit
            var line: ProgressLine?
            let r = try correspondenceAccuracy(model: model, corpus: corpus, split: testSplit, clips: clips, geometry: geometry,
                                               label: label, seed: seed) { done, total in
                if line == nil { line = ProgressLine("avc (\(testSplit))", total: total, unit: "videos") }
                line?.update(done)
            }
            result["head"] = r.judge
            result["accuracy"] = r.accuracy
            result["accuracy_own_audio"] = r.ownAudioAccuracy
            result["accuracy_other_audio"] = r.otherAudioAccuracy
            scalars["eval/avc/accuracy" + suffix] = r.accuracy
            scalars["eval/avc/accuracy_own_audio" + suffix] = r.ownAudioAccuracy
            scalars["eval/avc/accuracy_other_audio" + suffix] = r.otherAudioAccuracy
            if r.labelledCounts.reduce(0, +) > 0 {
                result["label"] = label
                for (key, same) in [("other_audio_other_label", false), ("other_audio_same_label", true)] {
                    var entry: [String: Any] = ["pairs": r.otherAudioPairs(sameLabel: same)]
                    if let accuracy = r.otherAudioAccuracy(sameLabel: same) { entry["accuracy"] = accuracy }
                    result[key] = entry
                }
            }
            result["pairs"] = r.pairs
            result["pairs_design"] = "each clip once with its own audio (1) and once with audio of another video of the split at a random time (0)"
            problems = r.problems
        } else {
            var available: [Modality] = []
            if model.video != nil { available.append(.video) }
            if model.audio != nil { available.append(.audio) }
            let wanted = modality == "all" ? available : [Modality(rawValue: modality)].compactMap { $0 }
            guard !wanted.isEmpty, wanted.allSatisfy(available.contains) else {
                throw ValidationError("\(checkpoint): no \(modality) encoder in this checkpoint (it has: \(available.map(\.rawValue).joined(separator: ", ")))")
            }
            result.merge(["label": label, "train_split": trainSplit, "test_split": testSplit]) { a, _ in a }
            if protocolName == "knn" { result.merge(["k": k, "temperature": 0.07]) { a, _ in a } } else {
                result.merge(["classifier": "logistic regression on standardised features, full-batch AdamW lr 0.01, 500 steps, weight decay 1e-3"]) { a, _ in a }
            }
            var accuracies: [String: Any] = [:]
            for m in wanted {
                var line: ProgressLine?
                let (r, p) = try probeAccuracy(protocolName == "knn" ? .knn : .linear, model: model, modality: m, corpus: corpus,
                                               trainSplit: trainSplit, testSplit: testSplit, label: label, clips: clips,
                                               geometry: geometry, k: k, seed: seed) { split, done, total in
                    if done == 0 { line = ProgressLine("\(m.rawValue) features (\(split))", total: total, unit: "videos") }
                    line?.update(done)
                }
                problems += p
                scalars["eval/\(protocolName)/\(m.rawValue)" + suffix] = r.accuracy
                accuracies[m.rawValue] = ["accuracy": r.accuracy, "train_videos": r.trainVideos, "test_videos": r.testVideos, "classes": r.classes]
            }
            result["results"] = accuracies
        }
        for p in problems { note("skipped \(p.file): \(p.problem)") }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes])
        if let out { try writeAtomically(data + Data("\n".utf8), to: out) }
        if let tensorboard { try EventFileWriter(folder: tensorboard, suffix: "eval").scalars(scalars, step: ckpt.step) }
        print(String(decoding: data, as: UTF8.self))
    }
}
