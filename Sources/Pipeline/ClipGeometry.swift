import AudioFeatures
import Media

/// The clip defaults of `docs/design.md`, "Encoder presets and clip geometry": 0.96 s; 8 RGB frames every 3rd frame of a
/// 25 fps stream (0.12 s apart, any frame rate resampled by timestamp), short side 128 then
/// a 112x112 crop, normalised by mean 0.45 / std 0.225; mono 16 kHz audio to a 96x64 log-mel.
public struct ClipGeometry: Codable, Equatable, Sendable {
    public var duration: Double = 0.96
    public var frames: Int = 8
    public var frameSpacing: Double = 0.12
    public var shortSide: Int = 128
    public var size: Int = 112
    public var mean: Float = 0.45
    public var std: Float = 0.225
    public var sampleRate: Int = 16000
    /// Log-mel frames kept per clip (frames past the clip are dropped).
    public var melFrames: Int = 96

    public init() {}

    public static let `default` = ClipGeometry()

    /// The times of a clip's frames starting at `start`.
    public func frameTimes(start: Double) -> [Double] { (0..<frames).map { start + Double($0) * frameSpacing } }

    /// Audio samples per clip.
    public var samples: Int { Int((duration * Double(sampleRate)).rounded()) }

    /// Decoding geometry: short side resized, no crop (augmentation crops).
    var decodeGeometry: FrameGeometry { FrameGeometry(resize: .shortSide(shortSide), crop: .none) }
}
