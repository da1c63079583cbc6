import Foundation
import Testing
import TestSupport

/// `concord eval` on checkpoints trained for a few steps on the committed corpus.
@Suite(.serialized) struct EvalCommandTests {
    static let small = ["video.width=8", "audio.width=8", "batch_size=8", "steps=3", "--threads", "2"]

    func trained(_ config: String) throws -> String {
        let out = makeTemporaryDirectory("eval-\(config)")
        let r = try runConcord(["train", "--config", repositoryRoot + "/configs/\(config).yaml",
                                "corpus=" + repositoryRoot + "/corpora/sounding-objects", "out=" + out] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        return out + "/checkpoint.safetensors"
    }

    func json(_ r: ProcessResult) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
    }

    @Test func linearAndKnnRecordTheProtocolAndTheBaseline() throws {
        let checkpoint = try trained("avnce")
        for proto in ["linear", "knn"] {
            for random in [false, true] {
                let out = makeTemporaryDirectory("eval-result") + "/result.json"
                let r = try runConcord(["eval", proto, "--checkpoint", checkpoint, "--clips", "3", "--out", out] + (random ? ["--random-init"] : []))
                #expect(r.status == 0, "\(r.stderr)")
                let result = try json(r)
                #expect(result["protocol"] as? String == proto && result["random_init"] as? Bool == random)
                #expect(result["train_split"] as? String == "train" && result["test_split"] as? String == "test" && result["clips_per_video"] as? Int == 3)
                let results = try #require(result["results"] as? [String: [String: Any]])
                #expect(Set(results.keys) == ["video", "audio"])
                for (_, r) in results {
                    let accuracy = try #require(r["accuracy"] as? Double)
                    #expect(accuracy >= 0 && accuracy <= 1)
                    #expect(r["train_videos"] as? Int == 11 && r["test_videos"] as? Int == 3)
                }
                #expect(FileManager.default.fileExists(atPath: out))
            }
        }
    }

    /// `eval sync`: balanced in-sync/shifted pairs, both offset grids with their exact chance
    /// levels, every window and video counted; a checkpoint without avsync is refused by name.
    @Test func syncCountsItsPairsAndOffsetsAndNeedsItsHead() throws {
        let out = makeTemporaryDirectory("eval-avsync")
        let t = try runConcord(["train", "--config", repositoryRoot + "/configs/avsync.yaml", "corpus=" + repositoryRoot + "/corpora/sounding-objects",
                                "out=" + out, "clip.frames=8", "clip.short_side=40", "clip.size=32"] + Self.small)
        #expect(t.status == 0, "\(t.stderr)")
        let r = try runConcord(["eval", "sync", "--checkpoint", out, "--clips", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try json(r)
        let results = try #require(result["results"] as? [String: Any])
        #expect(results["pairs"] as? Int == 3 * 3 * 2)  // 3 test videos, 3 windows, in sync and shifted
        for key in ["accuracy", "accuracy_in_sync", "accuracy_shifted", "in_sync_above_shifted"] {
            let value = try #require(results[key] as? Double, "\(key)")
            #expect(value >= 0 && value <= 1)
        }
        // A threshold chosen on the val split's pairs (2 videos), judged on the test split's.
        let calibrated = try #require(results["calibrated"] as? [String: Any], "\(results)")
        #expect(calibrated["split"] as? String == "val" && calibrated["calibration_pairs"] as? Int == 2 * 3, "\(calibrated)")
        for key in ["accuracy", "accuracy_in_sync", "accuracy_shifted", "calibration_accuracy"] {
            let value = try #require(calibrated[key] as? Double, "\(key)")
            #expect(value >= 0 && value <= 1)
        }
        #expect((calibrated["calibration_accuracy"] as? Double ?? 0) >= 0.5, "the best threshold is at least as good as calling every pair one way")
        let none = try json(try runConcord(["eval", "sync", "--checkpoint", out, "--clips", "2", "--calibration-split", "none"]))
        #expect((none["results"] as? [String: Any])?["calibrated"] == nil)
        let offsets = try #require(results["offsets"] as? [[String: Any]])
        #expect(offsets.map { $0["grid"] as? String } == ["offset_40ms", "offset_synchformer"])
        #expect(offsets[0]["candidates"] as? Int == 31 && abs((offsets[0]["chance_exact"] as? Double ?? 0) - 1.0 / 31) < 1e-12)
        #expect(abs((offsets[0]["chance_within_one"] as? Double ?? 0) - 91.0 / 961) < 1e-12)
        #expect(offsets[1]["candidates"] as? Int == 21 && abs((offsets[1]["step_seconds"] as? Double ?? 0) - 0.2) < 1e-12)
        for o in offsets {
            let (videos, skipped, windows) = (o["videos"] as? Int ?? -1, o["skipped"] as? Int ?? -1, o["windows"] as? Int ?? -1)
            #expect(videos + skipped == 3 && windows == 3 * videos, "\(o)")
        }
        // eval avc judges with the avsync head when there is no avc head.
        let avc = try runConcord(["eval", "avc", "--checkpoint", out, "--clips", "2"])
        #expect(avc.status == 0, "\(avc.stderr)")
        let avcResults = try json(avc)
        #expect(avcResults["head"] as? String == "avsync" && avcResults["pairs"] as? Int == 3 * 2 * 2, "\(avcResults)")
        let wrong = try runConcord(["eval", "sync", "--checkpoint", try trained("avnce"), "--clips", "2"])
        #expect(wrong.status != 0 && wrong.stderr.contains("no avsync head"), "\(wrong.stderr)")

        // concord sync: one line (or JSON object) per file; files it cannot use are named, and the others still done.
        let video = repositoryRoot + "/corpora/sounding-objects/videos/sounding-objects-0000.mp4"
        let silent = makeTemporaryDirectory("sync-inputs") + "/silent.mp4"
        let short = (silent as NSString).deletingLastPathComponent + "/short.mp4"
        _ = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", video, "-an", "-c:v", "copy", silent])
        _ = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", video, "-t", "1.2", short])
        let curves = makeTemporaryDirectory("sync-curves")
        let s = try runConcord(["sync", "--checkpoint", out, "--json", "--curve", curves, "--plot", video, silent, short])
        #expect(s.status == 1)
        #expect(s.stderr.contains(silent + ": no audio stream") && s.stderr.contains(short + ": too short"), "\(s.stderr)")
        let estimate = try #require(try JSONSerialization.jsonObject(with: s.stdout) as? [String: Any])
        let candidates = try #require(estimate["candidates"] as? [Double]), curve = try #require(estimate["curve"] as? [Double])
        #expect(candidates.count == 31 && curve.count == 31 && abs(candidates[0] + 0.6) < 1e-9)
        let offset = try #require(estimate["offset"] as? Double)
        #expect(abs(offset) <= 0.6 + 1e-9 && (estimate["windows"] as? Int ?? 0) >= 1)
        #expect(abs((estimate["frames"] as? Double ?? 0) - offset * (estimate["frame_rate"] as? Double ?? 0)) < 1e-9)
        #expect(abs(curve.max()! - curve.sorted()[15] - (estimate["confidence"] as? Double ?? -1)) < 1e-9)
        #expect(FileManager.default.fileExists(atPath: curves + "/sounding-objects-0000.sync.npy"))
        let probe = try run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0",
                             curves + "/sounding-objects-0000.sync.png"])
        #expect(probe.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "png,640,240", "\(probe.stdoutText)")
        #expect(try runConcord(["sync", "--plot", video]).stderr.contains("--plot draws the curves"))
    }

    @Test func avcCountsBalancedPairsAndNeedsItsHead() throws {
        let avc = try trained("avc")
        let r = try runConcord(["eval", "avc", "--checkpoint", avc, "--clips", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        // No pairs or no neighbours is not an accuracy of 0: it is refused.
        for (flag, value) in [("--clips", "0"), ("--k", "0")] {
            let bad = try runConcord(["eval", "knn", "--checkpoint", avc, flag, value])
            #expect(bad.status != 0 && bad.stderr.contains("\(flag) must be between"), "\(flag) \(value): \(bad.stderr)")
        }
        let result = try json(r)
        #expect(result["pairs"] as? Int == 3 * 2 * 2)  // 3 test videos x 2 clips x (own, other) audio
        let accuracy = try #require(result["accuracy"] as? Double)
        let own = try #require(result["accuracy_own_audio"] as? Double), other = try #require(result["accuracy_other_audio"] as? Double)
        #expect(accuracy >= 0 && accuracy <= 1)
        // Half the pairs are of each kind, so the overall accuracy is the mean of the two.
        #expect(abs(accuracy - (own + other) / 2) < 1e-9, "\(result)")
        // The other-audio pairs split by the class of the other video: every one is counted
        // once, and the two parts' right answers add up to the other-audio accuracy.
        #expect(result["label"] as? String == "class")
        let split = try [false, true].map { same -> (pairs: Int, accuracy: Double) in
            let entry = try #require(result[same ? "other_audio_same_label" : "other_audio_other_label"] as? [String: Any])
            let pairs = try #require(entry["pairs"] as? Int)
            if pairs == 0 { return (0, 0) }
            return (pairs, try #require(entry["accuracy"] as? Double))
        }
        #expect(split[0].pairs + split[1].pairs == 3 * 2, "\(result)")
        let rightOnOthers = split.map { Double($0.pairs) * $0.accuracy }.reduce(0, +)
        #expect(abs(rightOnOthers - other * 6) < 1e-9, "\(result)")
        let avnce = try trained("avnce")
        let wrong = try runConcord(["eval", "avc", "--checkpoint", avnce])
        #expect(wrong.status != 0 && wrong.stderr.contains("no avc or avsync head"), "\(wrong.stderr)")
        let missing = try runConcord(["eval", "linear", "--checkpoint", "/nonexistent/checkpoint.safetensors"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/checkpoint.safetensors"), "\(missing.stderr)")
    }
}
