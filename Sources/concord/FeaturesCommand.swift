import ArgumentParser
import AudioFeatures
import Foundation
import Media
import TensorCore

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write frames or audio of a media file to a NumPy .npy file.",
        subcommands: [Frames.self, Audio.self, LogMel.self])

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
            warnIfCutShort(file)
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
            warnIfCutShort(file)
            let samples = try AudioReader(path: file, rate: rate).read(start: start, upTo: duration)
            try NPY.write(samples, shape: [samples.count], to: out)
            print("wrote \(out): float32 [\(samples.count)] at \(rate) Hz")
        }
    }

    struct LogMel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logmel",
            abstract: "A log-mel (or log linear) spectrogram as float32 [frames, bands].",
            discussion: """
            Presets: default (16 kHz, 64 HTK mels 125-7500 Hz, log(x + 1e-6)), vggish (the AudioSet VGGish \
            release), openl3-mel128 (48 kHz, 128 Slaney mels, dB), linear-logspec (257 bins, log(x + 1e-7)). \
            The audio is read at the preset's rate (down-mixed and resampled as `features audio`). The preset's \
            full parameters are written beside the array as X.json.
            """)

        @Argument(help: "A media or audio file.") var file: String
        @Option(help: "default, vggish, openl3-mel128 or linear-logspec.") var preset: String = "default"
        @Option(help: "Start, seconds.") var start: Double = 0
        @Option(help: "Duration, seconds (default: to the end).") var duration: Double?
        @Option(help: "The .npy file to write.") var out: String
        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            guard let frontEnd = FrontEnd.preset(named: preset) else {
                throw ValidationError("unknown preset '\(preset)' (known: \(FrontEnd.presets.map(\.name).joined(separator: ", ")))")
            }
            warnIfCutShort(file)
            let samples = try AudioReader(path: file, rate: frontEnd.sampleRate).read(start: start, upTo: duration)
            let features: [Float]
            do {
                features = try LogMelExtractor(frontEnd).compute(samples, sampleRate: frontEnd.sampleRate)
            } catch {
                throw MediaError.invalidArgument(file, reason: "\(error)")
            }
            let frames = features.count / frontEnd.bands
            try NPY.write(features, shape: [frames, frontEnd.bands], to: out)
            let sidecar = (out as NSString).deletingPathExtension + ".json"
            try writeAtomically(Data(frontEnd.json.utf8), to: sidecar)
            print("wrote \(out): float32 [\(frames), \(frontEnd.bands)] (\(frontEnd.name) front-end; parameters in \(sidecar))")
            if frames == 0 { note("note: \(file): the audio is shorter than one \(frontEnd.name) frame (\(frontEnd.winLength) samples)") }
        }
    }
}

/// Says so on standard error when `file` is cut short (its data ends before its header's
/// duration): the reads then hold only the part that is there.
func warnIfCutShort(_ file: String) {
    guard let info = try? MediaInfo(path: file), let declared = info.declaredDuration else { return }
    note("warning: \(MediaError.truncated(file, declared: declared, readable: info.duration)); reading the part that is there")
}
