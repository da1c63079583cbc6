import CFFmpeg
import Foundation

/// One narration line: its time span (seconds) and text.
public struct SubtitleSegment: Codable, Equatable, Sendable {
    public var start: Double
    public var end: Double
    public var text: String

    public init(start: Double, end: Double, text: String) {
        self.start = start
        self.end = end
        self.text = text
    }
}

/// Reading narrations: side files (`.srt`, `.vtt`) and subtitle streams inside containers
/// (mov_text, subrip, webvtt, ass).
public enum Subtitles {
    /// Segments of a side file, chosen by extension (`.srt` or `.vtt`), or of the first
    /// subtitle stream of a media file.
    public static func read(path: String) throws -> [SubtitleSegment] {
        switch (path as NSString).pathExtension.lowercased() {
        case "srt": return try parseSRT(contents(of: path), path: path)
        case "vtt": return try parseWebVTT(contents(of: path), path: path)
        default: return try readStream(path: path)
        }
    }

    static func contents(of path: String) throws -> String {
        try checkReadableFile(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MediaError.unreadable(path, reason: "permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw MediaError.malformedSubtitles(path, line: 1, reason: "not text")
        }
        return text
    }

    // MARK: - Side files

    /// Parses SubRip text: numbered blocks of `HH:MM:SS,mmm --> HH:MM:SS,mmm` and text lines.
    public static func parseSRT(_ text: String, path: String) throws -> [SubtitleSegment] {
        let lines = normalisedLines(text)
        var segments: [SubtitleSegment] = []
        var i = 0
        while i < lines.count {
            if lines[i].trimmingCharacters(in: .whitespaces).isEmpty { i += 1; continue }
            // Optional cue number.
            var timingLine = i
            if !lines[i].contains("-->") {
                guard Int(lines[i].trimmingCharacters(in: .whitespaces)) != nil else {
                    throw MediaError.malformedSubtitles(path, line: i + 1, reason: "expected a cue number or a timing line, found '\(lines[i])'")
                }
                timingLine = i + 1
            }
            segments.append(try readCue(lines, timingLine: timingLine, next: &i, path: path,
                                        expected: "HH:MM:SS,mmm --> HH:MM:SS,mmm"))
        }
        return segments
    }

    /// Reads a cue's timing line and the text lines up to the next blank line; `next` is left
    /// on the line after the cue.
    static func readCue(_ lines: [String], timingLine: Int, next: inout Int, path: String, expected: String) throws -> SubtitleSegment {
        guard timingLine < lines.count, lines[timingLine].contains("-->") else {
            throw MediaError.malformedSubtitles(path, line: timingLine + 1, reason: "expected a timing line '\(expected)'")
        }
        let (start, end) = try parseTiming(lines[timingLine], path: path, line: timingLine + 1)
        next = timingLine + 1
        var body: [String] = []
        // NOTE: the text ends at a blank line, or where the next cue begins without one (a
        // timing line, or a cue number followed by one), as players read such files.
        func startsCue(_ k: Int) -> Bool {
            if lines[k].contains("-->") { return true }
            return Int(lines[k].trimmingCharacters(in: .whitespaces)) != nil && k + 1 < lines.count && lines[k + 1].contains("-->")
        }
        while next < lines.count, !lines[next].trimmingCharacters(in: .whitespaces).isEmpty, !startsCue(next) {
            body.append(lines[next])
            next += 1
        }
        return SubtitleSegment(start: start, end: end, text: cleanText(body.joined(separator: "\n")))
    }

    /// Parses WebVTT: a `WEBVTT` header, then cues (optional identifier, timing line, text);
    /// NOTE, STYLE and REGION blocks are skipped.
    public static func parseWebVTT(_ text: String, path: String) throws -> [SubtitleSegment] {
        let lines = normalisedLines(text)
        guard let first = lines.first, first.hasPrefix("WEBVTT") || first.hasPrefix("\u{FEFF}WEBVTT") else {
            throw MediaError.malformedSubtitles(path, line: 1, reason: "a WebVTT file must start with 'WEBVTT'")
        }
        var segments: [SubtitleSegment] = []
        var i = 1
        while i < lines.count && !lines[i].trimmingCharacters(in: .whitespaces).isEmpty { i += 1 }  // header block
        while i < lines.count {
            if lines[i].trimmingCharacters(in: .whitespaces).isEmpty { i += 1; continue }
            let head = lines[i]
            if head.hasPrefix("NOTE") || head.hasPrefix("STYLE") || head.hasPrefix("REGION") {
                while i < lines.count, !lines[i].trimmingCharacters(in: .whitespaces).isEmpty { i += 1 }
                continue
            }
            let timingLine = head.contains("-->") ? i : i + 1  // else a cue identifier first
            segments.append(try readCue(lines, timingLine: timingLine, next: &i, path: path,
                                        expected: "HH:MM:SS.mmm --> HH:MM:SS.mmm"))
        }
        return segments
    }

    static func normalisedLines(_ text: String) -> [String] {
        var t = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if t.hasPrefix("\u{FEFF}") { t.removeFirst() }
        return t.components(separatedBy: "\n")
    }

    /// `start --> end [cue settings]`, each `[HH:]MM:SS[,.]mmm`.
    static func parseTiming(_ line: String, path: String, line number: Int) throws -> (Double, Double) {
        let parts = line.components(separatedBy: "-->")
        guard parts.count == 2 else {
            throw MediaError.malformedSubtitles(path, line: number, reason: "bad timing line '\(line)'")
        }
        let endField = parts[1].trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
        guard let start = parseTimestamp(parts[0].trimmingCharacters(in: .whitespaces)),
              let end = parseTimestamp(endField) else {
            throw MediaError.malformedSubtitles(path, line: number, reason: "bad timestamp in '\(line)'")
        }
        guard end >= start else {
            throw MediaError.malformedSubtitles(path, line: number, reason: "the cue ends before it starts ('\(line)')")
        }
        return (start, end)
    }

    static func parseTimestamp(_ s: String) -> Double? {
        let fields = s.replacingOccurrences(of: ",", with: ".").split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3 else { return nil }
        var total = 0.0
        for (k, field) in fields.enumerated() {
            let isLast = k == fields.count - 1
            if isLast {
                guard let secs = Double(field), secs >= 0, secs < 60, field.contains(".") else { return nil }
                total = total * 60 + secs
            } else {
                guard let v = Int(field), v >= 0, k == 0 || v < 60 else { return nil }
                total = total * 60 + Double(v)
            }
        }
        return total
    }

    /// Removes markup (`<i>`, `<c.x>`, `{\an8}`) and surrounding blank space; keeps line breaks.
    static func cleanText(_ s: String) -> String {
        var out = ""
        var depthAngle = false, depthBrace = false
        for ch in s {
            if ch == "<" { depthAngle = true; continue }
            if ch == ">" && depthAngle { depthAngle = false; continue }
            if ch == "{" { depthBrace = true; continue }
            if ch == "}" && depthBrace { depthBrace = false; continue }
            if !depthAngle && !depthBrace { out.append(ch) }
        }
        out = out.replacingOccurrences(of: "\\N", with: "\n").replacingOccurrences(of: "&amp;", with: "&")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Streams inside containers

    /// Segments of the first subtitle stream of a media file (or of stream `index`).
    public static func readStream(path: String, index: Int? = nil) throws -> [SubtitleSegment] {
        let container = try MediaContainer(path: path)
        let chosen: Int
        if let index {
            guard index < container.streamCount, container.codecType(index) == AVMEDIA_TYPE_SUBTITLE else {
                throw MediaError.noStream(path, kind: "subtitle stream #\(index)")
            }
            chosen = index
        } else {
            guard let first = (0..<container.streamCount).first(where: { container.codecType($0) == AVMEDIA_TYPE_SUBTITLE }) else {
                throw MediaError.noStream(path, kind: "subtitle")
            }
            chosen = first
        }
        let codecID = container.stream(chosen).pointee.codecpar.pointee.codec_id
        let tb = container.timeBase(chosen)
        let packet = Packet()
        var segments: [SubtitleSegment] = []
        while av_read_frame(container.context, packet.pointer) >= 0 {
            defer { av_packet_unref(packet.pointer) }
            let p = packet.pointer.pointee
            guard Int(p.stream_index) == chosen, p.size > 0, let data = p.data else { continue }
            let bytes = UnsafeBufferPointer(start: data, count: Int(p.size))
            guard let text = packetText(bytes, codec: codecID), !text.isEmpty else { continue }
            let ts = p.pts != AV_NOPTS ? p.pts : p.dts
            let start = container.seconds(ts, stream: chosen)
            segments.append(SubtitleSegment(start: start, end: start + Double(p.duration) * tb, text: text))
        }
        return segments.sorted { $0.start < $1.start }
    }

    /// The text of one subtitle packet.
    static func packetText(_ bytes: UnsafeBufferPointer<UInt8>, codec: AVCodecID) -> String? {
        switch codec {
        case AV_CODEC_ID_MOV_TEXT:
            // 3GPP timed text: a 16-bit big-endian length, the UTF-8 text, then style boxes.
            guard bytes.count >= 2 else { return nil }
            let n = Int(bytes[0]) << 8 | Int(bytes[1])
            guard n > 0, 2 + n <= bytes.count else { return nil }
            return String(decoding: bytes[2..<(2 + n)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        case AV_CODEC_ID_ASS, AV_CODEC_ID_SSA:
            // ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
            let line = String(decoding: bytes, as: UTF8.self)
            let fields = line.split(separator: ",", maxSplits: 8, omittingEmptySubsequences: false)
            return cleanText(fields.count == 9 ? String(fields[8]) : line)
        default:
            // subrip, webvtt and plain text carry the cue text itself.
            return cleanText(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Writes segments as SubRip text.
    public static func srtText(_ segments: [SubtitleSegment]) -> String {
        var s = ""
        for (k, seg) in segments.enumerated() {
            s += "\(k + 1)\n\(timestamp(seg.start, separator: ",")) --> \(timestamp(seg.end, separator: ","))\n\(seg.text)\n\n"
        }
        return s
    }

    /// Writes segments as WebVTT text.
    public static func webVTTText(_ segments: [SubtitleSegment]) -> String {
        var s = "WEBVTT\n\n"
        for seg in segments {
            s += "\(timestamp(seg.start, separator: ".")) --> \(timestamp(seg.end, separator: "."))\n\(seg.text)\n\n"
        }
        return s
    }

    static func timestamp(_ seconds: Double, separator: String) -> String {
        let ms = Int((seconds * 1000).rounded())
        return String(format: "%02d:%02d:%02d", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60)
            + separator + String(format: "%03d", ms % 1000)
    }
}
