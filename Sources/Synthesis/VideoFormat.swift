import TensorCore
import Foundation

/// The encoding properties of one synthetic video, varied across a corpus so that the
/// readers are exercised: frame size, 25 or 30 fps or a variable frame rate, audio at
/// 44.1 or 48 kHz, mono or stereo, and the compression level.
public struct VideoFormat: Codable, Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Nominal frames per second (the mean rate of a variable-frame-rate video).
    public var frameRate: Double
    public var variableFrameRate: Bool
    public var audioRate: Int
    public var audioChannels: Int
    /// libx264's constant rate factor.
    public var crf: Int

    public static func random(_ rng: inout SeededRandom) -> VideoFormat {
        let sizes = [(192, 144), (224, 128), (160, 120), (192, 108)]
        let (w, h) = rng.choose(sizes)
        let r = rng.unit()
        return VideoFormat(width: w, height: h,
                           frameRate: r < 0.5 ? 25 : 30,
                           variableFrameRate: r >= 0.8,
                           audioRate: rng.chance(0.5) ? 44100 : 48000,
                           audioChannels: rng.chance(0.4) ? 2 : 1,
                           crf: rng.int(23...30))
    }

    /// Presentation times of the frames of a video `duration` seconds long. A variable
    /// frame rate draws each gap from 0.5–1.5 times the nominal interval.
    public func frameTimes(duration: Double, rng: inout SeededRandom) -> [Double] {
        var times: [Double] = []
        var t = 0.0
        var k = 0
        while t < duration - 1e-9 {
            times.append(t)
            k += 1
            t = variableFrameRate ? t + rng.uniform(0.5, 1.5) / frameRate : Double(k) / frameRate
        }
        return times
    }
}
