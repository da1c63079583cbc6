import Corpora
import Foundation
import Retrieval
import TensorCore
import Testing
import TestSupport

/// `concord embed` and `concord search` on the committed narrated corpus with a small
/// milnce-trained checkpoint: what they write and print, continuing and adding, and bad input.
@Suite(.serialized) struct RetrievalCommandTests {
    static let corpus = repositoryRoot + "/corpora/narrated-howto"

    func trained(_ name: String, seed: Int = 0) throws -> String {
        let out = makeTemporaryDirectory("retrieval-\(name)")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/milnce.yaml", "corpus=" + Self.corpus, "out=" + out,
                                "steps=4", "video.width=8", "batch_size=4", "seed=\(seed)"])
        #expect(r.status == 0, "\(r.stderr)")
        return out + "/checkpoint.safetensors"
    }

    func json(_ r: ProcessResult) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    @Test func embedThenSearchByText() throws {
        let checkpoint = try trained("a")
        let index = makeTemporaryDirectory("index") + "/index"
        // Half the corpus first (the train split), then the rest is added to the same index.
        let first = try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--split", "train", "--out", index])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("videos/s"), "progress: \(first.stderr)")
        let all = try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index])
        #expect(all.status == 0, "\(all.stderr)")
        let meta = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: index + "/index.json"))) as? [String: Any])
        let manifestLines = try String(contentsOfFile: Self.corpus + "/manifest.jsonl", encoding: .utf8).split(separator: "\n").count
        #expect((meta["videos"] as? [String])?.count == manifestLines, "every video once")
        let tables = try #require(meta["tables"] as? [String: [Int]])
        #expect(Set(tables.keys) == ["video.milnce", "text.milnce"] && tables["video.milnce"]?[1] == 256)
        let generation = try #require(meta["generation"] as? Int)
        let windows = try String(contentsOfFile: index + "/windows.g\(generation).jsonl", encoding: .utf8).split(separator: "\n")
        // Only the files of the current generation are left.
        let files = try FileManager.default.contentsOfDirectory(atPath: index).filter { $0.hasSuffix(".npy") || $0.hasSuffix(".jsonl") }
        let expected = ["video.milnce", "text.milnce"].map { "\($0).g\(generation).npy" } + ["windows", "narrations"].map { "\($0).g\(generation).jsonl" }
        #expect(Set(files) == Set(expected), "\(files)")
        #expect(windows.count == tables["video.milnce"]?[0])

        let r = try runConcord(["search", "--index", index, "--text", "stir the mixture", "--top", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let moments = try #require(try json(r)["moments"] as? [[String: Any]])
        #expect(moments.count == 3)
        let scores = moments.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >), "best first")
        let texts = try runConcord(["search", "--index", index, "--text", "stir the mixture", "--modality", "text", "--top", "1", "--json"])
        let best = try #require((try json(texts)["moments"] as? [[String: Any]])?.first?["narration"] as? String)
        #expect(!best.isEmpty)
        let table = try runConcord(["search", "--index", index, "--text", "stir the mixture xyzzy", "--top", "2"])
        #expect(table.status == 0 && table.stdoutText.contains("rank") && table.stderr.contains("xyzzy"), "\(table.stderr)")

        // eval retrieval: the test split's step segments, both text directions, with the protocol.
        let evaluated = try runConcord(["eval", "retrieval", "--checkpoint", checkpoint])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let result = try json(evaluated)
        #expect(result["protocol"] as? String == "retrieval" && (result["design"] as? String)?.contains("chance") == true)
        let metrics = try #require(result["results"] as? [String: [String: Any]])
        #expect(Set(metrics.keys) == ["text->video", "video->text"])
        let segments = try #require(result["segments"] as? Int)
        for (direction, m) in metrics {
            #expect(m["queries"] as? Int == segments && m["gallery"] as? Int == segments, "\(direction)")
            let (r1, r10) = (try #require(m["R@1"] as? Double), try #require(m["R@10"] as? Double))
            #expect(0 <= r1 && r1 <= r10 && r10 <= 1, "\(direction) \(m)")
        }
        // The step-level figure: one query per distinct step text of the test split.
        let steps = try #require(result["step_texts"] as? [String: Any])
        let stepTexts = Set(try RetrievalEvaluation.stepSegments(corpus: Corpus(path: repositoryRoot + "/corpora/narrated-howto"), split: "test").map(\.text))
        #expect(steps["texts"] as? Int == stepTexts.count)
        let (r1, chance) = (try #require(steps["R@1"] as? Double), try #require(steps["chance"] as? Double))
        #expect(0 <= r1 && r1 <= 1 && 0 < chance && chance < 1, "\(steps)")
    }

    /// An avnce checkpoint's index holds video and audio tables: a sound finds videos, a clip
    /// finds sounds, and a clip cut at a window's start finds that very window first (its
    /// embedding is the window's: score 1).
    @Test func searchBySoundAndByClip() throws {
        let corpus = repositoryRoot + "/corpora/sounding-objects"
        let out = makeTemporaryDirectory("retrieval-avnce")
        let trained = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "corpus=" + corpus, "out=" + out,
                                      "steps=2", "video.width=8", "audio.width=8", "batch_size=4"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let index = makeTemporaryDirectory("index-avnce") + "/index"
        let embedded = try runConcord(["embed", "--checkpoint", out + "/checkpoint.safetensors", corpus, "--out", index])
        #expect(embedded.status == 0 && embedded.stdoutText.contains("audio.avnce") && embedded.stdoutText.contains("video.avnce"),
                "\(embedded.stdoutText) \(embedded.stderr)")
        let file = corpus + "/videos/sounding-objects-0000.mp4"
        for (flag, target) in [("--audio", "video"), ("--video", "audio"), ("--video", "video")] {
            let r = try runConcord(["search", "--index", index, flag, file, "--start", "0.96", "--modality", target, "--top", "3", "--json"])
            #expect(r.status == 0, "\(flag) → \(target): \(r.stderr)")
            let moments = try #require(try json(r)["moments"] as? [[String: Any]])
            #expect(moments.count == 3 && moments.allSatisfy { $0["video"] != nil }, "\(flag) → \(target)")
            if flag == "--video" && target == "video", let best = moments.first {
                let (start, end) = (best["start"] as? Double ?? -1, best["end"] as? Double ?? -1)
                #expect(best["video"] as? String == "sounding-objects-0000" && start <= 0.96 && 0.96 < end, "\(best)")
                #expect(abs((best["score"] as? Double ?? 0) - 1) < 1e-3, "\(best)")
            }
        }
        let nan = try runConcord(["search", "--index", index, "--video", file, "--start", "nan"])
        #expect(nan.status == 1 && nan.stderr.contains("finite"), "status \(nan.status): \(nan.stderr)")
        let text = try runConcord(["search", "--index", index, "--text", "a bell"])
        #expect(text.status != 0 && text.stderr.contains("no text encoder") || text.stderr.contains("cannot match"), "\(text.stderr)")
    }

    /// A save that fails half-way (here: the next generation's narrations cannot be written,
    /// as on a full disk) leaves the previous index whole, its tables in agreement; the next
    /// embed finishes the job. A folder another process is writing is refused, naming it.
    @Test func aFailedSaveKeepsTheIndexWholeAndALockKeepsASecondWriterOut() throws {
        let checkpoint = try trained("a")
        let index = makeTemporaryDirectory("index-save") + "/index"
        #expect(try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--split", "test", "--out", index]).status == 0)
        let blocker = index + "/narrations.g2.jsonl"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: true)
        let failed = try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index])
        #expect(failed.status != 0 && failed.stderr.contains(blocker), "\(failed.stderr)")
        let kept = try EmbeddingIndex(directory: index)
        #expect(kept.metadata.generation == 1 && kept.windows.count == kept.metadata.tables["video.milnce"]?[0])
        let search = try runConcord(["search", "--index", index, "--text", "stir the mixture", "--top", "1"])
        #expect(search.status == 0, "\(search.stderr)")
        try FileManager.default.removeItem(atPath: blocker)
        let again = try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index])
        #expect(again.status == 0, "\(again.stderr)")
        let whole = try EmbeddingIndex(directory: index)
        let manifestLines = try String(contentsOfFile: Self.corpus + "/manifest.jsonl", encoding: .utf8).split(separator: "\n").count
        #expect(whole.metadata.generation == 2 && whole.metadata.videos.count == manifestLines)

        let lock = try FolderLock(folder: index, purpose: "a test holding the index")
        let refused = try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index])
        #expect(refused.status != 0 && refused.stderr.contains("in use by pid \(getpid())"), "\(refused.stderr)")
        lock.release()
        #expect(try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index]).status == 0)
    }

    @Test func badQueriesAndIndexesAreClearErrors() throws {
        let checkpoint = try trained("b"), other = try trained("c", seed: 1)
        let index = makeTemporaryDirectory("index-bad") + "/index"
        #expect(try runConcord(["embed", "--checkpoint", checkpoint, Self.corpus, "--split", "test", "--out", index]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: index + "/video.milnce.g1.npy"))
        for (arguments, expected) in [
            (["search", "--index", index, "--text", "  ,, "], "no words"),
            (["search", "--index", index, "--text", "xyzzy plugh"], "none of the words"),
            (["search", "--index", index, "--checkpoint", other, "--text", "stir"], "another checkpoint"),
            (["search", "--index", index, "--audio", Self.corpus + "/videos/narrated-howto-0000.mp4"], "cannot match audio"),
            (["embed", "--checkpoint", other, Self.corpus, "--out", index], "another checkpoint"),
            (["embed", "--checkpoint", checkpoint, Self.corpus, "--out", index, "--stride", "0.5"], "windows of"),
        ] {
            let r = try runConcord(arguments)
            #expect(r.status != 0 && r.stderr.contains(expected), "\(arguments.dropFirst(3)): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: index + "/video.milnce.g1.npy")) == before, "nothing overwritten")
        // A truncated matrix and a missing segment file name the file.
        let npy = index + "/video.milnce.g1.npy"
        truncate(npy, off_t(before.count - 512))
        let truncated = try runConcord(["search", "--index", index, "--text", "stir"])
        #expect(truncated.status != 0 && truncated.stderr.contains(npy) && truncated.stderr.contains("truncated"), "\(truncated.stderr)")
        try FileManager.default.removeItem(atPath: index + "/windows.g1.jsonl")
        let missing = try runConcord(["search", "--index", index, "--text", "stir"])
        #expect(missing.status != 0 && missing.stderr.contains("windows.g1.jsonl"), "\(missing.stderr)")
    }
}
