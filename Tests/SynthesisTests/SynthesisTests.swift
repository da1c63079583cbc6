import Corpora
import Foundation
import Media
import Synthesis
import TensorCore
import TestSupport
import Testing

@Suite struct SynthesisTests {
    func synth(_ recipe: String, videos: Int, seed: UInt64, recordings: Bool = true) throws -> (String, [CorpusEntry]) {
        let dir = makeTemporaryDirectory(recipe)
        var options = SynthOptions(videos: videos, seed: seed)
        options.useRecordings = recordings
        let entries = try Synthesizer.run(try Synthesizer.recipe(named: recipe), options: options, folder: dir)
        return (dir, entries)
    }

    func decoded(_ path: String) throws -> (frames: [UInt8], audio: [Float]?) {
        let info = try MediaInfo(path: path)
        let frames = try VideoReader(path: path).frames(start: 0, duration: info.video[0].duration, fps: 10).pixels
        let audio = info.audio.isEmpty ? nil : try AudioReader(path: path).readAll()
        return (frames, audio)
    }

    /// Run as a user would: `concord synth` twice with one seed, in two processes, once on two
    /// threads (videos made in parallel) and once on one.
    @Test(arguments: ["sounding-objects", "sounding-photos", "narrated-howto", "motions"])
    func sameSeedGivesTheSameDecodedContent(recipe: String) throws {
        let a = makeTemporaryDirectory(recipe), b = makeTemporaryDirectory(recipe), c = makeTemporaryDirectory(recipe)
        for (dir, seed, n, threads) in [(a, "42", "3", "2"), (b, "42", "3", "1"), (c, "43", "1", "2")] {
            let r = try runConcord(["synth", recipe, "--out", dir, "--videos", n, "--seed", seed, "--threads", threads])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let ea = try Corpus(path: a).entries, eb = try Corpus(path: b).entries
        #expect(ea == eb && ea.count == 3)
        for e in ea {
            let x = try decoded(a + "/" + e.media), y = try decoded(b + "/" + e.media)
            // Compared as Booleans: a failing #expect on megabyte arrays would diff them element by element.
            let sameFrames = x.frames == y.frames, sameAudio = x.audio == y.audio
            #expect(sameFrames, "\(e.id): frames differ")
            #expect(sameAudio, "\(e.id): audio differs")
        }
        let differs = try decoded(c + "/" + ea[0].media).frames != decoded(a + "/" + ea[0].media).frames
        #expect(differs)
    }

    @Test func soundingObjectsCorpusHasGroundTruthAndPulsesAtOnsets() throws {
        let (dir, entries) = try synth("sounding-objects", videos: 2, seed: 7)
        let corpusInfo = try Corpus(path: dir).metadata
        guard case .object(let mix)? = corpusInfo?["audio_mix"], case .number(let perVideo)? = mix["recordings_per_video"],
              case .object(let classSounds)? = corpusInfo?["class_sounds"] else {
            Issue.record("corpus.json misses audio_mix.recordings_per_video or class_sounds"); return
        }
        for e in entries {
            let path = dir + "/" + e.media
            let info = try MediaInfo(path: path)
            #expect(info.audio.count == 1 && info.video.count == 1)
            #expect(abs(info.video[0].duration - (e.duration ?? 0)) < 0.1)
            let ann = try JSONDecoder().decode([String: JSONValue].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/" + e.annotation!)))
            guard case .array(let frames)? = ann["frames"], case .array(let times)? = ann["frame_times"],
                  case .array(let onsets)? = ann["onsets"], case .array(let objects)? = ann["objects"] else {
                Issue.record("annotation misses frames, frame_times, onsets or objects"); continue
            }
            #expect(frames.count == times.count && !onsets.isEmpty && !objects.isEmpty)
            #expect(e.labels["class"] != nil && e.soundSource?.contains("CC0") == true)
            // The video plays as many of its own class's recordings as the recipe says.
            if case .array(let played)? = ann["recordings"], case .array(let ofClass)? = classSounds[e.labels["class"] ?? ""] {
                #expect(played.count == Int(perVideo) && played.allSatisfy(ofClass.contains), "\(played) of \(ofClass)")
            } else {
                Issue.record("annotation misses recordings, or corpus.json the class's sounds")
            }
            // The audio is loud just after the sounding object's onsets compared with the average.
            let audio = try AudioReader(path: path).readAll()
            let overall = audio.map(abs).reduce(0, +) / Float(audio.count)
            var atOnsets: Float = 0
            var n = 0
            for case .number(let t) in onsets {
                let i = Int(t * 16000)
                for k in i..<min(audio.count, i + 800) { atOnsets += abs(audio[k]); n += 1 }
            }
            #expect(atOnsets / Float(max(n, 1)) > 1.5 * overall, "onset energy \(atOnsets / Float(max(n, 1))) vs mean \(overall)")
        }
    }

    @Test func narratedHowtoHasNarrationsInSideFileAndStream() throws {
        let (dir, entries) = try synth("narrated-howto", videos: 2, seed: 3)
        for e in entries {
            let side = try Subtitles.read(path: dir + "/" + e.narration!)
            let stream = try Subtitles.read(path: dir + "/" + e.media)
            #expect(!side.isEmpty)
            #expect(side.map(\.text) == stream.map(\.text))
            for (a, b) in zip(side, stream) { #expect(abs(a.start - b.start) < 0.002 && abs(a.end - b.end) < 0.002) }
            #expect(e.labels["task"] != nil)
            let ann = try JSONDecoder().decode([String: JSONValue].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/" + e.annotation!)))
            guard case .array(let phases)? = ann["frame_phases"], case .array(let texts)? = ann["canonical_step_texts"] else {
                Issue.record("annotation misses frame_phases or canonical_step_texts"); continue
            }
            #expect(phases.contains(.number(0)) && phases.contains(.number(-1)))
            #expect(texts.count >= 3 && texts.count <= 6)
            let info = try MediaInfo(path: dir + "/" + e.media)
            #expect(info.duration >= 4 && info.duration <= 20.1)
        }
    }

    /// `narrated-howto-long` (made without encoding): slow steps, several lines per step, each
    /// line still within ±3 s (plus its own length) of the step it names; the default recipe keeps
    /// one line per step at most.
    @Test func longNarratedHowtoHasSlowStepsAndDenseNarration() throws {
        let sounds = SoundBank(rate: 16000, allowRecordings: false)
        for (recipe, isLong) in [(NarratedHowto.long, true), (NarratedHowto(), false)] {
            var linesPerStep: [Int] = []
            for i in 0..<12 {
                var rng = SeededRandom(seed: 11, stream: UInt64(i))
                let format = VideoFormat.random(&rng)
                let video = recipe.makeVideo(label: i % recipe.classes.count, format: format, rng: &rng, sounds: sounds)
                guard case .array(let steps)? = video.annotation["steps"] else { Issue.record("no steps"); continue }
                for case .object(let step) in steps {
                    guard case .string(let text)? = step["step"], case .number(let start)? = step["start"],
                          case .number(let end)? = step["end"] else { Issue.record("malformed step \(step)"); continue }
                    let length = end - start
                    #expect(isLong ? (length >= 4.99 && length <= 9.01) : (length >= 1.79 && length <= 3.41), "\(recipe.name): step of \(length) s")
                    let naming = video.narrations.filter { $0.text.contains(text) }
                    linesPerStep.append(naming.count)
                    for line in naming {
                        // A line's centre is within ±3 s of its part of the step; pushing lines apart
                        // so they do not overlap moves one by at most a few line lengths.
                        #expect(line.end > start - 3 - 2.2 * 3 && line.start < end + 3 + 2.2 * 3, "\(line.text) at \(line.start)–\(line.end), step \(start)–\(end)")
                    }
                }
                #expect(video.duration <= recipe.maximumDuration + 1e-9)
            }
            let mean = Double(linesPerStep.reduce(0, +)) / Double(linesPerStep.count)
            if isLong {
                #expect(mean > 1.4, "lines per step \(mean)")
                #expect(linesPerStep.max()! >= 3)
            } else {
                #expect(linesPerStep.max()! <= 1 && mean > 0.7, "lines per step \(mean)")
            }
        }
    }

    /// The names the CLI offers (its help and the unknown-recipe error) are the recipes it makes.
    @Test func everyListedRecipeNameMakesThatRecipe() throws {
        for name in Synthesizer.recipeNames { #expect(try Synthesizer.recipe(named: name).name == name) }
        #expect(throws: SynthError.self) { try Synthesizer.recipe(named: "sounding-object") }
    }

    @Test func motionsAreVideoOnly() throws {
        let (dir, entries) = try synth("motions", videos: 2, seed: 5)
        for e in entries {
            let info = try MediaInfo(path: dir + "/" + e.media)
            #expect(info.audio.isEmpty && info.video.count == 1)
            #expect(e.soundSource == nil)
        }
    }

    @Test func fallbackSoundsAreSaidInTheManifest() throws {
        let (dir, entries) = try synth("sounding-objects", videos: 1, seed: 1, recordings: false)
        #expect(entries[0].soundSource?.contains("synthesised") == true)
        let meta = try String(contentsOfFile: dir + "/corpus.json", encoding: .utf8)
        #expect(meta.contains("synthesised"))
    }

    @Test func formatsVaryAcrossACorpus() {
        var formats: [VideoFormat] = []
        for i in 0..<64 {
            var rng = SeededRandom(seed: 0, stream: UInt64(i))
            formats.append(VideoFormat.random(&rng))
        }
        #expect(formats.contains { $0.variableFrameRate })
        #expect(formats.contains { $0.frameRate == 30 && !$0.variableFrameRate })
        #expect(formats.contains { $0.frameRate == 25 && !$0.variableFrameRate })
        #expect(Set(formats.map(\.audioRate)) == [44100, 48000])
        #expect(Set(formats.map(\.audioChannels)) == [1, 2])
        var rng = SeededRandom(seed: 1)
        let vfr = formats.first { $0.variableFrameRate }!
        let times = vfr.frameTimes(duration: 4, rng: &rng)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.max()! > 1.2 * gaps.min()!)
    }

    @Test func splitsAreStratifiedByClass() {
        let splits = Synthesizer.stratifiedSplits(count: 40, classes: 8, seed: 9)
        #expect(splits.filter { $0 == "test" }.count == 8 && splits.filter { $0 == "val" }.count == 4)
        for c in 0..<8 {
            let ofClass = stride(from: c, to: 40, by: 8).map { splits[$0] }
            #expect(ofClass.filter { $0 == "test" }.count == 1, "class \(c): \(ofClass)")
            #expect(ofClass.filter { $0 == "train" }.count >= 3, "class \(c): \(ofClass)")
        }
        // Two videos a class: 3 test and 2 val overall, and every class keeps a training video.
        let small = Synthesizer.stratifiedSplits(count: 16, classes: 8, seed: 0)
        #expect(small.filter { $0 == "test" }.count == 3 && small.filter { $0 == "val" }.count == 2)
        for c in 0..<8 { #expect(small[c] == "train" || small[c + 8] == "train") }
        // Other shares: half test, no val; each class half and half.
        let halves = Synthesizer.stratifiedSplits(count: 80, classes: 8, seed: 4, testShare: 0.5, valShare: 0)
        #expect(halves.filter { $0 == "test" }.count == 40 && !halves.contains("val"))
        for c in 0..<8 { #expect(stride(from: c, to: 80, by: 8).filter { halves[$0] == "test" }.count == 5, "class \(c)") }
    }

    @Test func sharesThatLeaveNoTrainingVideosAreRefused() throws {
        var options = SynthOptions(videos: 8, seed: 0)
        options.testShare = 0.6
        options.valShare = 0.4
        #expect(throws: SynthError.self) {
            try Synthesizer.run(try Synthesizer.recipe(named: "motions"), options: options, folder: makeTemporaryDirectory("synth-shares"))
        }
    }
}
