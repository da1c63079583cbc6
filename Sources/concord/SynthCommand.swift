import ArgumentParser
import Foundation
import Synthesis

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Make a synthetic corpus (\(Synthesizer.recipeNames.joined(separator: ", "))).",
        discussion: """
        Writes DIR/manifest.jsonl, DIR/corpus.json, H.264+AAC MP4 videos with a mov_text narration \
        stream, .srt narrations and JSON ground truth, split into train/val/test. Sounds are real CC0 \
        recordings from Debian's sonic-pi-samples when installed (synthesised otherwise; the manifest says which).
        """)

    @Argument(help: "The recipe: \(Synthesizer.recipeNames.joined(separator: ", ")) (narrated-howto-long: slow steps, dense narration).")
    var recipe: String

    @Option(name: .long, help: "The corpus folder to write.")
    var out: String

    @Option(name: .long, help: "How many videos.")
    var videos: Int = 32

    @Option(name: .long, help: "Random seed: the same seed gives the same corpus.")
    var seed: UInt64 = 0

    @Option(name: .customLong("test-share"), help: "Share of each class's videos in the test split.")
    var testShare = 0.2

    @Option(name: .customLong("val-share"), help: "Share of each class's videos in the val split.")
    var valShare = 0.1

    @Flag(name: .long, help: "Speak the narrations into the audio track with espeak-ng.")
    var speak = false

    @Flag(name: .long, help: "Use synthesised sounds even when the real recordings are installed.")
    var synthesisedSounds = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let r = try Synthesizer.recipe(named: recipe)
        guard testShare >= 0, valShare >= 0, testShare + valShare < 1 else {
            throw ValidationError("--test-share \(testShare) and --val-share \(valShare): each must be at least 0 and together below 1 (the rest is the train split)")
        }
        var options = SynthOptions(videos: videos, seed: seed)
        options.testShare = testShare
        options.valShare = valShare
        options.speak = speak
        options.useRecordings = !synthesisedSounds
        let progress = ProgressLine("synth \(recipe)", total: videos, unit: "videos")
        let entries = try Synthesizer.run(r, options: options, folder: out) { done, _ in progress.update(done) }
        let counts = Dictionary(grouping: entries, by: \.split).mapValues(\.count)
        print("wrote \(entries.count) videos to \(out) (train \(counts["train"] ?? 0), val \(counts["val"] ?? 0), test \(counts["test"] ?? 0))")
        if let source = entries.first?.soundSource {
            // One line when every video shares it; else the first video's (each is in the manifest).
            let shared = entries.allSatisfy { $0.soundSource == source }
            print(shared ? "sounds: \(source)" : "sources and licences: per video in the manifest's sound_source (first: \(source))")
        }
    }
}
