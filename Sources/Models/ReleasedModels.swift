import Foundation
import TensorCore

/// Released weights: checkpoints in a `models/` folder (`models/<name>.safetensors`, with their
/// cards in `models/README.md`) that every `--checkpoint` option and `init_from` accept by name.
///
/// The folders searched, in order: each of `$CONCORD_MODELS` (colon-separated), `./models`, and
/// the `models/` folder of the checkout or installation the running `concord` lies in (the
/// nearest ancestor of the executable's folder that has one: `.build/release/concord` finds the
/// repository's).
public enum ReleasedModels {
    public static let fileExtension = "safetensors"

    /// The folders searched for released models, existing ones only, without repeats.
    public static func folders(environment: [String: String] = ProcessInfo.processInfo.environment,
                               executable: String = CommandLine.arguments.first ?? "") -> [String] {
        var candidates: [String] = (environment["CONCORD_MODELS"] ?? "").split(separator: ":").map(String.init)
        candidates.append((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("models"))
        let resolvedExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? executable
        var dir = ((resolvedExecutable as NSString).deletingLastPathComponent as NSString).standardizingPath
        while !dir.isEmpty && dir != "/" {
            candidates.append((dir as NSString).appendingPathComponent("models"))
            dir = (dir as NSString).deletingLastPathComponent
        }
        var seen = Set<String>(), out: [String] = []
        for c in candidates {
            let standard = (c as NSString).standardizingPath
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: standard, isDirectory: &isDirectory), isDirectory.boolValue,
                  seen.insert(standard).inserted else { continue }
            out.append(standard)
        }
        return out
    }

    /// Every released model found: name and path (the first folder that has a name wins).
    public static func all(folders: [String] = folders()) -> [(name: String, path: String)] {
        var found: [String: String] = [:], order: [String] = []
        for folder in folders {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for file in names where (file as NSString).pathExtension == fileExtension {
                let name = (file as NSString).deletingPathExtension
                if found[name] == nil { found[name] = (folder as NSString).appendingPathComponent(file); order.append(name) }
            }
        }
        return order.map { ($0, found[$0]!) }
    }

    /// The checkpoint file `reference` names: an existing file; a run folder holding
    /// `checkpoint.safetensors`; or the name of a released model. Throws naming what was
    /// looked for when it is none of these.
    public static func resolve(_ reference: String, folders: [String] = folders()) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { return reference }
            let inside = (reference as NSString).appendingPathComponent("checkpoint.safetensors")
            if FileManager.default.fileExists(atPath: inside) { return inside }
            throw ReleasedModelError.notFound(reference, "a folder without checkpoint.safetensors")
        }
        let isName = !reference.isEmpty && !reference.contains("/") && (reference as NSString).pathExtension.isEmpty
        if isName, let match = all(folders: folders).first(where: { $0.name == reference }) { return match.path }
        let known = all(folders: folders).map(\.name)
        let why = isName
            ? (known.isEmpty ? "no such file, and no released models were found (folders searched: \(folders.isEmpty ? "none exist" : folders.joined(separator: ", ")); set CONCORD_MODELS)"
                             : "no such file, and no released model of that name (released: \(known.joined(separator: ", ")); concord models lists them)")
            : "no such file"
        throw ReleasedModelError.notFound(reference, why)
    }

    /// Writes the model part of checkpoint `source` to `destination` (atomically): the optimizer
    /// state is left out, float tensors are stored as F16 when `float16` is set (counters stay
    /// integers), and the metadata records the source's step, the storage and an optional
    /// note. Returns the bytes written.
    @discardableResult
    public static func export(checkpoint source: String, to destination: String, float16: Bool, note: String? = nil) throws -> Int {
        let checkpoint = try Checkpoint(path: source)
        var file = checkpoint.file
        file.entries = file.entries.filter { !$0.key.hasPrefix("optimizer.") }
        if float16 {
            for (name, entry) in file.entries where entry.dtype == "F32" {
                guard let t = file.tensor(name) else { continue }
                if let bad = t.data.firstIndex(where: { abs($0) > 65504 }) {
                    throw ReleasedModelError.outOfRange(source, "tensor '\(name)' holds \(t.data[bad]) at \(bad), beyond float16's range; export without --float16")
                }
                file.set(name, float16: t)
            }
        }
        file.metadata["storage"] = float16 ? "float16 (widened to float32 when loaded)" : "float32"
        file.metadata["exported_from_step"] = String(checkpoint.step)
        if let note { file.metadata["note"] = note }
        let data = try file.encoded()
        try writeAtomically(data, to: destination)
        return data.count
    }
}

public enum ReleasedModelError: Error, CustomStringConvertible {
    case notFound(String, String)
    case outOfRange(String, String)
    public var description: String {
        switch self {
        case .notFound(let reference, let why): "checkpoint '\(reference)': \(why)"
        case .outOfRange(let path, let why): "\(path): \(why)"
        }
    }
}
