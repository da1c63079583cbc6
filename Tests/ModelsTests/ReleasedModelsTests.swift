import Foundation
import TensorCore
import Testing
import TestSupport
import Models

/// Released models: export (optimizer state dropped, float16 storage widened on load), lookup
/// by name, and the commands that take `--checkpoint NAME`.
@Suite(.serialized) struct ReleasedModelsTests {
    /// A 3-step avnce checkpoint with width-8 encoders (made once).
    static let checkpoint: String = {
        let out = makeTemporaryDirectory("released-source")
        let r = try? runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--threads", "2",
                                 "corpus=" + repositoryRoot + "/corpora/sounding-objects", "video.width=8", "audio.width=8",
                                 "batch_size=8", "steps=3", "out=" + out])
        precondition(r?.status == 0, "training the source checkpoint failed: \(r?.stderr ?? "")")
        return out + "/checkpoint.safetensors"
    }()

    @Test func exportDropsTheOptimizerAndFloat16StaysWithinItsRounding() throws {
        let folder = makeTemporaryDirectory("released-export")
        let full = try SafeTensorsFile(path: Self.checkpoint)
        #expect(full.entries.keys.contains { $0.hasPrefix("optimizer.") })
        try ReleasedModels.export(checkpoint: Self.checkpoint, to: folder + "/f32.safetensors", float16: false)
        try ReleasedModels.export(checkpoint: Self.checkpoint, to: folder + "/f16.safetensors", float16: true, note: "a test")
        let (f32, f16) = (try Checkpoint(path: folder + "/f32.safetensors"), try Checkpoint(path: folder + "/f16.safetensors"))
        #expect(!f32.file.entries.keys.contains { $0.hasPrefix("optimizer.") })
        #expect(f32.step == 3 && f16.step == 3)
        #expect(f16.file.metadata["note"] == "a test")
        let modelKeys = full.entries.keys.filter { !$0.hasPrefix("optimizer.") }
        #expect(Set(f16.file.entries.keys) == Set(modelKeys))
        var worst: Float = 0
        for key in modelKeys {
            let (a, b) = (full.tensor(key)!, f16.file.tensor(key)!)
            #expect(a.shape == b.shape, "\(key)")
            #expect(f32.file.tensor(key)!.data == a.data, "\(key): float32 export changed values")
            if full.entries[key]!.dtype == "F32" { #expect(f16.file.entries[key]!.dtype == "F16", "\(key)") }
            for (x, y) in zip(a.data, b.data) where x != 0 {
                // Normal float16 values round to 11 significant bits; tiny ones are subnormal (absolute error ≤ 2^-25).
                #expect(abs(x - y) <= max(abs(x) * 0x1p-11, 0x1p-24), "\(key): \(x) stored as \(y)")
                if abs(x) > 1e-4 { worst = max(worst, abs(x - y) / abs(x)) }
            }
        }
        #expect(worst > 0 && worst <= 0x1p-11)
        let sizes = try [Self.checkpoint, folder + "/f32.safetensors", folder + "/f16.safetensors"].map {
            try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int
        }
        #expect(sizes[1] < sizes[0] && Double(sizes[2]) < 0.55 * Double(sizes[1]), "\(sizes)")
        // The exported model loads strictly into the architecture its config describes.
        _ = try loadModel(checkpoint: folder + "/f16.safetensors", randomInit: false)
    }

    @Test func namesResolveInTheModelFoldersAndUnknownOnesAreNamed() throws {
        let folder = makeTemporaryDirectory("released-folder")
        try ReleasedModels.export(checkpoint: Self.checkpoint, to: folder + "/tiny-avnce.safetensors", float16: true)
        #expect(try ReleasedModels.resolve("tiny-avnce", folders: [folder]) == folder + "/tiny-avnce.safetensors")
        #expect(ReleasedModels.all(folders: [folder]).map(\.name) == ["tiny-avnce"])
        // A run folder stands for its checkpoint; a path is a path.
        let run = (Self.checkpoint as NSString).deletingLastPathComponent
        #expect(try ReleasedModels.resolve(run, folders: []) == Self.checkpoint)
        #expect(try ReleasedModels.resolve(Self.checkpoint, folders: []) == Self.checkpoint)
        #expect { try ReleasedModels.resolve("no-such-model", folders: [folder]) } throws: { error in
            "\(error)".contains("no-such-model") && "\(error)".contains("tiny-avnce")
        }
        #expect { try ReleasedModels.resolve("runs/missing.safetensors", folders: [folder]) } throws: { error in
            "\(error)".contains("runs/missing.safetensors") && "\(error)".contains("no such file")
        }
        // The first folder holding a name wins; CONCORD_MODELS comes first.
        let other = makeTemporaryDirectory("released-other")
        try ReleasedModels.export(checkpoint: Self.checkpoint, to: other + "/tiny-avnce.safetensors", float16: false)
        #expect(try ReleasedModels.resolve("tiny-avnce", folders: [other, folder]) == other + "/tiny-avnce.safetensors")
        let found = ReleasedModels.folders(environment: ["CONCORD_MODELS": other + ":" + folder + ":/no/such/folder"], executable: "/nowhere/concord")
        #expect(Array(found.prefix(2)) == [other, folder])
    }

    /// The commands take a released name: `concord models` lists it, `eval` probes it, `export`
    /// wrote it; an unknown name is a clear error.
    @Test func commandsTakeAReleasedName() throws {
        let folder = makeTemporaryDirectory("released-cli")
        let exported = try run([concordExecutable(), "export", "--checkpoint", Self.checkpoint, "--out", folder + "/tiny.safetensors", "--float16"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let environment = ["CONCORD_MODELS": folder]
        let listed = try run([concordExecutable(), "models"], environment: environment)
        #expect(listed.status == 0 && listed.stdoutText.contains("tiny") && listed.stdoutText.contains("avnce"), "\(listed.stdoutText)")
        let evaluated = try run([concordExecutable(), "eval", "knn", "--checkpoint", "tiny", "--modality", "audio", "--clips", "2",
                                 "--threads", "2"], environment: environment)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(evaluated.stdoutText.contains(folder + "/tiny.safetensors"), "\(evaluated.stdoutText)")
        let unknown = try run([concordExecutable(), "eval", "knn", "--checkpoint", "tinyy"], environment: environment)
        #expect(unknown.status != 0 && unknown.stderr.contains("tinyy") && unknown.stderr.contains("tiny"), "\(unknown.stderr)")
    }
}
