import ArgumentParser
import Corpora
import Foundation
import Media
import TensorCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a media file (its streams), a corpus (counts, duration, problems), a .safetensors, .npz or .npy file.")

    @Argument(help: "A media file, a corpus folder (or its manifest.jsonl), or a .npy file.")
    var path: String

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && (isDirectory.boolValue || path.hasSuffix(".jsonl")) {
            try inspectCorpus()
        } else if path.hasSuffix(".safetensors") {
            let file = try SafeTensorsFile(path: path)
            let names = file.entries.keys.sorted()
            if json {
                let tensors: [JSONValue] = names.map { n in
                    let e = file.entries[n]!
                    return .object(["name": .string(n), "dtype": .string(e.dtype), "shape": .array(e.shape.map { .number(Double($0)) })])
                }
                try printJSON(["path": .string(path), "tensors": .array(tensors),
                               "metadata": .object(file.metadata.mapValues { .string($0) })] as [String: JSONValue])
            } else {
                print("\(path): \(names.count) tensor(s)")
                for n in names { print("  \(n)  \(file.entries[n]!.dtype) \(file.entries[n]!.shape)") }
                for (k, v) in file.metadata.sorted(by: { $0.key < $1.key }) { print("  metadata \(k): \(v)") }
            }
        } else if path.hasSuffix(".npz") {
            let members = try NPZ.members(path)
            let headers = try members.map { m -> (String, String, [Int]) in
                let (descr, shape) = try NPY.header(of: m.npy, path: "\(path) (member \(m.name))")
                return (m.name, descr, shape)
            }
            if json {
                try printJSON(["path": .string(path), "arrays": .array(headers.map {
                    .object(["name": .string($0.0), "dtype": .string($0.1), "shape": .array($0.2.map { .number(Double($0)) })])
                })] as [String: JSONValue])
            } else {
                print("\(path): \(headers.count) array(s)")
                for (n, d, s) in headers { print("  \(n)  \(d) \(s)") }
            }
        } else if path.hasSuffix(".npy") {
            let (descr, shape) = try NPY.header(path: path)
            if json {
                try printJSON(["path": .string(path), "dtype": .string(descr), "shape": .array(shape.map { .number(Double($0)) })] as [String: JSONValue])
            } else {
                print("\(path): dtype \(descr), shape \(shape)")
            }
        } else {
            let info = try MediaInfo(path: path)
            if json { try printJSON(info) } else { printMedia(info) }
        }
    }

    func inspectCorpus() throws {
        let corpus = try Corpus(path: path)
        let summary = CorpusSummary(corpus: corpus)
        if json { try printJSON(summary); return }
        print("corpus \(summary.path)" + (summary.recipe.map { " (recipe \($0))" } ?? ""))
        print("  \(summary.entries) readable videos, \(String(format: "%.1f", summary.totalDuration)) s in all")
        print("  split   videos  video  audio  narration  duration")
        for name in summary.splits.keys.sorted(by: splitOrder) {
            let s = summary.splits[name]!
            print("  " + pad(name, 6) + pad(String(s.videos), 8, right: true) + pad(String(s.withVideo), 7, right: true)
                  + pad(String(s.withAudio), 7, right: true) + pad(String(s.withNarration), 11, right: true)
                  + pad(String(format: "%.1f s", s.duration), 10, right: true))
        }
        for (label, values) in summary.labels.sorted(by: { $0.key < $1.key }) {
            print("  \(label): " + values.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if summary.problems.isEmpty && summary.entries > 0 {
            print("  no problems found")
        } else if !summary.problems.isEmpty {
            print("  \(summary.problems.count) problem(s):")
            for p in summary.problems { print("    \(p)") }
        }
        // A corpus with nothing to read is a problem in itself, not "no problems".
        if summary.entries == 0 { throw CorpusError.empty(path) }
    }

    func printMedia(_ info: MediaInfo) {
        print("\(info.path): \(info.format), \(String(format: "%.3f", info.duration)) s")
        if let declared = info.declaredDuration {
            print("  cut short: the header says \(String(format: "%.3f", declared)) s; only the first \(String(format: "%.3f", info.duration)) s are in the file")
        }
        for v in info.video {
            print("  stream \(v.index): video \(v.codec) \(v.pixelFormat) \(v.width)x\(v.height), "
                  + String(format: "%.3f", v.frameRate) + " fps" + (v.variableFrameRate ? " (variable)" : "")
                  + ", " + String(format: "%.3f s", v.duration))
        }
        for a in info.audio {
            print("  stream \(a.index): audio \(a.codec) \(a.sampleRate) Hz, \(a.channels) channel(s), " + String(format: "%.3f s", a.duration))
        }
        for s in info.subtitles {
            print("  stream \(s.index): subtitles \(s.codec)" + (s.language.map { " [\($0)]" } ?? ""))
        }
    }
}

func splitOrder(_ a: String, _ b: String) -> Bool {
    let order = ["train": 0, "val": 1, "test": 2]
    return (order[a] ?? 3, a) < (order[b] ?? 3, b)
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return right ? fill + s : s + fill
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
