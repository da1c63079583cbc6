import AudioFeatures
import Foundation
import Media
import TensorCore

/// A failure to read one view, naming the file.
public struct ViewLoadError: Error, CustomStringConvertible {
    public var video: Int
    public var path: String
    public var underlying: String
    /// The video had already failed and been reported; it was not read again.
    public var alreadyReported = false
    public var description: String { "\(path): \(underlying)" }
}

/// Decodes and augments the views of examples into batch buffers.
public struct ClipLoader: Sendable {
    public let videos: [SampledVideo]
    public let geometry: ClipGeometry
    public var videoAugmentation: VideoAugmentation
    public var audioAugmentation: AudioAugmentation
    let extractor: LogMelExtractor

    public init(videos: [SampledVideo], geometry: ClipGeometry, video: VideoAugmentation, audio: AudioAugmentation,
                frontEnd: FrontEnd = .default) {
        (self.videos, self.geometry, self.videoAugmentation, self.audioAugmentation) = (videos, geometry, video, audio)
        extractor = LogMelExtractor(frontEnd)
    }

    /// Values of one clip of a modality: video `[3, frames, size, size]`, audio `[1, melFrames, bands]`.
    public func clipShape(_ m: Modality) -> [Int] {
        switch m {
        case .video: [3, geometry.frames, geometry.size, geometry.size]
        case .audio: [1, geometry.melFrames, extractor.frontEnd.bands]
        }
    }

    /// Writes one view into `out` (clipShape values).
    public func load(_ modality: Modality, video v: Int, start: Double, rng: inout SeededRandom,
                     into out: UnsafeMutablePointer<Float>) throws {
        let path = videos[v].path
        do {
            switch modality {
            case .video:
                let reader = try VideoReader(path: path, threads: 1)
                let frames = try reader.frames(at: geometry.frameTimes(start: start), geometry: geometry.decodeGeometry)
                videoAugmentation.apply(frames: frames.pixels, count: frames.count, width: frames.width, height: frames.height,
                                        geometry: geometry, rng: &rng, into: out)
            case .audio:
                let reader = try AudioReader(path: path, rate: geometry.sampleRate)
                var samples = try reader.read(start: start, duration: geometry.duration)
                audioAugmentation.gain(&samples, rng: &rng)
                let mel = try extractor.compute(samples, sampleRate: geometry.sampleRate, threads: 1)
                let bands = extractor.frontEnd.bands
                let frames = min(geometry.melFrames, mel.count / bands)
                mel.withUnsafeBufferPointer { m in out.update(from: m.baseAddress!, count: frames * bands) }
                if frames < geometry.melFrames {  // a short window: pad with the last frame's values
                    for t in frames..<geometry.melFrames { (out + t * bands).update(from: out + (frames - 1) * bands, count: bands) }
                }
                audioAugmentation.mask(out, frames: geometry.melFrames, bands: bands, rng: &rng)
            }
        } catch {
            throw ViewLoadError(video: v, path: path, underlying: "\(error)".replacingOccurrences(of: path + ": ", with: ""))
        }
    }
}
