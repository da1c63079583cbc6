import ArgumentParser
import Corpora
import Foundation
import Pipeline
import Models
import Training

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Decode a corpus once into a clip cache that training reads instead of the videos.",
        discussion: """
        Writes CACHE/cache.json and CACHE/shard-NNN.bin: each video's frames every clip frame spacing \
        (0.12 s by default) at the decode size (short side 128) as RGB bytes, its 16 kHz mono audio and \
        the audio's log-mel, each with a CRC-32 checked when first read. Videos that fail to decode are \
        reported and left out. Train from it with `cache: CACHE` in the config (or the override cache=CACHE); \
        the clip geometry must be the one the cache was made with (--config takes it from a training config).
        """)

    @Argument(help: "A corpus folder (with manifest.jsonl).") var corpus: String
    @Option(help: "The cache folder to write (must not hold a cache yet).") var out: String
    @Option(help: "Only this split (default: every split).") var split: String?
    @Option(help: "A training config whose clip geometry the cache follows (default: the reference geometry).") var config: String?
    @Option(help: "Videos decoded at once.") var workers: Int = 2
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let geometry = try config.map { try TrainConfig.load(path: $0, overrides: []).clip } ?? .default
        let corpus = try Corpus(path: self.corpus)
        var progress: ProgressLine?
        let manifest = try ClipCache.prepare(corpus: corpus, split: split, geometry: geometry, out: out, workers: workers) { event in
            switch event {
            case .progress(let done, let total):
                if progress == nil { progress = ProgressLine("prepare", total: total, unit: "videos") }
                progress?.update(done)
            case .problem(let file, let reason):
                note("skipping \(file): \(reason)")
            case .notice(let text): note(text)
            }
        }
        if manifest.entries.isEmpty {
            throw ValidationError("\(self.corpus): no video could be cached (\(manifest.problems.count) left out, each named above); \(out) holds an empty cache")
        }
        let bytes = manifest.entries.reduce(0) { $0 + ($1.frames?.length ?? 0) + ($1.audio?.length ?? 0) + ($1.logMel?.length ?? 0) }
        print("wrote \(out): \(manifest.entries.count) videos, \(Set(manifest.entries.map(\.shard)).count) shard(s), "
              + String(format: "%.1f MB", Double(bytes) / 1e6) + (manifest.problems.isEmpty ? "" : ", \(manifest.problems.count) left out"))
    }
}
