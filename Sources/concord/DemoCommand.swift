import ArgumentParser
import Corpora
import Foundation
import Media
import Pipeline
import Retrieval
import Evaluation
import Synthesis
import Training

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Concord's main job on a built-in default: synthesise a corpus, train avnce on it, and compare the trained encoders with their random initialisation.")

    @Option(help: "Where to write the corpus (default: a new temporary folder).")
    var out: String?

    @Option(help: "Videos to synthesise (8 classes; 64 leaves 13 for the test split).")
    var videos: Int = 64

    @Option(help: "Training steps of avnce (0 skips training and evaluation).")
    var steps: Int = 300

    @Option(help: "Encoder width (first-stage channels; the presets have 32).")
    var width: Int = 16

    @Option(help: "Clips per video for the evaluation features.")
    var clips: Int = 10

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .customLong("narrated-videos"), help: "Narrated videos for the MIL-NCE and text-search part (0 skips it).")
    var narratedVideos: Int = 40

    @Option(name: .customLong("narrated-steps"), help: "Training steps of milnce.")
    var narratedSteps: Int = 150

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let folder = out ?? (NSTemporaryDirectory() + "concord-demo-\(ProcessInfo.processInfo.processIdentifier)")
        print("1. synthesising a sounding-objects corpus of \(videos) videos in \(folder)")
        let recipe = try Synthesizer.recipe(named: "sounding-objects")
        let progress = ProgressLine("   synth", total: videos, unit: "videos")
        let entries = try Synthesizer.run(recipe, options: SynthOptions(videos: videos, seed: seed), folder: folder) { done, _ in
            progress.update(done)
        }
        print("   sounds: \(entries.first?.soundSource ?? "-")")

        print("2. inspecting it")
        let summary = CorpusSummary(corpus: try Corpus(path: folder))
        print("   \(summary.entries) videos, " + String(format: "%.1f s", summary.totalDuration) + ", "
              + summary.splits.keys.sorted(by: splitOrder).map { "\($0) \(summary.splits[$0]!.videos)" }.joined(separator: ", ")
              + ", \(summary.problems.count) problem(s)")

        print("3. what it holds")
        print("   id                      split  class            length  video               audio")
        for e in entries {
            let info = try MediaInfo(path: (folder as NSString).appendingPathComponent(e.media))
            let v = info.video[0], a = info.audio[0]
            let video = "\(v.width)x\(v.height) " + (v.variableFrameRate ? "VFR" : String(format: "%.0f fps", v.frameRate))
            let audio = "\(a.sampleRate) Hz " + (a.channels == 1 ? "mono" : "stereo")
            print("   " + pad(e.id, 24) + pad(e.split, 7) + pad(e.labels["class"] ?? "-", 17)
                  + pad(String(format: "%.1f s", info.duration), 8) + pad(video, 20) + audio)
        }

        print("4. reading a training clip (8 frames at 112x112, 0.96 s of 16 kHz audio) from the first videos")
        for e in entries.prefix(3) {
            let path = (folder as NSString).appendingPathComponent(e.media)
            let frames = try VideoReader(path: path).frames(start: 1.0, duration: 0.96, fps: 25.0 / 3, geometry: .clip112)
            let audio = try AudioReader(path: path).read(start: 1.0, duration: 0.96)
            let rms = (audio.map { $0 * $0 }.reduce(0, +) / Float(audio.count)).squareRoot()
            let mean = Double(frames.pixels.reduce(0) { $0 + Int($1) }) / Double(frames.pixels.count)
            print("   \(e.id): frames [\(frames.count), \(frames.height), \(frames.width), 3] mean \(String(format: "%.1f", mean)), "
                  + "audio [\(audio.count)] rms \(String(format: "%.3f", rms))")
        }
        if steps > 0 { try trainAndEvaluate(folder) }
        if narratedVideos > 0 && narratedSteps > 0 { try narratedSearch((folder as NSString).appendingPathComponent("narrated")) }
        print("done: the corpus is in \(folder) (concord inspect \(folder))")
    }

    /// Steps 5 and 6: avnce on the train split, then linear-probe and kNN accuracy on the test
    /// split of the trained encoders against the same encoders at initialisation.
    func trainAndEvaluate(_ folder: String) throws {
        let runFolder = (folder as NSString).appendingPathComponent("run")
        var config = TrainConfig(corpus: folder, objectives: [TrainConfig.Objective(name: "avnce")])
        config.out = runFolder
        config.video = TrainConfig.Encoder(preset: "r2plus1d-tiny", width: width)
        config.audio = TrainConfig.Encoder(preset: "vggish-tiny", width: width)
        config.optimizer.lr = 0.05
        config.optimizer.warmupSteps = min(10, steps / 10)
        config.steps = steps
        config.seed = Int(seed)
        config.checkpointEvery = max(steps, 1)
        print("5. training avnce (video and audio encoders of width \(width), batch \(config.batchSize), \(steps) steps) in \(runFolder)")
        print("   same as: concord train --config configs/avnce.yaml corpus=\(folder) out=\(runFolder) video.width=\(width) audio.width=\(width) steps=\(steps) seed=\(seed)")
        let trainer = try Trainer(config: config)
        let progress = TrainProgress(total: steps)
        try trainer.run { progress.handle($0) }

        print("6. evaluating on the test split (features: mean of \(clips) clips a video)")
        // Features once per (encoder, weights); both probes run on them.
        var accuracy: [String: Double] = [:]
        let corpus = try Corpus(path: folder)
        for random in [true, false] {
            let (model, checkpoint) = try loadModel(checkpoint: trainer.checkpointPath, randomInit: random)
            for modality in [Modality.video, .audio] {
                let progress = ProgressLine("   \(modality.rawValue) features (\(random ? "random init" : "trained"))", total: 2, unit: "splits")
                let (train, _) = try VideoFeatures.extract(model: model, modality: modality, corpus: corpus, split: "train", labelKey: "class",
                                                           clips: clips, geometry: checkpoint.config.clip)
                progress.update(1)
                let (test, _) = try VideoFeatures.extract(model: model, modality: modality, corpus: corpus, split: "test", labelKey: "class",
                                                          clips: clips, geometry: checkpoint.config.clip)
                progress.update(2)
                accuracy["\(modality.rawValue) linear \(random)"] = linearProbeAccuracy(train: train, test: test).accuracy
                accuracy["\(modality.rawValue) knn \(random)"] = knnAccuracy(train: train, test: test)
            }
        }
        print("   encoder  probe   random init  trained  change")
        for modality in ["video", "audio"] {
            for probe in ["linear", "knn"] {
                let (before, after) = (accuracy["\(modality) \(probe) true"]!, accuracy["\(modality) \(probe) false"]!)
                print("   " + pad(modality, 9) + pad(probe, 8) + pad(String(format: "%.1f %%", 100 * before), 13)
                      + pad(String(format: "%.1f %%", 100 * after), 9) + String(format: "%+.1f points", 100 * (after - before)))
            }
        }
        print("   (concord eval linear|knn --checkpoint \(trainer.checkpointPath) [--random-init] gives each figure with its protocol)")
    }

    /// Steps 7–9: a narrated corpus, milnce on it, an index of every video, and text queries.
    func narratedSearch(_ folder: String) throws {
        print("7. synthesising a narrated-howto corpus of \(narratedVideos) videos in \(folder)")
        let progress = ProgressLine("   synth", total: narratedVideos, unit: "videos")
        _ = try Synthesizer.run(try Synthesizer.recipe(named: "narrated-howto"), options: SynthOptions(videos: narratedVideos, seed: seed),
                                folder: folder) { done, _ in progress.update(done) }
        let runFolder = (folder as NSString).appendingPathComponent("run")
        var config = TrainConfig(corpus: folder, objectives: [TrainConfig.Objective(name: "milnce")])
        config.out = runFolder
        config.video = TrainConfig.Encoder(preset: "r2plus1d-tiny", width: width)
        config.optimizer.lr = 0.05
        config.optimizer.warmupSteps = min(10, narratedSteps / 10)
        config.steps = narratedSteps
        config.seed = Int(seed)
        config.checkpointEvery = narratedSteps
        print("8. training milnce (each clip against its 4 nearest narration lines; video width \(width), \(narratedSteps) steps)")
        print("   same as: concord train --config configs/milnce.yaml corpus=\(folder) out=\(runFolder) video.width=\(width) steps=\(narratedSteps) seed=\(seed)")
        let trainer = try Trainer(config: config)
        let trainProgress = TrainProgress(total: narratedSteps)
        try trainer.run { trainProgress.handle($0) }

        let index = (folder as NSString).appendingPathComponent("index")
        print("9. embedding every video in 0.96 s windows and searching them by text (concord embed, concord search)")
        let (videos, _) = try EmbedCommand.videos([folder], split: nil)
        let embedProgress = ProgressLine("   embed", total: videos.count, unit: "videos")
        try IndexBuilder(checkpoint: trainer.checkpointPath).build(videos: videos, out: index) { event in
            if case .progress(let done, _) = event { embedProgress.update(done) }
        }
        let searcher = try Searcher(index: index, checkpoint: trainer.checkpointPath)
        let (space, table) = try searcher.space(query: .text, target: .video)
        var queries: [String] = []
        for s in try RetrievalEvaluation.stepSegments(corpus: try Corpus(path: folder), split: "test") where !queries.contains(s.text) {
            queries.append(s.text)
        }
        for query in queries.prefix(3) {
            print("   \"\(query)\"")
            for (i, m) in try searcher.search(try searcher.embed(text: query, space: space).embedding, table: table, top: 3).enumerated() {
                print("     \(i + 1). " + pad(m.video, 22) + String(format: "%5.2f–%-5.2f s  score %.3f  ", m.start, m.end, m.score)
                      + "narration nearby: \(m.narration ?? "-")")
            }
        }
        print("   (concord search --index \(index) --text \"...\" asks your own; concord eval retrieval --checkpoint \(trainer.checkpointPath) measures R@K)")
    }
}
