import CFFmpeg

/// Reads the audio of one file as mono Float32 at a chosen rate (16 kHz by default).
///
/// Stereo and multichannel audio is down-mixed and resampled by libswresample with its
/// default matrix and filter, as the ffmpeg CLI does with `-ac 1 -ar RATE`.
///
/// NOTE: a span is decoded from a pre-roll before its start, and the resampler is always
/// started at an input sample whose time lies on the output grid (a multiple of
/// `inputRate / gcd(inputRate, rate)` samples). So the samples of a span equal the samples
/// at the same times of the whole file resampled in one go, whatever the span's start.
/// Requests in increasing time order continue from the decoder's position instead of seeking.
///
/// NOTE: one timeline for every read: output sample i is the sound at `i / rate` seconds of
/// the file's timeline (presentation time from the file's start, `MediaContainer.origin`).
/// Audio that starts after that (an MP4 made with `-itsoffset`, a camera whose sound starts
/// late) is preceded by silence, in the whole-file read and in a window alike, as
/// `ffmpeg -af aresample=RATE:first_pts=0` does.
public final class AudioReader {
    public let path: String
    public let info: AudioStreamInfo
    public let rate: Int
    /// Where the stream ends on the file's timeline (its start time plus its duration:
    /// audio that starts late ends late too).
    public let endTime: Double
    private let container: MediaContainer
    private let decoder: Decoder
    private let stream: Int
    private let packet = Packet()
    private let frame = Frame()
    private var resampler: AudioResampler? = nil
    /// Resampled output; `buffer[0]` is output sample number `bufferStart` (at `bufferStart / rate` s).
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var endOfStream = false
    private var started = false
    /// Output samples before this index may still carry decoder and filter warm-up after a seek.
    private var validFrom = 0
    private var seekedBeforeStart = false
    /// AVI audio in frames of one size (AC-3, E-AC-3, MP2, MP3, DTS): the first frame after a
    /// seek is put on the frame grid.
    private let aviFixedFrames: Bool
    /// Seeks performed since opening.
    public private(set) var seekCount = 0

    static let preroll = 0.25
    /// Shortfall at the very end of a stream that is padded with silence rather than refused.
    static let endSlack = 0.025

    /// Opens the best audio stream of `path`; samples come out at `rate` Hz.
    public init(path: String, rate: Int = 16000, threads: Int = 1) throws {
        guard (1...768_000).contains(rate) else { throw MediaError.invalidArgument(path, reason: "sample rate must be between 1 and 768000 Hz (got \(rate))") }
        let container = try MediaContainer(path: path)
        guard let index = container.bestStream(AVMEDIA_TYPE_AUDIO) else {
            throw MediaError.noStream(path, kind: "audio")
        }
        let all = try MediaInfo(container: container, scanTimestamps: false)
        guard let info = all.audio.first(where: { $0.index == index }) else { throw MediaError.noStream(path, kind: "audio") }
        self.path = path
        self.info = info
        self.rate = rate
        self.container = container
        self.stream = index
        self.decoder = try Decoder(container: container, stream: index, threads: threads)
        self.endTime = container.streamStart(index) + info.duration
        let codec = container.stream(index).pointee.codecpar.pointee.codec_id
        self.aviFixedFrames = container.formatName == "avi"
            && [AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_MP2, AV_CODEC_ID_MP3, AV_CODEC_ID_DTS].contains(codec)
    }

    /// The whole stream from time 0 (leading silence where the audio starts later) to its end.
    public func readAll() throws -> [Float] {
        try restart(at: 0)
        while !endOfStream { try decodeMore() }
        return [Float](repeating: 0, count: max(0, bufferStart)) + Array(buffer[max(0, -bufferStart)...])
    }

    /// From `start` for `duration` seconds, or to the end of the stream when `duration` is nil.
    public func read(start: Double, upTo duration: Double?) throws -> [Float] {
        guard start.isFinite, start >= 0 else {
            throw MediaError.invalidArgument(path, reason: "need a finite start >= 0 (got \(start))")
        }
        if let duration { return try read(start: start, duration: duration) }
        return start > 0 ? try read(start: start, duration: endTime - start) : try readAll()
    }

    /// `round(duration * rate)` samples starting at `start` seconds.
    public func read(start: Double, duration: Double) throws -> [Float] {
        guard start.isFinite, duration.isFinite, start >= 0, duration > 0 else {
            throw MediaError.invalidArgument(path, reason: "need a finite start >= 0 and duration > 0 (got \(start), \(duration))")
        }
        if start >= endTime || start + duration > endTime + Self.endSlack {
            throw MediaError.spanOutOfRange(path, start: start, duration: duration, streamDuration: endTime)
        }
        let first = Int((start * Double(rate)).rounded())
        let count = Int((duration * Double(rate)).rounded())
        let bufferedEnd = bufferStart + buffer.count
        let reusable = started && resampler != nil && first >= validFrom && first <= bufferedEnd + rate * 2
        if !reusable { try restart(at: start) }
        while bufferStart + buffer.count < first + count && !endOfStream { try decodeMore() }
        // Keep a little history for the next request; drop the rest.
        var out = [Float](repeating: 0, count: count)
        let available = max(0, min(count, bufferStart + buffer.count - first))
        if available < count && Double(count - available) / Double(rate) > Self.endSlack {
            throw MediaError.spanOutOfRange(path, start: start, duration: duration,
                                            streamDuration: Double(bufferStart + buffer.count) / Double(rate))
        }
        // A span before the stream's first sample (audio that starts late) is silence there:
        // after a restart at or before the stream's start, the buffer begins at its first sample.
        let offset = first - bufferStart
        for i in max(0, -offset)..<available { out[i] = buffer[offset + i] }
        let keepFrom = max(0, offset - Int(Self.preroll * Double(rate)))
        if keepFrom > 0 {
            buffer.removeFirst(keepFrom)
            bufferStart += keepFrom
        }
        return out
    }

    /// Seeks to a pre-roll before `time` and resets the decoder and resampler.
    private func restart(at time: Double) throws {
        let target = max(0, time - Self.preroll)
        if started || target > 0 {
            try container.seek(stream: stream, to: target)
            seekCount += 1
        }
        seekedBeforeStart = target > 0
        decoder.flushBuffers()
        resampler = nil
        buffer.removeAll(keepingCapacity: true)
        bufferStart = 0
        endOfStream = false
        started = true
    }

    /// Decodes the next packet's worth of audio into the buffer (or flushes at the end).
    private func decodeMore() throws {
        let r = avcodec_receive_frame(decoder.context, frame.pointer)
        if r >= 0 {
            append(frame.pointer)
            av_frame_unref(frame.pointer)
            return
        }
        if r == AVERROR_EOF_VALUE {
            resampler?.flush(into: &buffer)
            endOfStream = true
            return
        }
        guard r == AVERROR_EAGAIN_VALUE else {
            throw MediaError.unreadable(path, reason: "audio decoding failed (\(averrorString(r)))")
        }
        while true {
            let rr = av_read_frame(container.context, packet.pointer)
            if rr < 0 { avcodec_send_packet(decoder.context, nil); return }
            defer { av_packet_unref(packet.pointer) }
            guard Int(packet.pointer.pointee.stream_index) == stream else { continue }
            // A corrupt packet is skipped (the decoder reports it; AAC frames are independent).
            _ = avcodec_send_packet(decoder.context, packet.pointer)
            return
        }
    }

    private func append(_ framePointer: UnsafeMutablePointer<AVFrame>) {
        let f = framePointer.pointee
        let n = Int(f.nb_samples)
        guard n > 0 else { return }
        let format = AVSampleFormat(rawValue: f.format)
        var skip = 0
        if resampler == nil {
            let inRate = Int(f.sample_rate)
            let ts = f.best_effort_timestamp != AV_NOPTS ? f.best_effort_timestamp : f.pts
            var seconds = ts == AV_NOPTS ? 0 : container.seconds(ts, stream: stream)
            if seekedBeforeStart && aviFixedFrames && f.sample_rate > 0 {
                let frameSeconds = Double(n) / Double(f.sample_rate)
                // NOTE: AVI times audio by byte counts. A seek lands on the byte of the asked
                // time, inside a frame where chunks do not hold whole frames (Megamind.avi's
                // AC-3), and the parser stamps the next whole frame with that byte's time: up
                // to one frame (32 ms) off. The codec's frames all have this frame's length
                // from the stream's start, so the true time is the frame boundary at or before
                // the stamp (2 ms of slack for rounding), as a read from the start counts it.
                let start = container.streamStart(stream)
                seconds = start + ((seconds - start + 0.002) / frameSeconds).rounded(.down) * frameSeconds
            }
            let firstInput = Int((seconds * Double(inRate)).rounded())
            // Start on a sample shared by the input and output grids.
            let g = gcd(inRate, rate)
            let step = inRate / g
            let aligned = Int((Double(firstInput) / Double(step)).rounded(.up)) * step
            skip = aligned - firstInput
            if skip >= n { return }
            guard let made = try? AudioResampler(path: path, inputRate: inRate, layout: framePointer.pointer(to: \.ch_layout)!,
                                                 format: format, outputRate: rate) else { return }
            resampler = made
            bufferStart = (aligned / step) * (rate / g)
            validFrom = bufferStart + (seekedBeforeStart ? Int(Self.preroll * Double(rate) / 2) : 0)
            buffer.removeAll(keepingCapacity: true)
        }
        let planes = UnsafeRawPointer(f.extended_data).map {
            $0.assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
        }
        resampler!.convert(planes: planes, count: n, skip: skip, planar: av_sample_fmt_is_planar(format) != 0,
                           bytesPerSample: Int(av_get_bytes_per_sample(format)), channels: Int(f.ch_layout.nb_channels),
                           into: &buffer)
    }
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (abs(a), abs(b))
    while y != 0 { (x, y) = (y, x % y) }
    return max(x, 1)
}
