import Foundation
import TensorCore
import Testing
import TestSupport

/// `concord train` end to end on the committed corpora, with small encoders (width 8) so each
/// run takes seconds.
@Suite(.serialized) struct TrainCommandTests {
    static let small = ["video.width=8", "audio.width=8", "batch_size=8", "checkpoint_every=100"]

    func losses(_ out: String) throws -> [Double] {
        let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["loss"] as! Double
        }
    }

    func train(_ config: String, _ overrides: [String], resume: Bool = false) throws -> ProcessResult {
        try runConcord(["train", "--config", repositoryRoot + "/configs/\(config).yaml", "--threads", "2"] + (resume ? ["--resume"] : [])
                       + ["corpus=" + repositoryRoot + "/" + corpusOf(config)] + Self.small + overrides)
    }

    func corpusOf(_ config: String) -> String {
        switch config {
        case "rho-simclr": "corpora/motions"
        case "milnce": "corpora/narrated-howto"
        default: "corpora/sounding-objects"
        }
    }

    @Test(arguments: [("avnce", ["steps=30"]), ("rho-simclr", ["steps=30"]), ("rho-simclr", ["steps=30", "objectives.0.rho=1"]),
                      ("avc", ["steps=80", "optimizer.name=adamw", "optimizer.lr=0.003", "optimizer.weight_decay=0"]),
                      ("avc", ["steps=80", "optimizer.name=adamw", "optimizer.lr=0.003", "optimizer.weight_decay=0", "objectives.0.negatives_from=batch"]),
                      ("milnce", ["steps=30"]), ("milnce", ["steps=30", "objectives.0.name=nce"]),
                      ("avsync", ["steps=60", "objectives.0.curriculum_steps=20", "clip.frames=8", "clip.short_side=40", "clip.size=32"]),
                      ("avsync", ["steps=60", "objectives.0.loss=bce", "clip.frames=8", "clip.short_side=40", "clip.size=32"])])
    func theLossFalls(config: String, overrides: [String]) throws {
        let out = makeTemporaryDirectory("train-\(config)")
        let r = try train(config, overrides + ["out=" + out])
        #expect(r.status == 0, "\(r.stderr)")
        let l = try losses(out)
        let k = l.count / 4
        let (first, last) = (l.prefix(k).reduce(0, +) / Double(k), l.suffix(k).reduce(0, +) / Double(k))
        #expect(last < first, "\(config) \(overrides): mean loss of the first quarter \(first), of the last \(last)")
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"))
    }

    /// `--profile` prints the time per operation family over the run's steps, data wait included.
    @Test func profilePrintsTheFamilies() throws {
        let out = makeTemporaryDirectory("train-profile")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--threads", "2", "--profile",
                                "corpus=" + repositoryRoot + "/corpora/sounding-objects", "steps=3", "out=" + out] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdoutText
        #expect(text.contains("time per operation family over 3 steps"), "\(text)")
        for family in ["PerSampleConvolution forward", "PerSampleConvolution backward-weight", "optimizer", "data wait", "total"] {
            #expect(text.contains(family), "\(family) missing from\n\(text)")
        }
    }

    @Test func theSameSeedGivesTheSameLossesAndResumeContinuesThem() throws {
        // A constant schedule, so a 4-step run is the first half of the 8-step one.
        let (whole, half) = (makeTemporaryDirectory("train-whole"), makeTemporaryDirectory("train-half"))
        let common = ["optimizer.schedule=constant", "optimizer.warmup_steps=0"]
        #expect(try train("avnce", common + ["steps=8", "out=" + whole]).status == 0)
        #expect(try train("avnce", common + ["steps=4", "out=" + half]).status == 0)
        let resumed = try train("avnce", common + ["steps=8", "out=" + half], resume: true)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed"))
        let (a, b) = (try losses(whole), try losses(half))
        #expect(a.count == 8 && b.count == 8)
        #expect(a == b, "uninterrupted \(a) vs stopped at 4 and resumed \(b)")
        let again = makeTemporaryDirectory("train-again")
        #expect(try train("avnce", common + ["steps=4", "out=" + again]).status == 0)
        #expect(try losses(again) == Array(a.prefix(4)))
    }

    /// `concord prepare` writes a cache; training from it gives the decoded run's first loss
    /// (the same clips: a step's first clips start on the cache's frame grid only by chance, so
    /// only the loss's rough size is compared) and falls; a config with another clip geometry
    /// is refused, naming the cache.
    @Test func trainingReadsAPreparedCache() throws {
        let cache = makeTemporaryDirectory("cache") + "/cache"
        let prepared = try runConcord(["prepare", repositoryRoot + "/corpora/sounding-objects", "--out", cache])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(prepared.stdoutText.contains("wrote \(cache)"))
        #expect(prepared.stderr.contains("prepare") && prepared.stderr.contains("videos/s"), "progress line: \(prepared.stderr)")
        let again = try runConcord(["prepare", repositoryRoot + "/corpora/sounding-objects", "--out", cache])
        #expect(again.status != 0 && again.stderr.contains("already"), "\(again.stderr)")

        let out = makeTemporaryDirectory("train-cached")
        let r = try train("avnce", ["steps=30", "out=" + out, "cache=" + cache])
        #expect(r.status == 0, "\(r.stderr)")
        let l = try losses(out)
        #expect(l.count == 30)
        #expect(l.suffix(7).reduce(0, +) < l.prefix(7).reduce(0, +), "losses from the cache: \(l)")
        let mismatch = try train("avnce", ["steps=2", "out=" + out + "/mismatch", "cache=" + cache, "clip.short_side=144"])
        #expect(mismatch.status != 0 && mismatch.stderr.contains(cache) && mismatch.stderr.contains("geometry"), "\(mismatch.stderr)")

        // Text objectives read the clips from the cache and the narrations from the corpus.
        let narrated = makeTemporaryDirectory("cache-narrated") + "/cache"
        #expect(try runConcord(["prepare", repositoryRoot + "/corpora/narrated-howto", "--out", narrated]).status == 0)
        let text = try train("milnce", ["steps=3", "out=" + makeTemporaryDirectory("train-cached-milnce"), "cache=" + narrated])
        #expect(text.status == 0 && !text.stderr.contains("skipping"), "\(text.stderr)")

        // A cache is refused for a corpus it does not hold as it is now: another corpus, a
        // changed split, a file of the same name with other bytes.
        let other = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "corpus=" + repositoryRoot + "/corpora/motions",
                                    "cache=" + cache, "out=" + out + "/other"] + Self.small + ["steps=2"])
        #expect(other.status != 0 && other.stderr.contains("does not match the corpus"), "\(other.stderr)")
        let source = repositoryRoot + "/corpora/sounding-objects"
        for change in ["split", "bytes"] {
            let corpus = makeTemporaryDirectory("corpus-\(change)")
            try FileManager.default.createDirectory(atPath: corpus + "/videos", withIntermediateDirectories: true)
            var lines = try String(contentsOfFile: source + "/manifest.jsonl", encoding: .utf8).split(separator: "\n").map { line in
                line.replacingOccurrences(of: "\"media\":\"videos/", with: "\"media\":\"\(source)/videos/")
                    .replacingOccurrences(of: "\"annotation\":\"annotations/", with: "\"annotation\":\"\(source)/annotations/")
            }
            if change == "split" {
                lines[0] = lines[0].replacingOccurrences(of: "\"split\":\"train\"", with: "\"split\":\"test\"")
            } else {
                // Video 0's name, video 1's bytes.
                try FileManager.default.copyItem(atPath: source + "/videos/sounding-objects-0001.mp4", toPath: corpus + "/videos/sounding-objects-0000.mp4")
                lines[0] = lines[0].replacingOccurrences(of: "\(source)/videos/sounding-objects-0000.mp4", with: "videos/sounding-objects-0000.mp4")
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: corpus + "/manifest.jsonl", atomically: true, encoding: .utf8)
            let r = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "corpus=" + corpus, "cache=" + cache,
                                    "out=" + out + "/" + change] + Self.small + ["steps=2"])
            let expected = change == "split" ? "split train → test" : "bytes cached"
            #expect(r.status != 0 && r.stderr.contains(cache) && r.stderr.contains("sounding-objects-0000") && r.stderr.contains(expected),
                    "\(change): \(r.stderr)")
        }
    }

    /// One writer per run folder: a second `train` into a folder another process is training
    /// into is refused, naming it; the lock left by a process that died is taken over, saying so.
    @Test func aSecondWriterIsKeptOutAndAStaleLockIsTakenOver() throws {
        let out = makeTemporaryDirectory("train-lock")
        let lock = try FolderLock(folder: out, purpose: "a test holding the run folder")
        let refused = try train("avnce", ["steps=2", "out=" + out])
        #expect(refused.status != 0 && refused.stderr.contains("in use by pid \(getpid())"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/metrics.jsonl"))
        lock.release()
        try "pid 999999 on elsewhere: concord train (2 steps)".write(toFile: out + "/.concord.lock", atomically: false, encoding: .utf8)
        let taken = try train("avnce", ["steps=2", "out=" + out])
        #expect(taken.status == 0 && taken.stderr.contains("took over the lock left by pid 999999"), "\(taken.stderr)")
        #expect(try String(contentsOfFile: out + "/.concord.lock", encoding: .utf8).isEmpty, "released at the end")
    }

    /// `normalize: false` scores raw dot products: with the same seed (same weights and
    /// batch) the first loss differs from the normalised one, and training runs.
    @Test func milnceScoresRawDotProductsWhenAsked() throws {
        let (normalised, raw) = (makeTemporaryDirectory("milnce-norm"), makeTemporaryDirectory("milnce-raw"))
        #expect(try train("milnce", ["steps=2", "out=" + normalised]).status == 0)
        let r = try train("milnce", ["steps=2", "out=" + raw, "objectives.0.normalize=false", "objectives.0.temperature=1"])
        #expect(r.status == 0, "\(r.stderr)")
        let (a, b) = (try losses(normalised), try losses(raw))
        #expect(a.count == 2 && b.count == 2 && abs(a[0] - b[0]) > 1e-3, "normalised \(a), raw \(b)")
    }

    /// avnce and milnce in one config share one batch (video, audio and narration views of the
    /// same clips) and the video encoder; both losses are logged, and the checkpoint embeds into
    /// both joint spaces.
    @Test func videoAudioAndTextTrainTogether() throws {
        let out = makeTemporaryDirectory("train-mmv")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/mmv.yaml", "--threads", "2",
                                "corpus=" + repositoryRoot + "/corpora/narrated-howto", "out=" + out] + Self.small + ["steps=4"])
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").last)
        let losses = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["losses"] as? [String: Double])
        #expect(Set(losses.keys) == ["avnce", "milnce"])
        let index = makeTemporaryDirectory("mmv-index") + "/index"
        let embedded = try runConcord(["embed", "--checkpoint", out + "/checkpoint.safetensors", repositoryRoot + "/corpora/narrated-howto",
                                       "--split", "test", "--out", index])
        for table in ["video.avnce", "audio.avnce", "video.milnce", "text.milnce"] {
            #expect(embedded.stdoutText.contains(table), "\(table): \(embedded.stdoutText) \(embedded.stderr)")
        }
    }

    /// avnce and avc share one batch when avc takes its negatives from it (both losses and avc's
    /// accuracy are logged); the default avc asks for an extra audio view, and that config is
    /// refused with the way out named rather than crashing on mismatched rows.
    @Test func avnceAndInBatchAVCTrainTogether() throws {
        let out = makeTemporaryDirectory("train-avnce-avc")
        let config = ["train", "--config", repositoryRoot + "/configs/avnce-avc.yaml", "--threads", "2",
                      "corpus=" + repositoryRoot + "/corpora/sounding-objects"] + Self.small
        let r = try runConcord(config + ["steps=4", "out=" + out])
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").last)
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let losses = try #require(entry["losses"] as? [String: Double])
        #expect(Set(losses.keys) == ["avnce", "avc"] && losses.values.allSatisfy(\.isFinite), "\(entry)")
        #expect((entry["metrics"] as? [String: Double])?["avc_accuracy"] != nil, "\(entry)")
        let refused = try runConcord(config + ["steps=1", "objectives.1.negatives_from=other-videos", "out=" + out + "/refused"])
        #expect(refused.status != 0 && refused.stderr.contains("cannot share batches") && refused.stderr.contains("negatives_from: batch"),
                "\(refused.stderr)")
        let unknown = try runConcord(config + ["steps=1", "objectives.1.negatives_from=elsewhere", "out=" + out + "/unknown"])
        #expect(unknown.status != 0 && unknown.stderr.contains("objectives.1: avc: negatives_from must be other-videos or batch (got 'elsewhere')"), "\(unknown.stderr)")
    }

    /// A trained checkpoint's `video.*` and `audio.*` tensors, with the prefix stripped, are the
    /// state dicts of `peers/models.py`'s `R2Plus1DTiny` and `VGGishTiny` (names and shapes as
    /// recorded from PyTorch in the encoders' fixture; BatchNorm's `num_batches_tracked` as
    /// int64 scalars), so `load_state_dict(strict=True)` takes them.
    @Test func aCheckpointsEncodersAreThePyTorchStateDicts() throws {
        let out = makeTemporaryDirectory("train-names")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--threads", "2",
                                "corpus=" + repositoryRoot + "/corpora/sounding-objects", "out=" + out, "steps=1", "batch_size=4"])
        #expect(r.status == 0, "\(r.stderr)")
        let checkpoint = try SafeTensorsFile(path: out + "/checkpoint.safetensors")
        let reference = try SafeTensorsFile(path: repositoryRoot + "/Tests/EncodersTests/Fixtures/encoders.safetensors")
        for (prefix, key) in [("video.", "r2plus1d"), ("audio.", "vggish")] {
            let json = try #require(reference.metadata["\(key).names"])
            let expected = try JSONDecoder().decode([String: [Int]].self, from: Data(json.utf8))
            var ours: [String: SafeTensorsFile.Entry] = [:]
            for (name, entry) in checkpoint.entries where name.hasPrefix(prefix) { ours[String(name.dropFirst(prefix.count))] = entry }
            #expect(Set(ours.keys) == Set(expected.keys),
                    "\(key): only in the checkpoint \(Set(ours.keys).subtracting(expected.keys).sorted()); only in PyTorch \(Set(expected.keys).subtracting(ours.keys).sorted())")
            for (name, shape) in expected {
                guard let entry = ours[name] else { continue }
                #expect(entry.shape == shape, "\(key) \(name): \(entry.shape) vs PyTorch \(shape)")
                #expect(entry.dtype == (name.hasSuffix("num_batches_tracked") ? "I64" : "F32"), "\(key) \(name): \(entry.dtype)")
            }
        }
    }

    @Test func aCorruptVideoIsSkippedWithAMessage() throws {
        let corpus = makeTemporaryDirectory("corrupt-corpus")
        let source = repositoryRoot + "/corpora/sounding-objects"
        try FileManager.default.removeItem(atPath: corpus)
        try FileManager.default.copyItem(atPath: source, toPath: corpus)
        let manifest = try String(contentsOfFile: corpus + "/manifest.jsonl", encoding: .utf8)
        let line = try #require(manifest.split(separator: "\n").first { $0.contains("\"split\":\"train\"") })
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let media = corpus + "/" + (object["media"] as! String)
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: media))
        let out = makeTemporaryDirectory("train-corrupt")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "corpus=" + corpus, "out=" + out, "steps=3"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipping") && r.stderr.contains(media), "\(r.stderr)")
        #expect(try losses(out).count == 3)
    }

    /// The issue-5 commands of docs/experiments.md: a cache made with `configs/avnce-small-clips.yaml` has its
    /// 56x56 geometry and trains with that config, and with `configs/avc-small-clips.yaml` from
    /// the avnce run's encoders.
    @Test func theSmallClipConfigPreparesItsCacheAndTrainsFromIt() throws {
        let config = repositoryRoot + "/configs/avnce-small-clips.yaml"
        let corpus = repositoryRoot + "/corpora/sounding-objects"
        let dir = makeTemporaryDirectory("train-small-clips")
        let prepared = try runConcord(["prepare", corpus, "--config", config, "--out", dir + "/cache", "--threads", "2"])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        // Both configs train 3 small steps from the cache.
        let fromCache = ["--threads", "2", "corpus=" + corpus, "cache=" + dir + "/cache", "steps=3", "batch_size=8",
                         "video.width=8", "audio.width=8"]
        let r = try runConcord(["train", "--config", config, "out=" + dir + "/run"] + fromCache)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try losses(dir + "/run").count == 3)
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cache/cache.json"))) as? [String: Any]
        let geometry = meta?["geometry"] as? [String: Any]
        #expect(geometry?["size"] as? Int == 56 && geometry?["shortSide"] as? Int == 64, "cache geometry: \(String(describing: geometry))")
        // The avc config reads the same cache and starts from that run's encoders.
        let avc = try runConcord(["train", "--config", repositoryRoot + "/configs/avc-small-clips.yaml", "out=" + dir + "/avc",
                                  "init_from=" + dir + "/run/checkpoint.safetensors"] + fromCache)
        #expect(avc.status == 0, "\(avc.stderr)")
        #expect(avc.stderr.contains("encoders initialised from"), "\(avc.stderr)")
        #expect(try losses(dir + "/avc").count == 3)
    }

    /// `init_from`: an avc run starts from an avnce checkpoint's encoders (with the learning rate
    /// at 0 its first checkpoint holds exactly those weights) and a fresh avc head; encoders of
    /// another width are refused, naming the checkpoint and the mis-shaped tensors.
    @Test func aRunStartsFromAnotherRunsEncoders() throws {
        let dir = makeTemporaryDirectory("train-init")
        #expect(try train("avnce", ["steps=2", "out=" + dir + "/avnce"]).status == 0)
        let source = dir + "/avnce/checkpoint.safetensors"
        let r = try train("avc", ["steps=1", "optimizer.lr=0", "init_from=" + source, "out=" + dir + "/avc"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("encoders initialised from \(source)"), "\(r.stderr)")
        let (before, after) = (try SafeTensorsFile(path: source), try SafeTensorsFile(path: dir + "/avc/checkpoint.safetensors"))
        let weights = after.entries.keys.filter { ($0.hasPrefix("video.") || $0.hasPrefix("audio.")) && !$0.contains("running_") && !$0.contains("num_batches") }
        #expect(weights.count > 40)
        for name in weights { #expect(after.tensor(name)?.data == before.tensor(name)?.data, "\(name) differs from the avnce checkpoint's") }
        #expect(after.entries.keys.contains("heads.avc.fc1.weight"))
        let wider = try train("avc", ["steps=1", "video.width=16", "init_from=" + source, "out=" + dir + "/wider"])
        #expect(wider.status != 0 && wider.stderr.contains(source) && wider.stderr.contains("mis-shaped"), "\(wider.stderr)")
    }

    @Test func badConfigsAndDivergenceAreClearErrors() throws {
        let out = makeTemporaryDirectory("train-bad")
        let unknown = try train("avnce", ["objectives.0.name=xdcc", "out=" + out])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown objective 'xdcc'"), "\(unknown.stderr)")
        let missing = try runConcord(["train", "--config", out + "/nothing.yaml"])
        #expect(missing.status != 0 && missing.stderr.contains("nothing.yaml"), "\(missing.stderr)")
        let noResume = try train("avnce", ["out=" + out + "/fresh"], resume: true)
        #expect(noResume.status != 0 && noResume.stderr.contains("no checkpoint"), "\(noResume.stderr)")
        let diverged = try train("avnce", ["steps=20", "optimizer.lr=1e12", "optimizer.warmup_steps=0", "out=" + out + "/nan"])
        #expect(diverged.status != 0 && diverged.stderr.contains("the loss became"), "\(diverged.stderr)")
    }

    /// A checkpoint is never lost by accident: a fresh run into a folder holding one is refused
    /// (naming --resume and --overwrite), --overwrite starts again, and --resume of a run that
    /// is already at its steps says so instead of trapping.
    @Test func aCheckpointIsNotOverwrittenWithoutBeingAsked() throws {
        let out = makeTemporaryDirectory("train-keep")
        #expect(try train("avnce", ["steps=2", "out=" + out]).status == 0)
        let checkpoint = out + "/checkpoint.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let again = try train("avnce", ["steps=2", "out=" + out, "seed=5"])
        #expect(again.status != 0 && again.stderr.contains("--resume") && again.stderr.contains("--overwrite"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == before, "the checkpoint was touched")
        let done = try train("avnce", ["steps=1", "out=" + out], resume: true)
        #expect(done.status != 0 && done.stderr.contains("at step 2 and steps is 1"), "\(done.stderr)")
        let both = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--resume", "--overwrite", "out=" + out])
        #expect(both.status != 0 && both.stderr.contains("give one"), "\(both.stderr)")
        let overwritten = try runConcord(["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--threads", "2", "--overwrite",
                                          "steps=1", "seed=5", "out=" + out])
        #expect(overwritten.status == 0, "\(overwritten.stderr)")
        #expect(try losses(out).count == 1 && (try Data(contentsOf: URL(fileURLWithPath: checkpoint))) != before)
    }

    /// SIGTERM (what schedulers and `timeout` send) stops training after the step with a
    /// checkpoint, as Ctrl-C does; the run then resumes.
    @Test func sigtermSavesACheckpoint() throws {
        let out = makeTemporaryDirectory("train-term")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: concordExecutable())
        process.arguments = ["train", "--config", repositoryRoot + "/configs/avnce.yaml", "--threads", "2", "steps=100000",
                             "checkpoint_every=100000", "out=" + out]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait for the first steps in the metrics log, then ask it to stop.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && ((try? String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2 {
            Thread.sleep(forTimeInterval: 0.2)
        }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "status \(process.terminationStatus): \(stderr)")
        #expect(stderr.contains("SIGTERM") && stderr.contains("saved"), "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"))
    }
}
