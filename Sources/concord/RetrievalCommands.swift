import ArgumentParser
import Corpora
import Foundation
import Media
import Pipeline
import Retrieval
import Models
import Training

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed videos in sliding windows (and their narrations) into a searchable index.",
        discussion: """
        For each joint space of the checkpoint (avnce: video and audio; milnce/nce: video and text) the \
        index gets one float32 .npy matrix per modality (MODALITY.SPACE.gN.npy), rows L2-normalised, with \
        windows.gN.jsonl / narrations.gN.jsonl naming each row's video, start and end (and text), and \
        index.json (checkpoint and its CRC-32, front-end, geometry, window, and the generation N of the \
        files that are the index: each save writes new files, then switches index.json). Run again on the \
        same --out to continue a stopped run or to add videos; an index of another checkpoint or window is \
        refused, and a second embed into a folder in use waits for nobody: it is refused.
        """)

    @Option(help: "A training checkpoint, a run folder, or a released model's name (concord models).") var checkpoint: String
    @Argument(help: "A corpus folder (with manifest.jsonl) or media files (narrations: a .srt/.vtt beside each, or a subtitle stream).")
    var inputs: [String]
    @Option(help: "The index folder to write (or to continue).") var out: String
    @Option(help: "Corpus split to embed (default: every split).") var split: String?
    @Option(help: "Window length, seconds (the clip's 8 frames spread over it).") var length: Double = 0.96
    @Option(help: "Window stride, seconds.") var stride: Double = 0.96
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        guard length > 0, stride > 0 else { throw ValidationError("--length and --stride must be positive") }
        let (videos, problems) = try Self.videos(inputs, split: split)
        for p in problems { note("skipping \(p.file): \(p.problem)") }
        var progress: ProgressLine?
        let builder = IndexBuilder(checkpoint: try ReleasedModels.resolve(checkpoint), length: length, stride: stride)
        let metadata = try builder.build(videos: videos, out: out) { event in
            switch event {
            case .progress(let done, let total):
                if progress == nil { progress = ProgressLine("embed", total: total, unit: "videos") }
                progress?.update(done)
            case .skipped(let file, let reason): note("skipping \(file): \(reason)")
            case .saved: break
            case .notice(let text): note(text)
            }
        }
        let tables = metadata.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value[0])x\($0.value[1])" }.joined(separator: ", ")
        print("wrote \(out): \(metadata.videos.count) videos; \(tables)")
    }

    /// The videos of a corpus folder or of media files, with their narrations.
    static func videos(_ inputs: [String], split: String?) throws -> ([SampledVideo], [CorpusProblem]) {
        var isDirectory: ObjCBool = false
        if inputs.count == 1, FileManager.default.fileExists(atPath: inputs[0], isDirectory: &isDirectory), isDirectory.boolValue {
            let corpus = try Corpus(path: inputs[0])
            var (videos, problems) = SampledVideo.load(corpus: corpus, split: split, needs: [], geometry: .default)
            problems += SampledVideo.attachNarrations(&videos, from: corpus).map {
                CorpusProblem(file: $0.file, problem: $0.problem + " (embedded without narrations)")
            }
            return (videos, problems)
        }
        var videos: [SampledVideo] = [], problems: [CorpusProblem] = []
        for file in inputs {
            do {
                let info = try MediaInfo(path: file)
                var v = SampledVideo(id: (file as NSString).lastPathComponent, path: file, duration: info.duration,
                                     hasVideo: !info.video.isEmpty, hasAudio: !info.audio.isEmpty)
                let stem = (file as NSString).deletingPathExtension
                if let side = [stem + ".srt", stem + ".vtt"].first(where: { FileManager.default.fileExists(atPath: $0) }) {
                    v.narrations = try Subtitles.read(path: side)
                } else if !info.subtitles.isEmpty {
                    v.narrations = try Subtitles.readStream(path: file)
                }
                videos.append(v)
            } catch {
                problems.append(CorpusProblem(file: file, problem: "\(error)".replacingOccurrences(of: file + ": ", with: "")))
            }
        }
        return (videos, problems)
    }
}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index by a sentence, a sound or a clip: exact top-K by cosine similarity.",
        discussion: "Adjacent windows of one video are merged into one moment. Words the checkpoint's vocabulary does not know are named and left out.")

    @Option(help: "An index made by concord embed.") var index: String
    @Option(help: "The checkpoint that made the index, or its released name (default: the one it records).") var checkpoint: String?
    @Option(help: "A sentence.") var text: String?
    @Option(help: "A media file whose audio is the query.") var audio: String?
    @Option(help: "A media file whose video clip is the query.") var video: String?
    @Option(help: "Where the query clip or sound starts, seconds.") var start: Double = 0
    @Option(help: "What to search: video, audio or text (default: video).") var modality: String = "video"
    @Option(help: "Results.") var top: Int = 10
    @Flag(help: "One JSON object: the query and the moments.") var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let queries = [text, audio, video].compactMap { $0 }
        guard queries.count == 1 else { throw ValidationError("give exactly one of --text, --audio, --video") }
        guard let target = Modality(rawValue: modality) else { throw ValidationError("--modality must be video, audio or text") }
        guard top > 0 else { throw ValidationError("--top must be positive") }
        let recorded = FileManager.default.contents(atPath: EmbeddingIndex.path(index, "index.json"))
            .flatMap { try? JSONDecoder().decode(IndexMetadata.self, from: $0) }?.checkpoint
        let searcher = try Searcher(index: index, checkpoint: try checkpoint.map { try ReleasedModels.resolve($0) } ?? recorded ?? "")
        let started = Date()
        let queryModality: Modality = text != nil ? .text : audio != nil ? .audio : .video
        let (space, table) = try searcher.space(query: queryModality, target: target)
        let embedding: [Float]
        if let text {
            let (e, unknown) = try searcher.embed(text: text, space: space)
            if !unknown.isEmpty { note("not in the vocabulary, left out: \(unknown.joined(separator: ", "))") }
            embedding = e
        } else {
            embedding = try searcher.embed(file: (audio ?? video)!, modality: queryModality, start: start, space: space)
        }
        let moments = try searcher.search(embedding, table: table, top: top)
        let seconds = Date().timeIntervalSince(started)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            struct Output: Encodable { var query: String; var table: String; var seconds: Double; var moments: [Moment] }
            print(String(decoding: try encoder.encode(Output(query: text ?? (audio ?? video)!, table: table, seconds: seconds, moments: moments)),
                         as: UTF8.self))
            return
        }
        print("rank  score   video                      start–end       \(target == .text ? "narration" : "narration nearby")")
        for (i, m) in moments.enumerated() {
            let span = String(format: "%6.2f–%-6.2f", m.start, m.end)
            print(String(format: "%4d  %.3f  ", i + 1, m.score) + m.video.padding(toLength: 26, withPad: " ", startingAt: 0) + " " + span
                  + "  " + (m.narration ?? ""))
        }
        note(String(format: "%d moments from %@ in %.2f s", moments.count, table, seconds))
    }
}
