import ArgumentParser
import Foundation
import Media
import TensorCore

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write frames or audio of a media file to a NumPy .npy file.",
        subcommands: [Frames.self, Audio.self])

    struct Frames: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Frames of a time span by timestamp as uint8 [T,H,W,3].",
            discussion: "The frame for time t is the one on screen at t (the last frame at or before t).")

        @Argument(help: "A video file.") var file: String
        @Option(help: "Start, seconds.") var start: Double = 0
        @Option(help: "Duration, seconds.") var duration: Double
        @Option(help: "Frames per second to sample at (by timestamp).") var fps: Double
        @Option(help: "native, WxH (exact) or short:N (short side to N, aspect kept).") var size: String = "native"
        @Option(help: "After resizing: WxH (centred) or WxH+X+Y.") var crop: String?
        @Option(help: "The .npy file to write.") var out: String
        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            guard let geometry = FrameGeometry.parse(size: size, crop: crop) else {
                throw ValidationError("--size must be native, WxH or short:N and --crop WxH or WxH+X+Y (got '\(size)'\(crop.map { ", '\($0)'" } ?? ""))")
            }
            let frames = try VideoReader(path: file).frames(start: start, duration: duration, fps: fps, geometry: geometry)
            try NPY.write(frames.pixels, shape: [frames.count, frames.height, frames.width, 3], to: out)
            print("wrote \(out): uint8 [\(frames.count), \(frames.height), \(frames.width), 3]")
        }
    }

    struct Audio: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audio of a time span, mono, resampled, as float32 [N].",
            discussion: "Down-mixed with FFmpeg's default matrix and resampled by libswresample, as `ffmpeg -ac 1 -ar RATE`.")

        @Argument(help: "A media file with an audio stream.") var file: String
        @Option(help: "Start, seconds.") var start: Double = 0
        @Option(help: "Duration, seconds (default: to the end).") var duration: Double?
        @Option(help: "Sample rate, Hz.") var rate: Int = 16000
        @Option(help: "The .npy file to write.") var out: String
        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            let reader = try AudioReader(path: file, rate: rate)
            let samples: [Float]
            if let duration {
                samples = try reader.read(start: start, duration: duration)
            } else if start > 0 {
                samples = try reader.read(start: start, duration: reader.info.duration - start)
            } else {
                samples = try reader.readAll()
            }
            try NPY.write(samples, shape: [samples.count], to: out)
            print("wrote \(out): float32 [\(samples.count)] at \(rate) Hz")
        }
    }
}
