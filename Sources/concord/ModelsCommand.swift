import ArgumentParser
import Foundation
import Models
import Training

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the released models that --checkpoint NAME and init_from=NAME accept.",
        discussion: """
        Released models are checkpoints in a models/ folder (their cards: models/README.md). The folders \
        searched, in order: each of $CONCORD_MODELS (colon-separated), ./models, and the models/ folder of \
        the checkout concord was built in.
        """)

    @Flag(help: "One JSON object per model.") var json = false

    func run() throws {
        let folders = ReleasedModels.folders()
        let models = ReleasedModels.all(folders: folders)
        guard !models.isEmpty else {
            note("no released models found (searched: \(folders.isEmpty ? "no models/ folder exists" : folders.joined(separator: ", ")); set CONCORD_MODELS)")
            return
        }
        if !json { print(pad("name", 26) + pad("objectives", 12) + pad("encoders", 34) + pad("step", 7) + pad("size", 9) + "path") }
        for (name, path) in models {
            let checkpoint: Checkpoint
            do { checkpoint = try Checkpoint(path: path) } catch {
                note("\(path): \(error)")
                continue
            }
            let c = checkpoint.config
            let encoders = [c.video.map { "video \($0.preset)" }, c.audio.map { _ in "audio" }, c.text.map { _ in "text" }].compactMap { $0 }
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
            let objectives = c.objectives.map(\.name).joined(separator: "+")
            if json {
                let object: [String: Any] = ["name": name, "path": path, "objectives": c.objectives.map(\.name), "step": checkpoint.step,
                                             "bytes": size, "storage": checkpoint.file.metadata["storage"] ?? "float32",
                                             "encoders": [c.video != nil ? "video" : nil, c.audio != nil ? "audio" : nil, c.text != nil ? "text" : nil].compactMap { $0 }]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            } else {
                print(pad(name, 26) + pad(objectives, 12) + pad(encoders.joined(separator: ", "), 34) + pad(String(checkpoint.step), 7)
                      + pad(String(format: "%.1f MB", Double(size) / 1e6), 9) + path)
            }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model without its optimizer state, optionally in float16 (how models/ is made).",
        discussion: "The result loads wherever a checkpoint does (--checkpoint, init_from) and in peers/models.py with strict=True; float16 tensors are widened to float32 when loaded.")

    @Option(help: "The checkpoint, its run folder, or a released model's name.") var checkpoint: String
    @Option(help: "The file to write.") var out: String
    @Flag(name: .customLong("float16"), help: "Store float tensors as IEEE half precision (half the size).") var float16 = false
    @Option(help: "A note stored in the file's metadata (e.g. the command that trained it).") var note: String?

    func run() throws {
        let source = try ReleasedModels.resolve(checkpoint)
        let bytes = try ReleasedModels.export(checkpoint: source, to: out, float16: float16, note: note)
        print("wrote \(out) (\(String(format: "%.2f MB", Double(bytes) / 1e6)), \(float16 ? "float16" : "float32"), from \(source))")
    }
}
