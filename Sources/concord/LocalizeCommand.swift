import ArgumentParser
import Evaluation
import Foundation
import Media
import Models

struct LocalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "localize",
        abstract: "Heatmaps of where each file's sound comes from, with an avnce localize: true model.",
        discussion: """
        Every --every seconds (from half that), or at each --at time, the clip of the model's geometry centred on that time \
        is read over the whole frame and each location is compared with the sound of the same window. \
        For each FILE, DIR/NAME/ gets heatmaps.npy (float32 [T, H, W] at the file's frame size: cosine \
        similarity of the sound with each pixel), times.json (the T times in seconds), frame-0000.png … \
        (each frame with its heatmap over it; blue is the file's median, red its maximum) and, with \
        --video, overlay.mp4 (every frame with the heatmap blended between analysed times, and the \
        file's audio in mono).
        """)

    @Argument(help: "Media files with video and audio.")
    var files: [String]

    @Option(name: .customLong("checkpoint"), help: "An avnce localize: true checkpoint, its run folder or a released model's name.")
    var checkpointReference: String = "avnce-loc-sounding-photos"

    @Option(help: "The output folder (one folder per file inside it).")
    var out: String

    @Option(help: "Seconds between analysed times.")
    var every: Double = 0.5

    @Option(name: .customLong("at"), parsing: .singleValue, help: "A time to analyse, in seconds (repeat for more; instead of --every).")
    var times: [Double] = []

    @Flag(help: "Also write overlay.mp4: the whole file with the heatmaps over it.")
    var video = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one media file") }
        guard every.isFinite, every >= 0.04, every <= 3600 else { throw ValidationError("--every must be between 0.04 and 3600 seconds (got \(every))") }
        if let bad = times.first(where: { !$0.isFinite || $0 < 0 }) { throw ValidationError("--at takes times of at least 0 seconds (got \(bad))") }
    }

    func run() throws {
        global.apply()
        let checkpoint = try ReleasedModels.resolve(checkpointReference)
        let (model, ckpt) = try loadModel(checkpoint: checkpoint, randomInit: false)
        let localizer = try Localizer(model: model, geometry: ckpt.config.clip)
        var used = Set<String>()
        var failures = 0
        for file in files {
            var name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            if name.isEmpty || name == "." || name == ".." { name = "file" }
            let base = name
            var n = 2
            while used.contains(name) { name = "\(base)-\(n)"; n += 1 }
            used.insert(name)
            do {
                let duration = try MediaInfo(path: file).duration
                let times = self.times.isEmpty ? Array(stride(from: every / 2, through: duration - 1e-3, by: every)) : self.times.sorted()
                guard !times.isEmpty else { throw ValidationError("\(file): too short (\(duration) s) for one time every \(every) s") }
                let started = Date()
                let maps = try localizer.heatmaps(file: file, times: times)
                let folder = (out as NSString).appendingPathComponent(name)
                try LocalizationOutput.write(maps, file: file, folder: folder, video: video)
                print(String(format: "%@: %d heatmaps (%dx%d, from %dx%d locations) in %.1f s -> %@/", file, times.count, maps.width, maps.height,
                             maps.coarseWidth, maps.coarseHeight, Date().timeIntervalSince(started), folder))
            } catch {
                failures += 1
                note("\(error)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
