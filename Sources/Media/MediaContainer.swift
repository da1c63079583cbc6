import CFFmpeg
import Foundation

/// An open media file (FFmpeg's `AVFormatContext`), owned and closed by this object.
/// Not thread-safe: one reader per thread.
final class MediaContainer {
    let path: String
    let context: UnsafeMutablePointer<AVFormatContext>

    init(path: String) throws {
        try checkReadableFile(path)
        _ = ffmpegLogging
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let openResult = avformat_open_input(&ctx, path, nil, nil)
        guard openResult >= 0, let opened = ctx else {
            throw MediaError.unreadable(path, reason: "not a media file FFmpeg can read (\(averrorString(openResult)))")
        }
        let infoResult = avformat_find_stream_info(opened, nil)
        if infoResult < 0 {
            avformat_close_input(&ctx)
            throw MediaError.unreadable(path, reason: "stream information could not be found (\(averrorString(infoResult)))")
        }
        self.path = path
        self.context = opened
        // The earliest start of the audio and video streams, when it is after 0.
        var earliest = Double.infinity
        for i in 0..<Int(opened.pointee.nb_streams) {
            let st = opened.pointee.streams[i]!.pointee
            let type = st.codecpar.pointee.codec_type
            guard type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO, st.start_time != AV_NOPTS else { continue }
            earliest = min(earliest, Double(st.start_time) * av_q2d(st.time_base))
        }
        self.origin = earliest.isFinite ? max(0, earliest) : 0
    }

    /// Where the file's timeline starts, in stored presentation time (seconds): the earliest
    /// start of its audio and video streams, or 0 when that is before 0.
    ///
    /// NOTE: every time Concord reads or reports is `stored presentation time - origin`, as
    /// the ffmpeg CLI's are (it subtracts the input's start time unless `-copyts`). MPEG-TS
    /// files (camcorder `.mts`/`.m2ts`, broadcast captures) start at 1.4 s or hours in; MP4s
    /// start at 0, and a stream that starts late (audio made with `-itsoffset`) keeps its
    /// lateness because the origin is the earliest stream's start. Two departures from the
    /// CLI: a negative start (the codec priming Opus in WebM and some AAC muxers signal, which
    /// the decoder drops) is not shifted, so frame times stay ffprobe's; and subtitle streams
    /// do not count (a subtitle file's first cue is not where its timeline starts).
    let origin: Double

    /// FFmpeg's name of the container format (`avi`, `mov,mp4,m4a,3gp,3g2,mj2`, …).
    var formatName: String { String(cString: context.pointee.iformat.pointee.name) }

    /// A stored timestamp of `streamIndex` as seconds on the file's timeline.
    func seconds(_ timestamp: Int64, stream streamIndex: Int) -> Double {
        Double(timestamp) * timeBase(streamIndex) - origin
    }

    /// Where a stream starts on the file's timeline (0 when it does not say).
    func streamStart(_ index: Int) -> Double {
        let first = stream(index).pointee.start_time
        return first == AV_NOPTS ? 0 : max(0, seconds(first, stream: index))
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        context.pointee.streams[index]!
    }

    func codecType(_ index: Int) -> AVMediaType { stream(index).pointee.codecpar.pointee.codec_type }

    /// The index of the best stream of a kind (FFmpeg's choice: the default/largest one), or nil.
    func bestStream(_ type: AVMediaType) -> Int? {
        let index = av_find_best_stream(context, type, -1, -1, nil, 0)
        return index >= 0 ? Int(index) : nil
    }

    /// The container's duration in seconds, or nil when it does not say.
    var duration: Double? {
        let d = context.pointee.duration
        return d == AV_NOPTS || d <= 0 ? nil : Double(d) / Double(AV_TIME_BASE)
    }

    func timeBase(_ index: Int) -> Double { av_q2d(stream(index).pointee.time_base) }

    /// A stream's duration in seconds: the stream's own, else the container's; in a file cut
    /// short (see `readableEnd`), only the part whose data is in the file.
    func streamDuration(_ index: Int) -> Double {
        let declared = declaredStreamDuration(index)
        guard let end = readableEnd(index) else { return declared }
        return min(declared, max(0, end - streamStart(index)))
    }

    /// A stream's duration as the file's header states it.
    func declaredStreamDuration(_ index: Int) -> Double {
        let st = stream(index).pointee
        if st.duration != AV_NOPTS && st.duration > 0 {
            return Double(st.duration) * av_q2d(st.time_base)
        }
        return duration ?? 0
    }

    /// Where the data of stream `index` ends (seconds on the file's timeline) when the file
    /// is shorter than its own index says: the time of the earliest packet the index places
    /// past the last byte. nil when every indexed packet is in the file, or there is no index.
    ///
    /// NOTE: a fast-start MP4 (index at the front) cut short, a half-finished download or
    /// copy, still opens and states its full duration; without this its reads would end
    /// early and quietly. Containers whose index sits at the end lose it with the tail and
    /// either fail to open (MP4 without `moov`) or state no index (MKV without cues).
    func readableEnd(_ index: Int) -> Double? {
        if let known = readableEnds[index] { return known }
        var end: Double? = nil
        if let pb = context.pointee.pb, case let size = avio_size(pb), size > 0 {
            let st = stream(index)
            var earliest = Int64.max
            for i in 0..<avformat_index_get_entries_count(st) {
                guard let e = avformat_index_get_entry(st, i) else { continue }
                if e.pointee.pos >= 0 && e.pointee.pos + Int64(e.pointee.size) > size { earliest = min(earliest, e.pointee.timestamp) }
            }
            if earliest != Int64.max { end = max(0, seconds(earliest, stream: index)) }
        }
        readableEnds[index] = .some(end)
        return end
    }

    private var readableEnds: [Int: Double?] = [:]

    /// Seeks so that the next packet read for `streamIndex` is at or before `seconds`
    /// (the keyframe at or before that time) on the file's timeline (see `origin`).
    /// A time at or before the file's start goes to its very first packet.
    func seek(stream streamIndex: Int, to seconds: Double) throws {
        let fileStart = context.pointee.start_time == AV_NOPTS ? 0 : context.pointee.start_time
        if seconds <= 0 {
            let r = avformat_seek_file(context, -1, Int64.min, fileStart, fileStart, 0)
            if r < 0 { throw MediaError.unreadable(path, reason: "seek to the start failed (\(averrorString(r)))") }
            return
        }
        let target = Int64(((seconds + origin) / timeBase(streamIndex)).rounded(.down))
        let result = avformat_seek_file(context, Int32(streamIndex), Int64.min, target, target, 0)
        if result < 0 {
            // Some demuxers only seek backwards from the start; try the plain call.
            let r2 = av_seek_frame(context, Int32(streamIndex), target, AVSEEK_FLAG_BACKWARD)
            if r2 < 0 { throw MediaError.unreadable(path, reason: "seek to \(seconds) s failed (\(averrorString(r2)))") }
        }
    }

    /// The time (seconds, on the file's timeline) of the keyframe at or before `seconds`,
    /// from the demuxer's index; nil when the container has no index.
    func keyframeTime(stream streamIndex: Int, atOrBefore seconds: Double) -> Double? {
        let st = stream(streamIndex)
        let tb = timeBase(streamIndex)
        let i = av_index_search_timestamp(st, Int64(((seconds + origin) / tb).rounded(.down)), AVSEEK_FLAG_BACKWARD)
        guard i >= 0, let entry = avformat_index_get_entry(st, i) else { return nil }
        return self.seconds(entry.pointee.timestamp, stream: streamIndex)
    }

    /// Timestamps (seconds) of the index entries of a stream, in file order.
    func indexTimes(stream streamIndex: Int) -> [Double] {
        let st = stream(streamIndex)
        let n = avformat_index_get_entries_count(st)
        let tb = timeBase(streamIndex)
        var times: [Double] = []
        times.reserveCapacity(Int(n))
        for i in 0..<n {
            if let e = avformat_index_get_entry(st, i) { times.append(Double(e.pointee.timestamp) * tb) }
        }
        return times
    }
}

/// One allocated `AVPacket`, freed with its owner.
final class Packet {
    var pointer: UnsafeMutablePointer<AVPacket>
    init() { pointer = av_packet_alloc() }
    deinit { var p: UnsafeMutablePointer<AVPacket>? = pointer; av_packet_free(&p) }
}

/// One allocated `AVFrame`, freed with its owner.
final class Frame {
    var pointer: UnsafeMutablePointer<AVFrame>
    init() { pointer = av_frame_alloc() }
    deinit { var p: UnsafeMutablePointer<AVFrame>? = pointer; av_frame_free(&p) }
}

/// An opened decoder (`AVCodecContext`) for one stream.
final class Decoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    let codecName: String

    init(container: MediaContainer, stream index: Int, threads: Int) throws {
        let par = container.stream(index).pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaError.unsupportedCodec(container.path, codec: codecName)
        }
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError.unreadable(container.path, reason: "out of memory allocating a decoder")
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = ctx
        if avcodec_parameters_to_context(ctx, par) < 0 {
            avcodec_free_context(&owned)
            throw MediaError.unreadable(container.path, reason: "bad codec parameters for stream \(index)")
        }
        ctx.pointee.pkt_timebase = container.stream(index).pointee.time_base
        ctx.pointee.thread_count = Int32(threads)
        if par.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        }
        let r = avcodec_open2(ctx, codec, nil)
        if r < 0 {
            avcodec_free_context(&owned)
            throw MediaError.unreadable(container.path, reason: "the \(codecName) decoder failed to open (\(averrorString(r)))")
        }
        self.context = ctx
        self.codecName = codecName
    }

    deinit { var c: UnsafeMutablePointer<AVCodecContext>? = context; avcodec_free_context(&c) }

    func flushBuffers() { avcodec_flush_buffers(context) }
}
