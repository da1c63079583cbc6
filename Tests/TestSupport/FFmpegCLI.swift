import Foundation

/// The ffmpeg and ffprobe command-line tools, used as the reference the decoders are
/// compared with. Tests that use them need Debian's `ffmpeg` package (installed by `.ci/run`).
public enum FFmpegCLI {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs the ffmpeg CLI (quiet, no stdin) and returns its standard output.
    public static func ffmpeg(_ args: [String]) throws -> Data {
        let r = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"] + args)
        guard r.status == 0 else { throw Failure(description: "ffmpeg \(args.joined(separator: " ")) failed: \(r.stderr)") }
        return r.stdout
    }

    /// Every frame of the first video stream, in presentation order, as RGB24 bytes
    /// (`-vf` filters appended when given).
    public static func allFrames(_ path: String, filter: String? = nil) throws -> [UInt8] {
        var args = ["-i", path, "-map", "0:v:0", "-fps_mode", "passthrough"]
        if let filter { args += ["-vf", filter] }
        args += ["-sws_flags", "bicubic", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
        return [UInt8](try ffmpeg(args))
    }

    /// Presentation times (seconds) of every frame of the first video stream, from ffprobe.
    public static func frameTimes(_ path: String) throws -> [Double] {
        let r = try run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "frame=best_effort_timestamp_time", "-of", "csv=p=0", path])
        guard r.status == 0 else { throw Failure(description: "ffprobe failed: \(r.stderr)") }
        return r.stdoutText.split(separator: "\n").compactMap {
            Double($0.split(separator: ",").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? "")
        }
    }

    /// The first audio stream down-mixed to mono and resampled to `rate` Hz, as Float32.
    public static func audio(_ path: String, rate: Int) throws -> [Float] {
        let data = try ffmpeg(["-i", path, "-map", "0:a:0", "-ac", "1", "-ar", String(rate), "-f", "f32le", "pipe:1"])
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
