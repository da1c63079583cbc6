import ArgumentParser
import Corpora
import Foundation
import Media
import Synthesis

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Concord's main job on a built-in default: synthesise a corpus, check it, read clips from it.")

    @Option(help: "Where to write the corpus (default: a new temporary folder).")
    var out: String?

    @Option(help: "Videos to synthesise (16 gives two of each of the 8 classes).")
    var videos: Int = 16

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let folder = out ?? (NSTemporaryDirectory() + "concord-demo-\(ProcessInfo.processInfo.processIdentifier)")
        print("1. synthesising a sounding-objects corpus of \(videos) videos in \(folder)")
        let recipe = try Synthesizer.recipe(named: "sounding-objects")
        let progress = ProgressLine("   synth", total: videos, unit: "videos")
        let entries = try Synthesizer.run(recipe, options: SynthOptions(videos: videos, seed: seed), folder: folder) { done, _ in
            progress.update(done)
        }
        print("   sounds: \(entries.first?.soundSource ?? "-")")

        print("2. inspecting it")
        let summary = CorpusSummary(corpus: try Corpus(path: folder))
        print("   \(summary.entries) videos, " + String(format: "%.1f s", summary.totalDuration) + ", "
              + summary.splits.keys.sorted(by: splitOrder).map { "\($0) \(summary.splits[$0]!.videos)" }.joined(separator: ", ")
              + ", \(summary.problems.count) problem(s)")

        print("3. what it holds")
        print("   id                      split  class            length  video               audio")
        for e in entries {
            let info = try MediaInfo(path: (folder as NSString).appendingPathComponent(e.media))
            let v = info.video[0], a = info.audio[0]
            let video = "\(v.width)x\(v.height) " + (v.variableFrameRate ? "VFR" : String(format: "%.0f fps", v.frameRate))
            let audio = "\(a.sampleRate) Hz " + (a.channels == 1 ? "mono" : "stereo")
            print("   " + pad(e.id, 24) + pad(e.split, 7) + pad(e.labels["class"] ?? "-", 17)
                  + pad(String(format: "%.1f s", info.duration), 8) + pad(video, 20) + audio)
        }

        print("4. reading a training clip (8 frames at 112x112, 0.96 s of 16 kHz audio) from the first videos")
        for e in entries.prefix(3) {
            let path = (folder as NSString).appendingPathComponent(e.media)
            let frames = try VideoReader(path: path).frames(start: 1.0, duration: 0.96, fps: 25.0 / 3, geometry: .clip112)
            let audio = try AudioReader(path: path).read(start: 1.0, duration: 0.96)
            let rms = (audio.map { $0 * $0 }.reduce(0, +) / Float(audio.count)).squareRoot()
            let mean = Double(frames.pixels.reduce(0) { $0 + Int($1) }) / Double(frames.pixels.count)
            print("   \(e.id): frames [\(frames.count), \(frames.height), \(frames.width), 3] mean \(String(format: "%.1f", mean)), "
                  + "audio [\(audio.count)] rms \(String(format: "%.3f", rms))")
        }
        print("done: the corpus is in \(folder) (concord inspect \(folder))")
    }
}
