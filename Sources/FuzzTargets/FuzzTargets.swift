import Corpora
import Foundation
import Media
import Models
import Pipeline
import Retrieval
import TensorCore

/// The parsers of files and text Concord reads from users, as targets for coverage-guided
/// fuzzing (`fuzz/run.sh`, libFuzzer) and for replaying saved inputs in the tests. Each
/// target hands one input to one parser; an error thrown for a bad input is the parser
/// doing its job, and only a crash, a hang or a leak is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// SubRip text (`Subtitles.parseSRT`).
    case srt
    /// WebVTT text (`Subtitles.parseWebVTT`).
    case vtt
    /// A corpus manifest (`manifest.jsonl`): JSON lines of entries.
    case manifest
    /// A safetensors file: the 8-byte length, the JSON header, the byte ranges.
    case safetensors
    /// A NumPy `.npy` file: magic, version, header dictionary, data.
    case npy
    /// A training config: YAML, then each of its lines again as a `key=value` override.
    case config
    /// A clip cache's `cache.json`.
    case cacheJSON = "cache-json"
    /// An embedding index's `index.json` (with empty segment tables beside it).
    case indexMetadata = "index-metadata"

    /// Hands `data` to the target's parser and discards the result or the error.
    public func run(_ data: Data) {
        switch self {
        case .srt: _ = try? Subtitles.parseSRT(Self.text(data), path: "fuzz.srt")
        case .vtt: _ = try? Subtitles.parseWebVTT(Self.text(data), path: "fuzz.vtt")
        case .manifest:
            Self.inFolder(data, named: "manifest.jsonl") { folder in
                if var corpus = try? Corpus(path: folder) { corpus.probeMedia() }
            }
        case .safetensors:
            Self.inFolder(data, named: "fuzz.safetensors") { folder in
                let path = folder + "/fuzz.safetensors"
                if let file = try? SafeTensorsFile(path: path) { for name in file.entries.keys { _ = file.tensor(name) } }
                _ = try? Checkpoint(path: path)
            }
        case .npy:
            _ = try? NPY.header(of: data, path: "fuzz.npy")
            _ = try? NPY.decode(Float.self, from: data, path: "fuzz.npy")
            _ = try? NPY.decode(UInt8.self, from: data, path: "fuzz.npy")
        case .config:
            let text = Self.text(data)
            _ = try? TrainConfig.load(text: text, source: "fuzz.yaml", overrides: [])
            let lines = text.split(separator: "\n").prefix(64).map(String.init)
            _ = try? TrainConfig.load(text: nil, source: "fuzz", overrides: ["corpus=c", "objectives=[{name: avnce}]"] + lines)
        case .cacheJSON:
            Self.inFolder(data, named: "cache.json", with: ["manifest.jsonl"]) { folder in
                if let cache = try? ClipCache(directory: folder), let corpus = try? Corpus(path: folder) {
                    _ = cache.videos(split: nil)
                    _ = try? cache.check(against: corpus, split: nil)
                }
            }
        case .indexMetadata:
            // The segment tables the metadata names, empty, so that the tables' checks run.
            let metadata = try? JSONDecoder().decode(IndexMetadata.self, from: data)
            let segments = ["windows", "narrations"].map { metadata?.fileName($0, "jsonl") ?? "\($0).jsonl" }.filter { !$0.contains("/") }
            Self.inFolder(data, named: "index.json", with: segments) { folder in
                if let index = try? EmbeddingIndex(directory: folder) {
                    for name in index.metadata.tables.keys { _ = index.tablePath(name) }
                }
            }
        }
    }

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    /// Runs `body` on a fresh folder holding `data` as `name` (and empty `others`), then
    /// removes the folder.
    static func inFolder(_ data: Data, named name: String, with others: [String] = [], _ body: (String) -> Void) {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("concord-fuzz-\(getpid())")
        try? FileManager.default.removeItem(atPath: folder)
        guard (try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil else { return }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: data)
        for other in others { _ = FileManager.default.createFile(atPath: folder + "/" + other, contents: Data()) }
        body(folder)
    }

    /// Replays every input file under `paths` (files or folders, recursively); returns
    /// how many were run.
    public func replay(_ paths: [String]) throws -> Int {
        var count = 0
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
            let files = isFolder.boolValue
                ? (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String }.sorted().map { path + "/" + $0 } ?? [])
                : [path]
            for file in files {
                var sub: ObjCBool = false
                guard FileManager.default.fileExists(atPath: file, isDirectory: &sub), !sub.boolValue,
                      let data = FileManager.default.contents(atPath: file) else { continue }
                run(data)
                count += 1
            }
        }
        return count
    }
}
