import Corpora
import Evaluation
import Foundation
import Models
import Synthesis

extension DemoCommand {
    static let localizationModel = "avnce-loc-sounding-photos"

    /// Part 5: the released localisation model on fresh real-photo videos: the protocol's
    /// figures beside the centred prior's, and overlay pictures of a few moments.
    func localization(folder: String) throws -> [(String, String)] {
        print("\n5. Where the sound comes from (sound-source localisation)")
        guard let checkpoint = try? ReleasedModels.resolve(Self.localizationModel) else {
            print("   skipped: the released model \(Self.localizationModel) is not installed (concord models lists what is)")
            return []
        }
        guard FileManager.default.fileExists(atPath: StampLibrary.stampsFolder), FileManager.default.fileExists(atPath: StampLibrary.scenesFolder) else {
            print("   skipped: the real photos and sounds come from Debian's tuxpaint-stamps-default and tuxpaint-data (bash .ci/install-deps installs them)")
            return []
        }
        let corpusFolder = (folder as NSString).appendingPathComponent("photos")
        print("   synthesising \(photoVideos) sounding-photos videos (seed \(seed)): real cut-out photos that make their own real sounds")
        try synthesise("sounding-photos", videos: photoVideos, testShare: 0.5, into: corpusFolder)
        let corpus = try Corpus(path: corpusFolder)
        let (model, ckpt) = try loadModel(checkpoint: checkpoint, randomInit: false)
        let (untrained, _) = try loadModel(checkpoint: checkpoint, randomInit: true)
        let localizer = try Localizer(model: model, geometry: ckpt.config.clip)
        let line = ProgressLine("   concord eval localization", total: corpus.entries.count, unit: "videos")
        let r = try LocalizationEvaluation.run(localizer: localizer, random: try Localizer(model: untrained, geometry: ckpt.config.clip),
                                               corpus: corpus, split: nil) { done, _ in line.update(done) }
        for p in r.problems { note("   skipped: \(p)") }
        print("   on \(r.model.frames) moments where something visible sounds (\(r.videos) videos):")
        print("   " + pad("", 24) + pad("this model", 12) + pad("centred prior", 15) + "random init")
        let rows: [(String, (LocalizationEvaluation.Figures) -> Double)] = [("pointing game", \.pointing), ("pixel AP", \.pixelAP), ("cIoU >= 0.5 (EZ-VSL)", \.ciou50)]
        for (name, value) in rows {
            let prior = r.baselines["centred-prior"].map(value) ?? 0, random = r.baselines["random-init"].map(value) ?? 0
            print("   " + pad(name, 24) + pad(String(format: "%.1f %%", 100 * value(r.model)), 12) + pad(String(format: "%.1f %%", 100 * prior), 15)
                  + String(format: "%.1f %%", 100 * random))
        }
        // Overlay pictures of the first on-screen videos.
        let pictures = (folder as NSString).appendingPathComponent("heatmaps")
        var shown = 0
        for entry in corpus.entries where entry.labels["scene"] == "on-screen" && shown < 2 {
            let moments = try LocalizationTruth.moments(corpus: corpus, entry: entry).filter(\.visibleSounding)
            guard !moments.isEmpty else { continue }
            let file = corpus.resolve(entry.media)
            let maps = try localizer.heatmaps(file: file, times: moments.map(\.time))
            let out = (pictures as NSString).appendingPathComponent(entry.id)
            try LocalizationOutput.write(maps, file: file, folder: out, video: false)
            print("   \(entry.id) (a sounding \(entry.labels["stamp"] ?? "object")): \(moments.count) pictures in \(out)/frame-*.png")
            shown += 1
        }
        print("   your own: concord localize FILE... --checkpoint \(Self.localizationModel) --out DIR [--video]")
        return [(corpusFolder, "the fresh sounding-photos corpus"), (pictures, "heatmap pictures (concord localize)")]
    }
}
