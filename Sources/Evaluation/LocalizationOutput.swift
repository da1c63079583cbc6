import Foundation
import Media
import TensorCore

/// What `concord localize` writes for one file, in its own folder:
/// - `heatmaps.npy`: float32 `[T, H, W]` at the file's frame size, the cosine similarity of the
///   sound with each pixel at each analysed time;
/// - `times.json`: the T times (seconds from the file's start), a JSON list;
/// - `frame-0000.png`, …: the frame on screen at each time with its heatmap over it (one colour
///   scale for the whole file, so quiet and loud moments compare);
/// - with `video`, `overlay.mp4`: every frame of the file with the heatmap of the nearest
///   analysed times (blended linearly between them) over it, and the file's audio (mono).
public enum LocalizationOutput {
    public static func write(_ maps: Localizer.Maps, file: String, folder: String, video: Bool) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        try NPY.write(maps.maps.flatMap { $0 }, shape: [maps.times.count, maps.height, maps.width], to: path("heatmaps.npy"))
        let times = "[" + maps.times.map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]\n"
        try writeAtomically(Data(times.utf8), to: path("times.json"))
        let range = colourRange(maps)
        let reader = try VideoReader(path: file, threads: 1)
        let frames = try reader.frames(at: maps.times)
        for k in maps.times.indices {
            try PNGWriter.write(HeatmapOverlay.render(frame: frames.image(k), map: maps.maps[k], range: range),
                                to: path(String(format: "frame-%04d.png", k)))
        }
        if video { try writeVideo(maps, file: file, to: path("overlay.mp4"), range: range) }
    }

    /// The colour scale's range: from the file's median value to its largest.
    static func colourRange(_ maps: Localizer.Maps) -> ClosedRange<Float> {
        let coarse = maps.coarse.flatMap { $0 }.sorted()
        guard let hi = coarse.last else { return 0...1 }
        let lo = coarse[coarse.count / 2]
        return lo < hi ? lo...hi : (hi - 1)...hi
    }

    static func writeVideo(_ maps: Localizer.Maps, file: String, to out: String, range: ClosedRange<Float>) throws {
        let info = try MediaInfo(path: file)
        guard let stream = info.video.first else { throw MediaError.noStream(file, kind: "video") }
        let fps = stream.frameRate > 0 && stream.frameRate.isFinite ? min(stream.frameRate, 60) : 25
        let audio = try AudioReader(path: file, rate: info.audio.first?.sampleRate ?? 48000)
        // libx264 wants even sizes.
        let (w, h) = (maps.width & ~1, maps.height & ~1)
        let writer = try MediaWriter(path: out, video: VideoTrackSettings(width: w, height: h, frameRate: fps, options: ["preset": "veryfast", "crf": "23"]),
                                     audio: AudioTrackSettings(sampleRate: audio.rate, channels: 1))
        let reader = try VideoReader(path: file, threads: 1)
        let count = max(1, Int((min(info.duration, reader.endTime) * fps).rounded(.down)))
        for first in stride(from: 0, to: count, by: 64) {
            let times = (first..<min(first + 64, count)).map { Double($0) / fps }
            let frames = try reader.frames(at: times)
            for (k, t) in times.enumerated() {
                var picture = HeatmapOverlay.render(frame: frames.image(k), map: blended(maps, at: t), range: range)
                if w != maps.width || h != maps.height { picture = cropped(picture, width: w, height: h) }
                try writer.addVideoFrame(picture, time: t)
            }
        }
        try writer.addAudio(audio.readAll())
        try writer.finish()
    }

    /// The heatmap at time t: linear between the two analysed times around it.
    static func blended(_ maps: Localizer.Maps, at t: Double) -> [Float] {
        guard let after = maps.times.firstIndex(where: { $0 >= t }) else { return maps.maps[maps.maps.count - 1] }
        guard after > 0, maps.times[after] > t else { return maps.maps[after] }
        let before = after - 1
        let f = Float((t - maps.times[before]) / (maps.times[after] - maps.times[before]))
        return zip(maps.maps[before], maps.maps[after]).map { $0 + ($1 - $0) * f }
    }

    static func cropped(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<(width * 3) { pixels[y * width * 3 + x] = image.pixels[y * image.width * 3 + x] }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
