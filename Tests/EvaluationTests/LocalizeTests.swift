import Evaluation
import Foundation
import Media
import Pipeline
import TensorCore
import TestSupport
import Testing

/// `Localizer` and `LocalizationOutput` (what `concord localize` runs) line their heatmaps up
/// with the frames and sounds of the times they name. The scorer is one whose answer is known —
/// each location's brightness, times how loud the window is — so a wrong frame, a flipped or
/// transposed map, a shifted upsampling or the wrong audio window shows in the answer.
@Suite struct LocalizeTests {
    /// Each 16x16 cell's mean brightness over the clip, times e^(mean log-mel) of its audio.
    struct BrightnessTimesLoudness: LocationScorer {
        func scores(video: Tensor, audio: Tensor) -> Tensor {
            let (n, c, t, h, w) = (video.shape[0], video.shape[1], video.shape[2], video.shape[3], video.shape[4])
            let (gh, gw) = (h / 16, w / 16)
            let perAudio = audio.count / n
            var out = [Float](repeating: 0, count: n * gh * gw)
            for k in 0..<n {
                let loud = Float(exp(Double(audio.data[(k * perAudio)..<((k + 1) * perAudio)].reduce(0, +) / Float(perAudio))))
                for ch in 0..<c {
                    for f in 0..<t {
                        let base = ((k * c + ch) * t + f) * h * w
                        for y in 0..<(gh * 16) {
                            for x in 0..<(gw * 16) { out[(k * gh + y / 16) * gw + x / 16] += video.data[base + y * w + x] + 3 }
                        }
                    }
                }
                for l in 0..<(gh * gw) { out[k * gh * gw + l] *= loud / Float(c * t * 256) }
            }
            return Tensor(shape: [n, gh, gw], data: out)
        }
    }

    /// 4 s at 25 fps, 160x120: a white 24x24 square moving right at 30 px/s (its centre at
    /// x = 22 + 30 t, y = 50) on dark grey; a tone from 2 s on, silence before.
    func squareVideo() throws -> String {
        let path = makeTemporaryDirectory("localize") + "/square.mp4"
        let writer = try MediaWriter(path: path, video: VideoTrackSettings(width: 160, height: 120, frameRate: 25),
                                     audio: AudioTrackSettings(sampleRate: 16000, channels: 1))
        for k in 0..<100 {
            let t = Double(k) / 25
            var image = RGBImage(width: 160, height: 120, fill: (40, 40, 40))
            let x0 = Int((10 + 30 * t).rounded())
            for y in 38..<62 { for x in x0..<(x0 + 24) { for c in 0..<3 { image.pixels[(y * 160 + x) * 3 + c] = 255 } } }
            try writer.addVideoFrame(image, time: t)
        }
        try writer.addAudio((0..<64000).map { i in i < 32000 ? 0 : Float(0.5 * sin(2 * Double.pi * 440 * Double(i) / 16000)) })
        try writer.finish()
        return path
    }

    @Test func heatmapsFollowTheSquareAndTheSound() throws {
        let file = try squareVideo()
        let localizer = Localizer(scorer: BrightnessTimesLoudness(), geometry: ClipGeometry())
        let times = [0.6, 1.0, 1.4, 2.6, 3.0, 3.4]
        let maps = try localizer.heatmaps(file: file, times: times)
        #expect(maps.width == 160 && maps.height == 120 && maps.maps.count == times.count)
        // Short side 128, long side 170.7 rounded to 176: a 11x8 grid of 16-pixel cells.
        #expect(maps.coarseWidth == 11 && maps.coarseHeight == 8)
        for (k, t) in times.enumerated() {
            let top = maps.maps[k].indices.max { maps.maps[k][$0] < maps.maps[k][$1] }!
            let (x, y) = (Double(top % 160), Double(top / 160))
            // One 16-pixel cell of the input is 12.5 pixels of the frame.
            #expect(abs(x - (22 + 30 * t)) <= 13 && abs(y - 50) <= 13, "at \(t) s the maximum is at (\(x), \(y))")
        }
        // Clips wholly before the tone against clips wholly in it.
        let quiet = maps.maps[0...2].map { $0.max()! }.max()!, loud = maps.maps[3...5].map { $0.max()! }.min()!
        #expect(loud > 10 * quiet, "loud \(loud), quiet \(quiet)")

        // What `concord localize` writes: the maps, the times, a picture per time.
        let folder = makeTemporaryDirectory("localize-out")
        try LocalizationOutput.write(maps, file: file, folder: folder, video: true)
        let (values, shape) = try NPY.read(Float.self, from: folder + "/heatmaps.npy")
        #expect(shape == [times.count, 120, 160] && values == maps.maps.flatMap { $0 })
        let listed = try JSONDecoder().decode([Double].self, from: try #require(FileManager.default.contents(atPath: folder + "/times.json")))
        #expect(listed == times)
        // The overlay is reddest where the square is at the last time (3.4 s: centre x = 124).
        let picture = try StillImage.read(path: folder + "/frame-0005.png")
        let red = { (x: Int, y: Int) -> Int in Int(picture.pixels[(y * 160 + x) * 4]) - Int(picture.pixels[(y * 160 + x) * 4 + 2]) }
        #expect(red(124, 50) > red(30, 50) && red(124, 50) > red(124, 110))
        let overlay = try MediaInfo(path: folder + "/overlay.mp4")
        #expect(overlay.video.count == 1 && overlay.audio.count == 1 && abs(overlay.duration - 4) < 0.1)
    }
}
