import Foundation
import Media
import TensorCore
import TestSupport
import Testing
import Models
import Retrieval
import Training

/// The `concord` executable as a user runs it.
@Suite struct CLITests {
    let fixtures = repositoryRoot + "/Tests/MediaTests/Fixtures"

    func expectFailure(_ args: [String], mentions: [String]) throws {
        let r = try runConcord(args)
        #expect(r.status != 0, "\(args) should fail")
        for m in mentions { #expect(r.stderr.contains(m), "stderr of \(args) should mention '\(m)': \(r.stderr)") }
        #expect(!r.stderr.contains("Fatal error"), "crashed: \(r.stderr)")
    }

    @Test func inspectMediaFile() throws {
        let r = try runConcord(["inspect", fixtures + "/h264.mp4"])
        #expect(r.status == 0)
        #expect(r.stdoutText.contains("video h264 yuv420p 320x240"))
        #expect(r.stdoutText.contains("audio aac 44100 Hz, 2 channel(s)"))
        let j = try runConcord(["inspect", fixtures + "/vfr.mp4", "--json"])
        let info = try JSONDecoder().decode(MediaInfo.self, from: j.stdout)
        #expect(info.video.first?.variableFrameRate == true)
    }

    @Test func featuresFramesAndAudioWriteNumPyFiles() throws {
        let dir = makeTemporaryDirectory()
        let r = try runConcord(["features", "frames", fixtures + "/h264.mp4", "--start", "0.5", "--duration", "0.96",
                                "--fps", "8.333333", "--size", "short:128", "--crop", "112x112", "--out", dir + "/f.npy"])
        #expect(r.status == 0, "\(r.stderr)")
        let (frames, shape) = try NPY.read(UInt8.self, from: dir + "/f.npy")
        #expect(shape == [8, 112, 112, 3])
        let direct = try VideoReader(path: fixtures + "/h264.mp4").frames(start: 0.5, duration: 0.96, fps: 8.333333, geometry: .clip112)
        let same = frames == direct.pixels
        #expect(same)
        let a = try runConcord(["features", "audio", fixtures + "/h264.mp4", "--start", "1", "--duration", "0.5", "--out", dir + "/a.npy"])
        #expect(a.status == 0, "\(a.stderr)")
        let (samples, ashape) = try NPY.read(Float.self, from: dir + "/a.npy")
        #expect(ashape == [8000] && samples.count == 8000)
        let native = try runConcord(["features", "frames", fixtures + "/vfr.mp4", "--duration", "1", "--fps", "5", "--out", dir + "/n.npy"])
        #expect(native.status == 0)
        #expect(try NPY.header(path: dir + "/n.npy").shape == [5, 240, 320, 3])
    }

    @Test func featuresLogmelWritesFramesByBandsAndItsParameters() throws {
        let dir = makeTemporaryDirectory()
        let r = try runConcord(["features", "logmel", fixtures + "/h264.mp4", "--start", "0.5", "--duration", "0.96", "--out", dir + "/m.npy"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try NPY.header(path: dir + "/m.npy").shape == [97, 64])
        let meta = try String(contentsOfFile: dir + "/m.json", encoding: .utf8)
        #expect(meta.contains("\"name\":\"default\"") && meta.contains("\"melBands\":64"))
        let v = try runConcord(["features", "logmel", fixtures + "/tone.wav", "--preset", "vggish", "--out", dir + "/v.npy"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(try NPY.header(path: dir + "/v.npy").shape == [98, 64])
        try expectFailure(["features", "logmel", fixtures + "/h264.mp4", "--preset", "nope", "--out", dir + "/x.npy"], mentions: ["unknown preset"])
        try expectFailure(["features", "logmel", fixtures + "/video_only.mp4", "--out", dir + "/x.npy"], mentions: ["video_only.mp4", "no audio stream"])
    }

    @Test func inspectSafetensors() throws {
        let path = repositoryRoot + "/Tests/TensorCoreTests/Fixtures/torch_written.safetensors"
        let r = try runConcord(["inspect", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.contains("weight  F32 [2, 3]") && r.stdoutText.contains("count  I64 []"))
        #expect(r.stdoutText.contains("metadata step: 42"))
        let npz = try runConcord(["inspect", repositoryRoot + "/Tests/TensorCoreTests/Fixtures/numpy_written.npz"])
        #expect(npz.status == 0 && npz.stdoutText.contains("a  <f4 [2, 3]"), "\(npz.stdoutText)")
        let dir = makeTemporaryDirectory()
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad.safetensors"))
        try expectFailure(["inspect", dir + "/bad.safetensors"], mentions: [dir + "/bad.safetensors", "not a readable safetensors file"])
    }

    @Test func badInputsFailWithClearMessages() throws {
        let dir = makeTemporaryDirectory()
        try expectFailure(["inspect", "/nonexistent/v.mp4"], mentions: ["/nonexistent/v.mp4", "no such"])
        try expectFailure(["features", "frames", dir, "--duration", "1", "--fps", "5", "--out", dir + "/x.npy"], mentions: [dir, "is a directory"])
        try expectFailure(["inspect", fixtures + "/empty.mp4"], mentions: ["empty.mp4", "empty"])
        try expectFailure(["inspect", fixtures + "/truncated.mp4"], mentions: ["truncated.mp4"])
        try expectFailure(["features", "frames", fixtures + "/tone.wav", "--duration", "1", "--fps", "5", "--out", dir + "/x.npy"],
                          mentions: ["tone.wav", "no video stream"])
        try expectFailure(["features", "audio", fixtures + "/video_only.mp4", "--out", dir + "/x.npy"],
                          mentions: ["video_only.mp4", "no audio stream"])
        try expectFailure(["features", "frames", fixtures + "/unknown_codec.mkv", "--duration", "0.5", "--fps", "5", "--out", dir + "/x.npy"],
                          mentions: ["unknown_codec.mkv", "unsupported codec"])
        try expectFailure(["features", "frames", fixtures + "/h264.mp4", "--start", "2.8", "--duration", "1", "--fps", "25", "--out", dir + "/x.npy"],
                          mentions: ["h264.mp4", "past the end"])
        try expectFailure(["features", "frames", fixtures + "/h264.mp4", "--duration", "1", "--fps", "5", "--size", "huge", "--out", dir + "/x.npy"],
                          mentions: ["--size"])
        try expectFailure(["synth", "no-such-recipe", "--out", dir + "/c"], mentions: ["unknown recipe"])
        // Numbers that are not finite, or that would ask for terabytes, are refused at once (issue 24).
        let h264 = fixtures + "/h264.mp4"
        for (flags, mention) in [(["--duration", "inf", "--fps", "5"], "finite"), (["--duration", "1", "--fps", "inf"], "finite"),
                                 (["--duration", "1e300", "--fps", "5"], "at most"), (["--duration", "1", "--fps", "1e9"], "at most"),
                                 (["--start", "nan", "--duration", "1", "--fps", "5"], "finite")] {
            try expectFailure(["features", "frames", h264] + flags + ["--out", dir + "/x.npy"], mentions: ["h264.mp4", mention])
        }
        try expectFailure(["features", "audio", h264, "--rate", "1000000000", "--out", dir + "/x.npy"], mentions: ["h264.mp4", "sample rate"])
        try expectFailure(["features", "audio", h264, "--start", "nan", "--out", dir + "/x.npy"], mentions: ["h264.mp4", "finite"])
        try expectFailure(["features", "logmel", h264, "--start", "nan", "--out", dir + "/x.npy"], mentions: ["h264.mp4", "finite"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }

    @Test func inspectCorpusReportsProblemsAndCarriesOn() throws {
        let dir = makeTemporaryDirectory("cli-corpus")
        try FileManager.default.copyItem(atPath: fixtures + "/h264.mp4", toPath: dir + "/good.mp4")
        try FileManager.default.copyItem(atPath: fixtures + "/garbage.mp4", toPath: dir + "/bad.mp4")
        let manifest = """
        {"id":"good","media":"good.mp4","split":"train","labels":{"class":"a"}}
        {"id":"bad","media":"bad.mp4","split":"train","labels":{}}
        {"id":"missing","media":"missing.mp4","split":"test","labels":{}}
        {"id":"up","media":"../outside.mp4"}

        """
        // A file that exists above the corpus folder: the manifest may not climb out to it.
        try? FileManager.default.copyItem(atPath: fixtures + "/h264.mp4", toPath: (dir as NSString).deletingLastPathComponent + "/outside.mp4")
        try manifest.write(toFile: dir + "/manifest.jsonl", atomically: true, encoding: .utf8)
        let r = try runConcord(["inspect", dir])
        #expect(r.status == 0)
        #expect(r.stdoutText.contains("1 readable videos"))
        #expect(r.stdoutText.contains("3 problem(s)"))
        #expect(r.stdoutText.contains("bad.mp4") && r.stdoutText.contains("missing.mp4"))
        #expect(r.stdoutText.contains("the path '../outside.mp4' leaves the corpus folder"), "\(r.stdoutText)")
        try expectFailure(["inspect", makeTemporaryDirectory()], mentions: ["not a corpus"])
        // An empty manifest is not "no problems".
        let empty = makeTemporaryDirectory("cli-empty")
        try "".write(toFile: empty + "/manifest.jsonl", atomically: true, encoding: .utf8)
        try expectFailure(["inspect", empty], mentions: [empty, "no readable entries"])
    }

    @Test func synthWritesACorpusThatInspects() throws {
        let dir = makeTemporaryDirectory("cli-synth")
        let r = try runConcord(["synth", "motions", "--out", dir, "--videos", "2", "--seed", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("2/2 videos"))
        let i = try runConcord(["inspect", dir, "--json"])
        let summary = try JSONSerialization.jsonObject(with: i.stdout) as? [String: Any]
        #expect(summary?["entries"] as? Int == 2)
        #expect(summary?["recipe"] as? String == "motions")
    }

    @Test func benchPrintsJSONWithTheRequiredFields() throws {
        let r = try runConcord(["bench", "clips", "--input", fixtures + "/h264.mp4", "--clips", "5", "--reps", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        #expect(obj?["workload"] as? String == "clips")
        #expect(obj?["unit"] as? String == "ms/clip")
        #expect((obj?["value"] as? Double ?? 0) > 0)
        #expect(obj?["threads"] as? Int != nil && obj?["peak_rss_mb"] as? Double != nil)
        #expect(obj?["blas_core"] as? String == BLASKernels.current)
        let d = try runConcord(["bench", "decode", "--input", fixtures + "/h264.mp4", "--reps", "1", "--json"])
        #expect(d.status == 0, "\(d.stderr)")
        let dobj = try JSONSerialization.jsonObject(with: d.stdout) as? [String: Any]
        #expect(dobj?["unit"] as? String == "s")
        #expect((dobj?["detail"] as? [String: String])?["frames"] == "25")
        #expect(dobj?["peer_value"] as? Double != nil, "the ffmpeg CLI peer runs when ffmpeg is installed")
    }

    @Test func benchLogmelPrintsSeconds() throws {
        let r = try runConcord(["bench", "logmel", "--seconds", "5", "--reps", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        #expect(obj?["workload"] as? String == "logmel" && obj?["unit"] as? String == "s")
        #expect((obj?["detail"] as? [String: String])?["frames"] == "501")
    }

    /// The table's columns line up under their headings, whatever the workload name's length.
    @Test func benchTableColumnsLineUp() throws {
        let r = try runConcord(["bench", "step-video-contrastive", "--steps", "1", "--no-peer"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("workload") })
        let row = try #require(lines.first { $0.hasPrefix("step-video-contrastive ") }, "\(lines)")
        let column = try #require(header.range(of: "concord")).lowerBound.utf16Offset(in: header)
        let value = row.dropFirst(column)
        #expect(row.prefix(column).hasSuffix(" ") && value.first?.isNumber == true, "header \(header)\nrow    \(row)")
    }

    /// The two step workloads added after step-avc and step-video-contrastive run and learn (the loss is finite).
    @Test(arguments: ["step-milnce", "step-videomae"])
    func benchStepWorkloadRuns(workload: String) throws {
        let r = try runConcord(["bench", workload, "--steps", "1", "--no-peer", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        #expect(obj["workload"] as? String == workload && obj["unit"] as? String == "samples/s" && (obj["value"] as? Double ?? 0) > 0)
        let detail = try #require(obj["detail"] as? [String: String])
        #expect(detail["batch"] == "16" && Float(detail["loss_last"] ?? "")?.isFinite == true, "\(detail)")
    }

    /// `--profile` accounts for the timed steps' time, by operation family, with the convolution's
    /// backward pass split into its weight and data gradients.
    @Test func benchProfileAccountsForTheSteps() throws {
        let r = try runConcord(["bench", "step-avc", "--steps", "2", "--profile", "--no-peer", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let profile = try #require(obj["profile"] as? [[String: Any]])
        let seconds = Dictionary(uniqueKeysWithValues: profile.compactMap { e in (e["family"] as? String).map { ($0, e["seconds"] as? Double ?? 0) } })
        for family in ["PerSampleConvolution forward", "PerSampleConvolution backward-weight", "PerSampleConvolution backward-data",
                       "Normalization forward", "Normalization backward", "optimizer"] {
            #expect((seconds[family] ?? 0) > 0, "\(family) missing from \(seconds.keys.sorted())")
        }
        // The families add up to the steps' own time (each step's samples / rate), within 10 %.
        let rates = try #require(obj["repetitions"] as? [Double])
        let stepSeconds = rates.reduce(0) { $0 + 16 / $1 }
        let profiled = seconds.values.reduce(0, +)
        #expect(abs(profiled - stepSeconds) < 0.1 * stepSeconds, "profile \(profiled) s, steps \(stepSeconds) s")
    }

    @Test func benchConvPrintsOneLinePerLayer() throws {
        let r = try runConcord(["bench", "conv", "--layer", "vggish.block4", "--reps", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdoutText.split(separator: "\n")
        #expect(lines.count == 3, "two layers and their total")
        let total = try #require(try JSONSerialization.jsonObject(with: Data((lines.last ?? "").utf8)) as? [String: Any])
        #expect(total["workload"] as? String == "conv:all" && (total["value"] as? Double ?? 0) > 0 && (total["sgemm_gflops"] as? Double ?? 0) > 0)
        for line in lines.dropLast() {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect((obj?["workload"] as? String)?.hasPrefix("conv:vggish.block4") == true)
            #expect((obj?["value"] as? Double ?? 0) > 0 && (obj?["sgemm_gflops"] as? Double ?? 0) > 0)
            #expect(obj?["gflop"] as? Double != nil && obj?["rss_growth_mb"] as? Double != nil)
        }
        try expectFailure(["bench", "conv", "--layer", "nothing"], mentions: ["no layer name starts with"])
    }

    /// `concord localize` refuses what it cannot do, naming the file or option.
    @Test func localizeRefusesBadInput() throws {
        let video = repositoryRoot + "/corpora/sounding-objects/videos/sounding-objects-0000.mp4"
        let out = makeTemporaryDirectory("cli-localize")
        try expectFailure(["localize", video, "--out", out, "--checkpoint", "avnce-sounding-objects"], mentions: ["no localising head"])
        try expectFailure(["localize", video, "--out", out, "--every", "0"], mentions: ["--every"])
        try expectFailure(["localize", video, "--out", out, "--at", "-1"], mentions: ["--at"])
        // With the released localisation model: a missing file and a time past the end are named.
        try expectFailure(["localize", out + "/missing.mp4", "--out", out], mentions: [out + "/missing.mp4"])
        try expectFailure(["localize", video, "--out", out, "--at", "999"], mentions: [video, "outside the file"])
    }

    /// The demo end to end at a tiny size, with tiny stand-ins for the released models under
    /// their names (`CONCORD_MODELS` is searched first): every part prints its figures.
    @Test func demoRuns() throws {
        let models = makeTemporaryDirectory("cli-demo-models")
        for (config, corpus, name) in [("avc", "sounding-objects", "avc-sounding-objects"), ("milnce", "narrated-howto", "milnce-narrated-howto"),
                                       ("avsync", "sounding-objects", "avsync-sounding-objects"),
                                       ("avnce-localize", "sounding-objects", "avnce-loc-sounding-photos")] {
            let run = makeTemporaryDirectory("cli-demo-\(config)")
            let t = try runConcord(["train", "--config", repositoryRoot + "/configs/\(config).yaml", "corpus=" + repositoryRoot + "/corpora/" + corpus,
                                    "video.width=8", "audio.width=8", "batch_size=4", "steps=2", "out=" + run]
                                   + (config == "avc" ? ["clip.short_side=64", "clip.size=56", "objectives.0.negatives_from=batch"] : [])
                                   + (config == "avsync" ? ["clip.frames=8", "clip.short_side=40", "clip.size=32"] : [])
                                   + (config == "avnce-localize" ? ["init_from=null"] : []))
            #expect(t.status == 0, "\(t.stderr)")
            #expect(try runConcord(["export", "--checkpoint", run, "--out", models + "/\(name).safetensors", "--float16"]).status == 0)
        }
        let dir = makeTemporaryDirectory("cli-demo") + "/out"
        let r = try run([concordExecutable(), "demo", "--test-videos", "16", "--train-steps", "3", "--clips", "2", "--narrated-videos", "4",
                         "--photo-videos", "4", "--out", dir], environment: ["CONCORD_MODELS": models])
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdoutText
        // Part 1 and part 2: a probe table each, trained or released against random init.
        #expect(text.contains("avc-sounding-objects (" + models), "\(text)")
        for row in ["video    linear", "video    knn", "audio    linear", "audio    knn"] {
            #expect(text.components(separatedBy: row).count == 3, "not two '\(row)' rows: \(text)")
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/run/checkpoint.safetensors"))
        #expect(text.contains("loss, mean of each tenth of the run"), "\(text)")
        // Part 2 trains configs/avnce-demo.yaml, as the command it prints says.
        let trained = try Checkpoint(path: dir + "/run/checkpoint.safetensors").config
        let printed = try TrainConfig.load(path: repositoryRoot + "/configs/avnce-demo.yaml",
                                           overrides: ["corpus=" + dir + "/objects", "cache=" + dir + "/objects-cache", "out=" + dir + "/run",
                                                       "steps=3", "seed=11"])
        #expect(trained.json == printed.json)
        // Part 3: an index of the fresh narrated corpus and the step texts answered.
        let index = try EmbeddingIndex(directory: dir + "/narrated/index")
        #expect(FileManager.default.fileExists(atPath: index.tablePath("video.milnce")))
        #expect(text.contains("step R@1:"), "\(text)")
        // Part 4: an offset put into a test video, estimated, and the fixed copy estimated again.
        #expect(text.contains("with its audio delayed by 0.320 s") && text.contains("then concord sync fixed.mp4: offset"), "\(text)")
        #expect(FileManager.default.fileExists(atPath: dir + "/late.mp4") && FileManager.default.fileExists(atPath: dir + "/fixed.mp4"))
        // Part 5: the localisation protocol's figures and overlay pictures (where Tux Paint's photos are installed).
        #expect(text.contains("5. Where the sound comes from"), "\(text)")
        if FileManager.default.fileExists(atPath: "/usr/share/tuxpaint/stamps") && FileManager.default.fileExists(atPath: "/usr/share/tuxpaint/templates") {
            #expect(text.contains("pointing game") && text.contains("pixel AP"), "\(text)")
            let pictures = (try? FileManager.default.subpathsOfDirectory(atPath: dir + "/heatmaps")) ?? []
            #expect(pictures.contains { $0.hasSuffix("frame-0000.png") }, "\(pictures)")
        }
        #expect(text.contains("6. What was written"), "\(text)")
        // Run again into the same folder: refused, nothing overwritten.
        let again = try run([concordExecutable(), "demo", "--out", dir], environment: ["CONCORD_MODELS": models])
        #expect(again.status != 0 && again.stderr.contains("not empty"), "\(again.stderr)")
    }
}
