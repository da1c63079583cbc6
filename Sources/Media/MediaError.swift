import CFFmpeg
import Foundation

/// An error reading or writing media. Every case names the file and the problem,
/// so a message printed to the user says what went wrong and where.
public enum MediaError: Error, CustomStringConvertible, Equatable, Sendable {
    case missingFile(String)
    case isDirectory(String)
    case emptyFile(String)
    case unreadable(String, reason: String)
    case noStream(String, kind: String)
    case unsupportedCodec(String, codec: String)
    case spanOutOfRange(String, start: Double, duration: Double, streamDuration: Double)
    case malformedSubtitles(String, line: Int, reason: String)
    case invalidArgument(String, reason: String)
    case writeFailed(String, reason: String)
    case truncated(String, declared: Double, readable: Double)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): no such file"
        case .isDirectory(let path): return "\(path): is a directory, expected a file"
        case .emptyFile(let path): return "\(path): the file is empty"
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .noStream(let path, let kind): return "\(path): has no \(kind) stream"
        case .unsupportedCodec(let path, let codec): return "\(path): unsupported codec '\(codec)' (no decoder in this FFmpeg build)"
        case .spanOutOfRange(let path, let start, let duration, let streamDuration):
            return "\(path): the span \(fmt(start))–\(fmt(start + duration)) s lies past the end of the stream (at \(fmt(streamDuration)) s)"
        case .malformedSubtitles(let path, let line, let reason): return "\(path):\(line): malformed subtitles: \(reason)"
        case .invalidArgument(let path, let reason): return "\(path): \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot be written: \(reason)"
        case .truncated(let path, let declared, let readable):
            return "\(path): the file is cut short: its header says \(fmt(declared)) s, its data ends at \(fmt(readable)) s (an interrupted download or copy?)"
        }
    }

    private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
}

extension MediaError: LocalizedError {
    public var errorDescription: String? { description }
}

/// FFmpeg's text for an error code (`av_err2str` is a macro Swift cannot import).
func averrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

let AVERROR_EOF_VALUE = concord_averror_eof()
let AVERROR_EAGAIN_VALUE = concord_averror_eagain()
let AV_NOPTS = concord_av_nopts_value()

/// Checks that `path` names a non-empty regular file; throws the matching `MediaError` otherwise.
public func checkReadableFile(_ path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw MediaError.missingFile(path)
    }
    if isDirectory.boolValue { throw MediaError.isDirectory(path) }
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    if size == 0 { throw MediaError.emptyFile(path) }
}

/// Silences FFmpeg's own console logging (errors reach the user through `MediaError`);
/// `CONCORD_FFMPEG_DEBUG=1` turns on its debug log instead.
public func setFFmpegLogQuiet() {
    av_log_set_level(getenv("CONCORD_FFMPEG_DEBUG") != nil ? AV_LOG_DEBUG : AV_LOG_QUIET)
}

/// Applied once before the first use of FFmpeg by any reader or writer.
let ffmpegLogging: Void = setFFmpegLogQuiet()
