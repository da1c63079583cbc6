import Corpora
import Foundation
import Media
import TestSupport
import Testing

@Suite struct CorpusTests {
    let fixtures = repositoryRoot + "/Tests/MediaTests/Fixtures"

    /// A corpus folder with two good videos, one missing and one corrupt, and two bad manifest lines.
    func makeCorpus() throws -> String {
        let dir = makeTemporaryDirectory("corpus")
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/videos", withIntermediateDirectories: true)
        try fm.copyItem(atPath: fixtures + "/h264.mp4", toPath: dir + "/videos/a.mp4")
        try fm.copyItem(atPath: fixtures + "/subs_movtext.mp4", toPath: dir + "/videos/b.mp4")
        try fm.copyItem(atPath: fixtures + "/narration.srt", toPath: dir + "/videos/b.srt")
        try fm.copyItem(atPath: fixtures + "/garbage.mp4", toPath: dir + "/videos/corrupt.mp4")
        let entries = [
            CorpusEntry(id: "a", media: "videos/a.mp4", split: "train", labels: ["class": "x"]),
            CorpusEntry(id: "b", media: "videos/b.mp4", split: "test", labels: ["class": "y"], narration: "videos/b.srt"),
            CorpusEntry(id: "gone", media: "videos/gone.mp4", split: "train"),
            CorpusEntry(id: "corrupt", media: "videos/corrupt.mp4", split: "train"),
        ]
        var data = try Manifest.encode(entries)
        data.append(Data("{not json\n{\"id\": \"nomedia\", \"split\": \"train\"}\n{\"id\":\"a\",\"media\":\"videos/a.mp4\",\"split\":\"val\",\"labels\":{}}\n".utf8))
        try data.write(to: URL(fileURLWithPath: dir + "/manifest.jsonl"))
        return dir
    }

    @Test func manifestRoundTrips() throws {
        let e = CorpusEntry(id: "v1", media: "videos/v1.mp4", split: "val", labels: ["task": "make soup"],
                            narration: "n/v1.srt", annotation: "a/v1.json", duration: 4.5, soundSource: "CC0")
        let (back, problems) = Manifest.decode(try Manifest.encode([e]), path: "m")
        #expect(back == [e] && problems.isEmpty)
    }

    /// A folder of one's own videos: `id` and `media` are enough (split train, no labels);
    /// without `media` the line is a problem naming the key.
    @Test func onlyIdAndMediaAreRequired() throws {
        let lines = #"{"id":"a","media":"a.mp4"}"# + "\n" + #"{"id":"b"}"# + "\n"
        let (entries, problems) = Manifest.decode(Data(lines.utf8), path: "m")
        #expect(entries == [CorpusEntry(id: "a", media: "a.mp4", split: "train")])
        #expect(problems.count == 1 && problems[0].file == "m:2" && problems[0].problem.contains("'media'"), "\(problems)")
    }

    @Test func badEntriesAreReportedAndGoodOnesKept() throws {
        let dir = try makeCorpus()
        var corpus = try Corpus(path: dir)
        // Bad lines: invalid JSON, a missing key, a duplicate id; a missing media file.
        #expect(corpus.problems.count == 4)
        #expect(corpus.problems.contains { $0.file.hasSuffix("manifest.jsonl:5") && $0.problem.contains("invalid JSON") })
        #expect(corpus.problems.contains { $0.file.hasSuffix("manifest.jsonl:6") && $0.problem.contains("missing key 'media'") })
        #expect(corpus.problems.contains { $0.problem.contains("duplicate id 'a'") })
        #expect(corpus.problems.contains { $0.file.hasSuffix("videos/gone.mp4") && $0.problem.contains("no such file") })
        #expect(corpus.entries.map(\.id) == ["a", "b", "corrupt"])
        // Opening the media finds the corrupt one and carries on.
        let infos = corpus.probeMedia()
        #expect(corpus.entries.map(\.id) == ["a", "b"])
        #expect(infos.count == 2)
        #expect(corpus.problems.contains { $0.file.hasSuffix("videos/corrupt.mp4") && $0.problem.contains("not a media file") })
    }

    /// A video cut short (an interrupted download) is a problem of the corpus, not half a video.
    @Test func aVideoCutShortIsAProblem() throws {
        let dir = makeTemporaryDirectory("corpus-cut")
        _ = try FFmpegCLI.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=4", "-c:v", "libx264", "-movflags", "+faststart", dir + "/whole.mp4"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/whole.mp4"))
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: dir + "/cut.mp4"))
        try Manifest.encode([CorpusEntry(id: "whole", media: "whole.mp4", split: "train"), CorpusEntry(id: "cut", media: "cut.mp4", split: "train")])
            .write(to: URL(fileURLWithPath: dir + "/manifest.jsonl"))
        var corpus = try Corpus(path: dir)
        corpus.probeMedia()
        #expect(corpus.entries.map(\.id) == ["whole"])
        #expect(corpus.problems.contains { $0.file.hasSuffix("cut.mp4") && $0.problem.contains("cut short") }, "\(corpus.problems)")
    }

    @Test func summaryCountsSplitsModalitiesAndDuration() throws {
        let summary = CorpusSummary(corpus: try Corpus(path: try makeCorpus()))
        #expect(summary.entries == 2)
        #expect(summary.splits["train"]?.videos == 1 && summary.splits["test"]?.videos == 1)
        #expect(summary.splits["test"]?.withNarration == 1 && summary.splits["train"]?.withNarration == 0)
        #expect(summary.splits["train"]?.withAudio == 1)
        #expect(abs(summary.totalDuration - 6) < 0.1)
        #expect(summary.labels["class"] == ["x": 1, "y": 1])
        #expect(summary.problems.count == 5)
    }

    @Test func notACorpus() {
        #expect(throws: CorpusError.self) { try Corpus(path: "/nonexistent/corpus") }
        #expect(throws: CorpusError.self) { try Corpus(path: makeTemporaryDirectory()) }
    }

    /// The committed corpora load cleanly and hold what their manifests say.
    @Test(arguments: ["sounding-objects", "narrated-howto", "motions"])
    func committedCorpus(name: String) throws {
        let summary = CorpusSummary(corpus: try Corpus(path: repositoryRoot + "/corpora/" + name))
        #expect(summary.problems.isEmpty, "\(summary.problems)")
        #expect(summary.recipe == name)
        #expect(summary.entries >= 10)
        #expect(Set(summary.splits.keys) == ["train", "val", "test"])
    }
}
