import CFFmpeg
import Foundation
import TensorCore

/// Copies a media file's video, audio and subtitle streams into a new file without
/// re-encoding, with the audio moved in time: how `concord sync --fix` repairs an offset.
public enum Remuxer {
    /// Writes `output` (container from its extension) with every packet of `input`'s video,
    /// audio and subtitle streams, the audio moved by `audioShift` seconds relative to the rest
    /// (positive: the audio plays later). The file is written under a temporary name and
    /// renamed into place.
    ///
    /// NOTE: a negative shift moves the video and subtitles later instead of the audio
    /// earlier: audio timestamps before 0 cost the codec's priming (and Matroska then shifts
    /// every stream by the straddling packet, measured 21 ms off), so no timestamp is ever
    /// made negative and the audio packets stay exactly as they were.
    public static func copy(from input: String, to output: String, audioShift: Double) throws {
        guard audioShift.isFinite else { throw MediaError.invalidArgument(output, reason: "the audio shift must be finite (got \(audioShift))") }
        // NOTE: AVI counts frames and samples instead of storing times, so it cannot hold one
        // stream starting later than another (measured: the audio's timing was lost).
        if (output as NSString).pathExtension.lowercased() == "avi" {
            throw MediaError.invalidArgument(output, reason: "AVI cannot hold an offset between streams; write .mkv or .mp4")
        }
        let source = try MediaContainer(path: input)
        // AVI and other containers without presentation times: have the demuxer make them.
        source.context.pointee.flags |= AVFMT_FLAG_GENPTS
        guard let format = av_guess_format(nil, output, nil) else {
            throw MediaError.writeFailed(output, reason: "no container format for this file name")
        }
        let temporary = temporaryPath(for: output)
        var made: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&made, format, nil, temporary) >= 0, let oc = made else {
            throw MediaError.writeFailed(output, reason: "cannot create the output context")
        }
        var opened = false
        defer {
            if opened { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
            try? FileManager.default.removeItem(atPath: temporary)
        }
        var map = [Int](repeating: -1, count: source.streamCount)
        for i in 0..<source.streamCount {
            let s = source.stream(i)
            let kind = s.pointee.codecpar.pointee.codec_type
            guard kind == AVMEDIA_TYPE_VIDEO || kind == AVMEDIA_TYPE_AUDIO || kind == AVMEDIA_TYPE_SUBTITLE,
                  let out = avformat_new_stream(oc, nil) else { continue }
            guard avcodec_parameters_copy(out.pointee.codecpar, s.pointee.codecpar) >= 0 else {
                throw MediaError.writeFailed(output, reason: "cannot copy the parameters of stream \(i)")
            }
            out.pointee.codecpar.pointee.codec_tag = 0
            out.pointee.time_base = s.pointee.time_base
            map[i] = Int(out.pointee.index)
        }
        if (format.pointee.flags & AVFMT_NOFILE) == 0 {
            let r = avio_open(&oc.pointee.pb, temporary, AVIO_FLAG_WRITE)
            guard r >= 0 else { throw MediaError.writeFailed(output, reason: averrorString(r)) }
            opened = true
        }
        var r = avformat_write_header(oc, nil)
        guard r >= 0 else { throw MediaError.writeFailed(output, reason: "header: \(averrorString(r)) (can this container hold these codecs?)") }
        let packet = Packet()
        let p = packet.pointer
        while av_read_frame(source.context, p) >= 0 {
            let i = Int(p.pointee.stream_index)
            guard i < map.count, map[i] >= 0 else { av_packet_unref(p); continue }
            let inStream = source.stream(i), outStream = oc.pointee.streams[map[i]]!
            let isAudio = inStream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO
            let seconds = isAudio ? max(audioShift, 0) : max(-audioShift, 0)
            if seconds > 0 {
                let shift = av_rescale_q(Int64((seconds * 1e6).rounded()), AVRational(num: 1, den: 1_000_000), inStream.pointee.time_base)
                if p.pointee.pts != AV_NOPTS { p.pointee.pts += shift }
                if p.pointee.dts != AV_NOPTS { p.pointee.dts += shift }
            }
            av_packet_rescale_ts(p, inStream.pointee.time_base, outStream.pointee.time_base)
            p.pointee.stream_index = Int32(map[i])
            p.pointee.pos = -1
            r = av_interleaved_write_frame(oc, p)  // takes the packet's reference
            guard r >= 0 else { throw MediaError.writeFailed(output, reason: "writing a packet: \(averrorString(r))") }
        }
        r = av_write_trailer(oc)
        guard r >= 0 else { throw MediaError.writeFailed(output, reason: "trailer: \(averrorString(r))") }
        if opened { avio_closep(&oc.pointee.pb); opened = false }
        try replaceItem(at: output, with: temporary)
    }
}
