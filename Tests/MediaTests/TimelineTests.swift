import Foundation
import Media
import TestSupport
import Testing

/// Video frames and audio on one timeline (issue 23): a file with a white flash and a click
/// made at the same instant (1.2 s), with one stream started 0.4 s after the other
/// (`-itsoffset`), in several containers. Concord's flash (VideoReader) and click
/// (AudioReader) are where the file puts them: the click minus the flash is the offset put in,
/// and each is where the ffmpeg CLI puts it (ffprobe frame times less the file's start time;
/// `aresample=first_pts=0`).
@Suite struct TimelineTests {
    /// The first of `count` RGB frames of `frameBytes` each whose mean value is over 128.
    static func firstBright(_ pixels: [UInt8], frameBytes n: Int, count: Int) -> Int? {
        (0..<count).first { k in pixels[(k * n)..<((k + 1) * n)].reduce(0) { $0 + Int($1) } / n > 128 }
    }

    /// The presentation time of the first bright frame, read by VideoReader at 200 requests/s.
    static func flashTime(_ path: String) throws -> Double? {
        let frames = try VideoReader(path: path).frames(start: 0, duration: 2.9, fps: 200)
        return firstBright(frames.pixels, frameBytes: frames.width * frames.height * 3, count: frames.count).map { frames.frameTimes[$0] }
    }

    /// The time of the first sample louder than 0.3.
    static func clickTime(_ samples: [Float], rate: Int = 16000) -> Double? {
        samples.firstIndex { abs($0) > 0.3 }.map { Double($0) / Double(rate) }
    }

    /// The container's start time (ffprobe's `format=start_time`; 0 when it gives none).
    static func formatStart(_ path: String) throws -> Double {
        Double(try run(["ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0", path])
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// The flash as ffprobe times it, less the file's start time when that is after 0 (as the
    /// ffmpeg CLI does; a negative start is codec priming, left alone by Concord).
    static func cliFlashTime(_ path: String) throws -> Double? {
        let start = max(0, try formatStart(path))
        let times = try FFmpegCLI.frameTimes(path)
        let rgb = try FFmpegCLI.allFrames(path)
        let n = 64 * 48 * 3
        guard rgb.count == times.count * n else { return nil }
        return firstBright(rgb, frameBytes: n, count: times.count).map { times[$0] - start }
    }

    /// Container, video codec, audio codec, and whether the audio (else the video) is late.
    static let cases: [(String, String, String, Bool)] = [
        ("mp4", "libx264", "aac"), ("mkv", "libx264", "libmp3lame"), ("webm", "libvpx-vp9", "libopus"),
        ("mov", "libx264", "pcm_s16le"), ("ts", "libx264", "aac"),
    ].flatMap { c in [true, false].map { (c.0, c.1, c.2, $0) } }

    @Test(arguments: cases)
    func flashAndClickAgree(ext: String, video: String, audio: String, audioLate: Bool) throws {
        let (vd, ad) = audioLate ? (0.0, 0.4) : (0.4, 0.0)
        let path = try FFmpegCLI.flashAndClick(ext, video: video, audio: audio, videoDelay: vd, audioDelay: ad)
        let label = "\(ext) with the \(audioLate ? "audio" : "video") 0.4 s late"
        let whole = try AudioReader(path: path).readAll()
        let flash = try #require(try Self.flashTime(path), "\(label): no flash")
        let click = try #require(Self.clickTime(whole), "\(label): no click")
        // NOTE: codecs whose priming the container does not signal (MP3 in MKV, AAC in MPEG-TS)
        // put the click up to 25 ms late in every player; that is the file, not the reader.
        let difference = click - flash
        #expect(abs(difference - (ad - vd)) < 0.026, "\(label): click − flash \(difference) s, expected \(ad - vd)")
        // The flash at ffprobe's frame time of the bright frame.
        let cliFlash = try #require(try Self.cliFlashTime(path), "\(label): ffmpeg sees no flash")
        #expect(abs(flash - cliFlash) < 1e-3, "\(label): flash at \(flash) s, ffmpeg's at \(cliFlash) s")
        // The click where ffmpeg's first_pts=0 puts it, except in MPEG-TS, where the CLI starts
        // the late audio at its first packet (it drops the 0.4 s the file says precede it).
        if ext != "ts" || !audioLate {
            let cli = try FFmpegCLI.ffmpeg(["-i", path, "-map", "0:a:0", "-af", "aresample=16000:first_pts=0", "-ac", "1", "-f", "f32le", "pipe:1"])
                .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            // A negative start (Opus's priming in WebM) the CLI shifts away and Concord does not.
            let cliClick = try #require(Self.clickTime(cli), "\(label): ffmpeg hears no click") + min(0, try Self.formatStart(path))
            #expect(abs(click - cliClick) < 1e-3, "\(label): click at \(click) s, ffmpeg's at \(cliClick) s")
        }
        // A window after a seek hears the click at the same time as the whole-file read.
        let start = (click - 0.3) < 0 ? 0 : click - 0.3
        let window = try AudioReader(path: path).read(start: start, duration: 0.6)
        let windowClick = try #require(Self.clickTime(window), "\(label): the window misses the click").advanced(by: start)
        #expect(abs(windowClick - click) < 1e-3, "\(label): window click at \(windowClick) s, whole-file \(click) s")
    }

    /// MPEG-TS files start far from 0 (1.4 s here): the reads start at the file's start, so
    /// the whole-file read is as long as ffmpeg's and frames near the end can be read.
    @Test func transportStreamStartsAtItsStart() throws {
        let path = try FFmpegCLI.flashAndClick("ts", video: "libx264", audio: "aac", videoDelay: 0, audioDelay: 0)
        let whole = try AudioReader(path: path).readAll()
        let cli = try FFmpegCLI.ffmpeg(["-i", path, "-map", "0:a:0", "-af", "aresample=16000:first_pts=0", "-ac", "1", "-f", "f32le", "pipe:1"])
            .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(abs(whole.count - cli.count) <= 16, "\(whole.count) samples, ffmpeg \(cli.count)")
        let reader = try VideoReader(path: path)
        #expect(reader.endTime < 3.1 && reader.endTime > 2.9, "video ends at \(reader.endTime) s")
        let last = try reader.frames(at: [2.95])
        #expect(abs(last.frameTimes[0] - 2.92) < 0.03, "frame at \(last.frameTimes[0]) s")
    }
}

/// AVI audio after a seek (issue 23): AVI times audio by byte counts, and where its chunks do
/// not hold whole AC-3 frames (Debian's opencv-doc `Megamind.avi`) a seek used to land the
/// window up to 28 ms off the whole-file read. Windows at 45 starts now equal the whole-file
/// read, which equals ffmpeg's `aresample=first_pts=0`. Runs where opencv-doc is installed
/// (96 MB, so not by `.ci/install-deps`); the AVI that ffmpeg writes (whole frames per chunk)
/// is checked everywhere.
@Suite struct AVIAudioSeekTests {
    static let megamind = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"

    /// The largest |lag| (samples, within ±`reach`) at which windows every `every` seconds
    /// best match the whole-file read, and the largest mean difference at lag 0.
    static func windowsAgainstWhole(_ path: String, every: Double, reach: Int = 800) throws -> (lag: Int, difference: Float) {
        let whole = try AudioReader(path: path).readAll()
        var worst = (lag: 0, difference: Float(0))
        var start = 0.3
        while start + 0.4 < Double(whole.count) / 16000 - 0.1 {
            let window = try AudioReader(path: path).read(start: start, duration: 0.4)
            let first = Int((start * 16000).rounded())
            let padded = Array(whole[(first - reach)..<(first + window.count + reach)])
            let (lag, _) = AudioTimelineTests.bestLag(padded, [Float](repeating: 0, count: reach) + window + [Float](repeating: 0, count: reach), reach: reach)
            let difference = zip(window, whole[first..<(first + window.count)]).map { abs($0 - $1) }.reduce(0, +) / Float(window.count)
            worst = (max(worst.lag, abs(lag)), max(worst.difference, difference))
            start += every
        }
        return worst
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: megamind), "needs Debian's opencv-doc"))
    func megamindWindowsEqualTheWholeFile() throws {
        let (lag, difference) = try Self.windowsAgainstWhole(Self.megamind, every: 0.23)
        #expect(lag <= 16 && difference < 1e-3, "worst lag \(lag) samples, worst mean difference \(difference)")
        let cli = try FFmpegCLI.ffmpeg(["-i", Self.megamind, "-map", "0:a:0", "-af", "aresample=16000:first_pts=0", "-ac", "1", "-f", "f32le", "pipe:1"])
            .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let whole = try AudioReader(path: Self.megamind).readAll()
        #expect(abs(cli.count - whole.count) <= 16 && maxAbsoluteDifference(Array(whole.prefix(cli.count)), Array(cli.prefix(whole.count))) < 1e-3)
    }

    @Test func ac3InAnAVIFromFFmpeg() throws {
        let path = makeTemporaryDirectory("avi-ac3") + "/ac3.avi"
        let r = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=24:duration=6",
                         "-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*(300+200*sin(t))*t)':s=48000:d=6", "-c:v", "mpeg4", "-c:a", "ac3", path])
        guard r.status == 0 else { throw FFmpegCLI.Failure(description: r.stderr) }
        let (lag, difference) = try Self.windowsAgainstWhole(path, every: 0.37)
        #expect(lag <= 16 && difference < 1e-3, "worst lag \(lag) samples, worst mean difference \(difference)")
    }
}
