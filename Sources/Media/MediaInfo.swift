import CFFmpeg
import Foundation

/// A video stream as the container and decoder describe it.
public struct VideoStreamInfo: Codable, Equatable, Sendable {
    public var index: Int
    public var codec: String
    public var pixelFormat: String
    public var width: Int
    public var height: Int
    /// Average frames per second (frames / duration).
    public var frameRate: Double
    /// True when the spacing of the frames' timestamps varies.
    public var variableFrameRate: Bool
    public var duration: Double
}

/// An audio stream.
public struct AudioStreamInfo: Codable, Equatable, Sendable {
    public var index: Int
    public var codec: String
    public var sampleRate: Int
    public var channels: Int
    public var duration: Double
}

/// A subtitle (narration) stream.
public struct SubtitleStreamInfo: Codable, Equatable, Sendable {
    public var index: Int
    public var codec: String
    public var language: String?
}

/// What a media file holds: container, duration and every stream.
public struct MediaInfo: Codable, Equatable, Sendable {
    public var path: String
    public var format: String
    public var duration: Double
    public var video: [VideoStreamInfo]
    public var audio: [AudioStreamInfo]
    public var subtitles: [SubtitleStreamInfo]
    /// The duration the file's header states when the file is cut short (its data ends
    /// before its index does: an interrupted download or copy); nil for a whole file.
    /// `duration` and the streams' durations are then the part that is in the file.
    public var declaredDuration: Double?

    /// Opens `path` and describes its streams.
    /// Throws `MediaError` for a missing, empty, corrupt or unreadable file.
    public init(path: String) throws {
        try self.init(container: MediaContainer(path: path))
    }

    /// NOTE: without an index, telling a variable frame rate reads packets, which moves the
    /// container's read position; readers pass `scanTimestamps: false` and scan a second
    /// container of their own instead.
    init(container: MediaContainer, scanTimestamps: Bool = true) throws {
        self.path = container.path
        self.format = String(cString: container.context.pointee.iformat.pointee.name)
        var video: [VideoStreamInfo] = []
        var audio: [AudioStreamInfo] = []
        var subtitles: [SubtitleStreamInfo] = []
        for i in 0..<container.streamCount {
            let st = container.stream(i).pointee
            let par = st.codecpar.pointee
            let codec = String(cString: avcodec_get_name(par.codec_id))
            switch par.codec_type {
            case AVMEDIA_TYPE_VIDEO:
                if (st.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 { continue }
                let pixfmt = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } ?? "unknown"
                let avg = st.avg_frame_rate.den != 0 ? av_q2d(st.avg_frame_rate) : 0
                let real = st.r_frame_rate.den != 0 ? av_q2d(st.r_frame_rate) : 0
                video.append(VideoStreamInfo(
                    index: i, codec: codec, pixelFormat: pixfmt,
                    width: Int(par.width), height: Int(par.height),
                    frameRate: avg > 0 ? avg : real,
                    variableFrameRate: scanTimestamps && MediaInfo.hasVariableSpacing(container: container, stream: i),
                    duration: container.streamDuration(i)))
            case AVMEDIA_TYPE_AUDIO:
                audio.append(AudioStreamInfo(
                    index: i, codec: codec, sampleRate: Int(par.sample_rate),
                    channels: Int(par.ch_layout.nb_channels), duration: container.streamDuration(i)))
            case AVMEDIA_TYPE_SUBTITLE:
                var language: String? = nil
                if let tag = av_dict_get(st.metadata, "language", nil, 0) {
                    language = String(cString: tag.pointee.value)
                }
                subtitles.append(SubtitleStreamInfo(index: i, codec: codec, language: language))
            default:
                continue
            }
        }
        self.video = video
        self.audio = audio
        self.subtitles = subtitles
        let streams = video.map(\.index) + audio.map(\.index)
        if streams.contains(where: { container.readableEnd($0) != nil }) {
            self.declaredDuration = container.duration ?? streams.map(container.declaredStreamDuration).max() ?? 0
            self.duration = (video.map(\.duration) + audio.map(\.duration)).max() ?? 0
        } else {
            self.declaredDuration = nil
            self.duration = container.duration
                ?? (video.map(\.duration) + audio.map(\.duration)).max() ?? 0
        }
    }

    /// Throws `MediaError.truncated` when the file is cut short (`declaredDuration`): what a
    /// corpus, which must not train on half a video, calls a problem.
    public func checkWhole() throws {
        if let declared = declaredDuration { throw MediaError.truncated(path, declared: declared, readable: duration) }
    }

    /// Whether the frame timestamps of a video stream are unevenly spaced.
    /// Uses the demuxer's index where it has one (MP4, MKV with cues), else the first
    /// 600 packets. NOTE: a spacing that varies by more than 1.5 % and by more than one
    /// tick of the time base counts as variable; B-frame reordering is undone by sorting.
    static func hasVariableSpacing(container: MediaContainer, stream index: Int) -> Bool {
        var times = container.indexTimes(stream: index)
        if times.count < 3 {
            times = []
            let packet = Packet()
            var n = 0
            while n < 600, av_read_frame(container.context, packet.pointer) >= 0 {
                if Int(packet.pointer.pointee.stream_index) == index, packet.pointer.pointee.pts != AV_NOPTS {
                    times.append(Double(packet.pointer.pointee.pts) * container.timeBase(index))
                    n += 1
                }
                av_packet_unref(packet.pointer)
            }
        }
        guard times.count >= 3 else { return false }
        times.sort()
        var gaps: [Double] = []
        for k in 1..<times.count where times[k] > times[k - 1] { gaps.append(times[k] - times[k - 1]) }
        guard let lo = gaps.min(), let hi = gaps.max() else { return false }
        let tick = container.timeBase(index)
        return hi - lo > max(0.015 * lo, 1.01 * tick)
    }
}
