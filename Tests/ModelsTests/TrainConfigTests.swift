import Foundation
import Models
import Testing
import TestSupport

/// Every config value is checked before any work (issue 24): a bad value is an error naming
/// the key, the value and what is allowed; an unknown key names the nearest known one; a
/// non-finite number names its key.
@Suite struct TrainConfigTests {
    static let base = ["corpus=c", "objectives=[{name: avnce}]"]

    func error(_ overrides: [String]) -> String? {
        do { _ = try TrainConfig.load(path: nil, overrides: Self.base + overrides); return nil } catch { return "\(error)" }
    }

    @Test(arguments: [
        ("checkpoint_every=0", "checkpoint_every is 0"), ("log_every=0", "log_every is 0"), ("seed=-1", "seed is -1"),
        ("video.width=0", "video.width is 0"), ("video.width=-8", "video.width is -8"), ("audio.width=1", "audio.width is 1"), ("video.width=6", "multiple of 4"),
        ("batch_size=9223372036854775807", "batch_size"), ("batch_size=100000000", "batch_size"),
        ("clip.frames=0", "clip.frames is 0"), ("clip.frames=-1", "clip.frames is -1"), ("clip.size=0", "clip.size is 0"),
        ("clip.mel_frames=0", "clip.mel_frames is 0"), ("clip.short_side=0", "clip.short_side is 0"),
        ("optimizer.lr=-0.1", "optimizer.lr is -0.1"), ("optimizer.momentum=-1", "optimizer.momentum"),
        ("optimizer.warmup_steps=-5", "optimizer.warmup_steps is -5"), ("optimizer.clip_norm=-1", "optimizer.clip_norm"),
        ("optimizer.schedule=bogus", "optimizer.schedule is 'bogus'"), ("optimizer.lr=.nan", "optimizer.lr is nan"),
        ("optimizer.lr=.inf", "optimizer.lr is inf"), ("augment.video=wild", "augment.video is 'wild'"),
        ("stepz=5", "unknown key 'stepz' (did you mean 'steps'?)"), ("a.b.c=1", "unknown key 'a'"),
        ("optimizer.lrr=1", "unknown key 'optimizer.lrr' (did you mean 'optimizer.lr'?)"),
        ("clip.frame=4", "unknown key 'clip.frame'"), ("batch_size=16", ""),
        ("objectives.-1.name=x", "no item -1"), (".=1", "a key is empty"), ("clip..frames=2", "a key is empty"),
    ])
    func badValuesNameTheirKey(override: String, expected: String) {
        let e = error([override])
        if expected.isEmpty { #expect(e == nil, "\(override): \(e ?? "")") } else {
            #expect(e?.contains(expected) == true, "\(override): \(e ?? "accepted")")
        }
    }

    @Test func everyShippedConfigLoads() throws {
        let configs = repositoryRoot + "/configs"
        let names = try FileManager.default.contentsOfDirectory(atPath: configs).filter { $0.hasSuffix(".yaml") }
        #expect(names.count >= 5)
        for name in names {
            #expect(throws: Never.self, "\(name)") { _ = try TrainConfig.load(path: configs + "/" + name, overrides: []) }
        }
    }

    /// A billion-laughs config (nine levels of nine aliases: 9^9 values) is refused at once,
    /// naming the file; aliases in a config of ordinary size still work.
    @Test func anAliasBombIsRefusedAndOrdinaryAliasesWork() throws {
        let folder = makeTemporaryDirectory("config-alias")
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]") }
        lines.append("corpus: *a9")
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/bomb.yaml", atomically: true, encoding: .utf8)
        let started = Date()
        #expect { try TrainConfig.load(path: folder + "/bomb.yaml", overrides: []) } throws: {
            "\($0)".contains(folder + "/bomb.yaml") && "\($0)".contains("alias")
        }
        #expect(Date().timeIntervalSince(started) < 10)
        try "corpus: &c corpora/x\nout: *c\nobjectives: [{name: avnce}]\n".write(toFile: folder + "/ok.yaml", atomically: true, encoding: .utf8)
        #expect(try TrainConfig.load(path: folder + "/ok.yaml", overrides: []).out == "corpora/x")
    }

    /// A key that is a list or a mapping (YAML's `?` form) is an error naming the file and line
    /// (Yams would trap on it: found by fuzzing); every saved crash input of the fuzzer is an error.
    @Test func aKeyThatIsNotANameIsAnError() throws {
        for (text, line) in [("steps: 3\n? [a, b]\n: 1\n", 2), ("? {x: 1}\n: 2\n", 1)] {
            #expect { try TrainConfig.load(text: text, source: "k.yaml", overrides: []) } throws: {
                "\($0)".contains("k.yaml") && "\($0)".contains("line \(line)") && "\($0)".contains("a key must be a name")
            }
        }
        // A base-60 integer (YAML 1.1) too large for Int, in its digits or in 60^k: an error; a small one reads.
        for text in ["steps: 555555555555555555:53\n", "steps: 1:0:0:0:0:0:0:0:0:0:0:0\n", "steps: -1:0:0:0:0:0:0:0:0:0:0:0\n"] {
            #expect { try TrainConfig.load(text: text, source: "n.yaml", overrides: []) } throws: {
                "\($0)".contains("n.yaml") && "\($0)".contains("line 1") && "\($0)".contains("base-60")
            }
        }
        #expect(TrainConfig.sexagesimalFits("1:30") && TrainConfig.sexagesimalFits("-2_0:00:00") && !TrainConfig.sexagesimalFits("9223372036854775807:1"))
        for name in ["complex-key-crash.yaml", "sexagesimal-overflow-crash.yaml"] {
            let saved = repositoryRoot + "/fuzz/regressions/config/" + name
            let text = String(decoding: try #require(FileManager.default.contents(atPath: saved)), as: UTF8.self)
            #expect { try TrainConfig.load(text: text, source: saved, overrides: []) } throws: { "\($0)".contains(saved) }
        }
        let saved = repositoryRoot + "/fuzz/regressions/config/complex-key-crash.yaml"
        let text = String(decoding: try #require(FileManager.default.contents(atPath: saved)), as: UTF8.self)
        #expect { try TrainConfig.load(text: text, source: saved, overrides: []) } throws: { "\($0)".contains(saved) }
    }
}
