import Corpora
import Foundation
import Media
import Synthesis
import TestSupport
import Testing

/// `sounding-photos`: real photos with their own recordings, and the ground truth the
/// localisation protocols read.
@Suite struct SoundingPhotosTests {
    static let installed = FileManager.default.fileExists(atPath: StampLibrary.stampsFolder)
        && FileManager.default.fileExists(atPath: StampLibrary.scenesFolder)

    func annotation(_ dir: String, _ e: CorpusEntry) throws -> [String: JSONValue] {
        let data = try #require(FileManager.default.contents(atPath: dir + "/" + e.annotation!))
        guard case .object(let a) = try JSONDecoder().decode(JSONValue.self, from: data) else { throw GroundTruthError(e.id, "not an object") }
        return a
    }

    @Test(.enabled(if: installed, "needs Debian's tuxpaint-stamps-default and tuxpaint-data"))
    func masksMatchTheBoxesAndTheSoundsAndNegativesHaveNone() throws {
        let dir = makeTemporaryDirectory("photos")
        let entries = try Synthesizer.run(try Synthesizer.recipe(named: "sounding-photos"), options: SynthOptions(videos: 40, seed: 2), folder: dir)
        let corpus = try Corpus(path: dir)
        var scenes: [String: Int] = [:]
        for e in entries {
            #expect(e.soundSource?.contains("GPL-2") == true, "\(e.id): the licence is named")
            let a = try annotation(dir, e)
            guard case .string(let scene)? = a["scene"], case .array(let frames)? = a["frames"],
                  case .array(let listed)? = a["moments"], case .array(let events)? = a["events"] else {
                Issue.record("\(e.id): annotation lacks scene, frames, moments or events"); continue
            }
            scenes[scene, default: 0] += 1
            let moments = try LocalizationTruth.moments(corpus: corpus, entry: e)
            #expect(moments.count == listed.count)
            for (m, item) in zip(moments, listed) {
                guard case .object(let o) = item, case .number(let f)? = o["frame"], case .bool(let visible)? = o["visible_sounding"] else { continue }
                #expect(m.visibleSounding == visible, "\(e.id) at \(m.time): mask and flag disagree")
                // Sound at this moment: an event covers it (off screen too); none in silent videos.
                let covered = events.contains {
                    guard case .object(let ev) = $0, case .number(let on)? = ev["onset"], case .number(let len)? = ev["length"] else { return false }
                    return on <= m.time && m.time < on + len
                }
                #expect(covered == (scene != "silent"), "\(e.id) (\(scene)) at \(m.time)")
                if scene != "on-screen" { #expect(!m.visibleSounding, "\(e.id): a \(scene) video has nothing visible sounding") }
                // Every red pixel lies inside the box of a sounding object of that frame.
                guard case .object(let frame) = frames[Int(f)], case .array(let objects)? = frame["objects"] else { continue }
                let boxes: [[Double]] = objects.compactMap {
                    guard case .object(let ob) = $0, case .bool(true)? = ob["sounding"], case .array(let b)? = ob["box"] else { return nil }
                    return b.map { if case .number(let x) = $0 { return x }; return -1 }
                }
                var outside = 0
                for y in 0..<m.height {
                    for x in 0..<m.width where m.sounding[y * m.width + x] {
                        let inside = boxes.contains { b in Double(x) + 0.5 >= b[0] - 1 && Double(x) + 0.5 <= b[2] + 1 && Double(y) + 0.5 >= b[1] - 1 && Double(y) + 0.5 <= b[3] + 1 }
                        if !inside { outside += 1 }
                    }
                }
                #expect(outside == 0, "\(e.id) at \(m.time): \(outside) sounding pixels outside every sounding box")
            }
        }
        // 40 videos draw every kind of scene.
        #expect(scenes["on-screen", default: 0] >= 20 && scenes["off-screen", default: 0] >= 1 && scenes["silent", default: 0] >= 1, "\(scenes)")
    }

    @Test func soundingObjectsShapesAreRebuiltAsMasks() throws {
        let dir = makeTemporaryDirectory("objects")
        let entries = try Synthesizer.run(try Synthesizer.recipe(named: "sounding-objects"), options: SynthOptions(videos: 3, seed: 9), folder: dir)
        let corpus = try Corpus(path: dir)
        for e in entries {
            let moments = try LocalizationTruth.moments(corpus: corpus, entry: e)
            #expect(moments.count >= 3, "\(e.id): one a second")
            for m in moments {
                // The sounding object is drawn on top, so it is always visible; its area is a disc-like
                // shape of radius 15–26 % of the short side, swollen at onsets.
                let share = Double(m.sounding.filter { $0 }.count) / Double(m.width * m.height)
                #expect(m.visibleSounding && share > 0.01 && share < 0.5, "\(e.id) at \(m.time): \(share)")
                #expect(!zip(m.sounding, m.silent).contains { $0 && $1 })
            }
        }
    }
}
