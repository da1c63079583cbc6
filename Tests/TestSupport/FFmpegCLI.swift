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

    /// When `flashAndClick` files flash and click (seconds, before any delay).
    public static let flashAndClickTime = 1.2

    /// A 3 s 64x48 black video turning white for 0.2 s at `flashAndClickTime` and a 3 ms 2 kHz click at
    /// `flashAndClickTime`, the video or the audio input delayed by `videoDelay` / `audioDelay` seconds.
    public static func flashAndClick(_ ext: String, video: String, audio: String, videoDelay: Double, audioDelay: Double) throws -> String {
        let path = makeTemporaryDirectory("flash-click") + "/flash.\(ext)"
        let e = String(flashAndClickTime), e2 = String(flashAndClickTime + 0.199), e3 = String(flashAndClickTime + 0.003)
        var args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        if videoDelay > 0 { args += ["-itsoffset", String(videoDelay)] }
        args += ["-f", "lavfi", "-i", "color=black:size=64x48:rate=25:duration=3,drawbox=x=0:y=0:w=64:h=48:color=white:t=fill:enable='between(t,\(e),\(e2))'"]
        if audioDelay > 0 { args += ["-itsoffset", String(audioDelay)] }
        args += ["-f", "lavfi", "-i", "aevalsrc='if(between(t,\(e),\(e3)),0.9*sin(2*PI*2000*t),0)':s=48000:d=3",
                 "-map", "0:v", "-map", "1:a", "-c:v", video, "-c:a", audio, "-pix_fmt", "yuv420p", path]
        let r = try run(args)
        guard r.status == 0 else { throw FFmpegCLI.Failure(description: r.stderr) }
        return path
    }
}
