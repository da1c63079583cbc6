import CFFmpeg
import Foundation
import TensorCore

/// The video track of a file being written.
public struct VideoTrackSettings: Sendable {
    public var width: Int
    public var height: Int
    /// The nominal frame rate (a hint to the encoder's rate control); frame times are free.
    public var frameRate: Double
    /// An FFmpeg encoder name: `libx264` (default), `mpeg4`, `libvpx-vp9`, …
    public var encoder: String
    /// Encoder options (for libx264: `preset`, `crf`, `tune`, …).
    public var options: [String: String]
    /// Maximum keyframe interval in frames; nil keeps the encoder's default.
    public var keyframeInterval: Int?

    public init(width: Int, height: Int, frameRate: Double = 25, encoder: String = "libx264",
                options: [String: String] = ["preset": "veryfast", "crf": "23"], keyframeInterval: Int? = nil) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.encoder = encoder
        self.options = options
        self.keyframeInterval = keyframeInterval
    }
}

/// The audio track of a file being written.
public struct AudioTrackSettings: Sendable {
    public var sampleRate: Int
    public var channels: Int
    public var bitRate: Int
    public var encoder: String

    public init(sampleRate: Int, channels: Int, bitRate: Int = 128_000, encoder: String = "aac") {
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitRate = bitRate
        self.encoder = encoder
    }
}

/// Writes a media file (MP4 by default: H.264 through libx264, AAC, and an optional
/// mov_text subtitle stream) through libavformat and libavcodec.
///
/// Call `addVideoFrame`, `addAudio` and `addSubtitle` roughly in time order, then `finish()`.
/// The file is written under a temporary name and renamed into place by `finish()`.
public final class MediaWriter {
    public let path: String
    private let temporaryPath: String
    private var output: UnsafeMutablePointer<AVFormatContext>
    private var video: (codec: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>, settings: VideoTrackSettings)? = nil
    private var audio: (codec: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>, settings: AudioTrackSettings)? = nil
    private var subtitle: (codec: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>)? = nil
    private var sws: OpaquePointer? = nil
    private let videoFrame = Frame()
    private let audioFrame = Frame()
    private let packet = Packet()
    private var pendingAudio: [Float] = []
    private var paddedRGB: [UInt8] = []
    private var audioSamplesWritten: Int64 = 0
    private var lastVideoPTS: Int64 = -1
    private var finished = false
    private var released = false
    /// Video frame times are kept at this resolution: exact for 24, 25, 30 and 30000/1001 fps,
    /// and within MPEG-4 part 2's limit of 65535 for the denominator.
    static let videoTimeBase = AVRational(num: 1, den: 30_000)

    /// Whether this CPU has AVX-512 (from /proc/cpuinfo; false where that file is absent).
    static let cpuHasAVX512: Bool = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").first { $0.hasPrefix("flags") }?.contains("avx512f") ?? false
    }()

    public init(path: String, video videoSettings: VideoTrackSettings?, audio audioSettings: AudioTrackSettings?,
                subtitles: Bool = false) throws {
        self.path = path
        self.temporaryPath = TensorCore.temporaryPath(for: path)
        _ = ffmpegLogging
        guard let format = av_guess_format(nil, path, nil) else {
            throw MediaError.writeFailed(path, reason: "no container format for this file name")
        }
        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&oc, format, nil, temporaryPath) >= 0, let made = oc else {
            throw MediaError.writeFailed(path, reason: "cannot create the output context")
        }
        self.output = made
        do {
            if let v = videoSettings { try openVideo(v) }
            if let a = audioSettings { try openAudio(a) }
            if subtitles { try openSubtitles() }
            if (format.pointee.flags & AVFMT_NOFILE) == 0 {
                let r = avio_open(&output.pointee.pb, temporaryPath, AVIO_FLAG_WRITE)
                guard r >= 0 else { throw MediaError.writeFailed(path, reason: averrorString(r)) }
            }
            let r = avformat_write_header(output, nil)
            guard r >= 0 else { throw MediaError.writeFailed(path, reason: "header: \(averrorString(r))") }
        } catch {
            // deinit releases the contexts and removes the partial file.
            throw error
        }
    }

    deinit {
        if !finished {
            release()
            try? FileManager.default.removeItem(atPath: temporaryPath)
        }
    }

    private func release() {
        guard !released else { return }
        released = true
        freeCodec(video?.codec)
        freeCodec(audio?.codec)
        freeCodec(subtitle?.codec)
        video = nil
        audio = nil
        subtitle = nil
        if output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
        avformat_free_context(output)
        sws_freeContext(sws)
        sws = nil
    }

    private func freeCodec(_ codec: UnsafeMutablePointer<AVCodecContext>?) {
        var c = codec
        if c != nil { avcodec_free_context(&c) }
    }

    private func makeEncoder(_ name: String) throws -> UnsafeMutablePointer<AVCodecContext> {
        guard let codec = avcodec_find_encoder_by_name(name) else {
            throw MediaError.writeFailed(path, reason: "this FFmpeg build has no encoder '\(name)'")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError.writeFailed(path, reason: "out of memory") }
        if (output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        return ctx
    }

    private func open(_ ctx: UnsafeMutablePointer<AVCodecContext>, options: [String: String], name: String) throws -> UnsafeMutablePointer<AVStream> {
        var dict: OpaquePointer? = nil
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        let r = avcodec_open2(ctx, ctx.pointee.codec, &dict)
        av_dict_free(&dict)
        guard r >= 0 else {
            var c: UnsafeMutablePointer<AVCodecContext>? = ctx
            avcodec_free_context(&c)
            throw MediaError.writeFailed(path, reason: "the \(name) encoder failed to open (\(averrorString(r)))")
        }
        guard let st = avformat_new_stream(output, nil) else { throw MediaError.writeFailed(path, reason: "cannot add a stream") }
        avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        st.pointee.time_base = ctx.pointee.time_base
        return st
    }

    private func openVideo(_ s: VideoTrackSettings) throws {
        guard s.width > 0, s.height > 0, s.width % 2 == 0, s.height % 2 == 0 else {
            throw MediaError.writeFailed(path, reason: "video size must be positive and even (got \(s.width)x\(s.height))")
        }
        let ctx = try makeEncoder(s.encoder)
        ctx.pointee.width = Int32(s.width)
        ctx.pointee.height = Int32(s.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = Self.videoTimeBase
        ctx.pointee.framerate = av_d2q(s.frameRate, 30_000)
        if let g = s.keyframeInterval { ctx.pointee.gop_size = Int32(g) }
        if s.encoder != "libx264" && ctx.pointee.bit_rate <= 0 { ctx.pointee.bit_rate = 1_000_000 }
        var options = s.options
        if s.encoder == "libx264" && Self.cpuHasAVX512 {
            // NOTE: libx264's AVX-512 kernels made the bitstream differ between runs on identical
            // input (seen here: the first frame's QP varied when other processes loaded the
            // machine; never with the AVX2 kernels). Capping libx264 at AVX2 keeps "same seed,
            // same corpus" and costs little at these sizes. Only on CPUs with AVX-512, which
            // also have every extension named here.
            let cap = "asm=AVX2,FMA3,BMI2,LZCNT"
            options["x264-params"] = options["x264-params"].map { $0 + ":" + cap } ?? cap
        }
        let st = try open(ctx, options: options, name: s.encoder)
        st.pointee.avg_frame_rate = ctx.pointee.framerate
        video = (ctx, st, s)
        let f = videoFrame.pointer
        f.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        f.pointee.width = Int32(s.width)
        f.pointee.height = Int32(s.height)
        guard av_frame_get_buffer(f, 0) >= 0 else { throw MediaError.writeFailed(path, reason: "out of memory") }
        // NOTE: the planes' padding is zeroed, so that nothing an encoder's SIMD copy reads past
        // a row's width depends on what the heap held before.
        clearBuffers(f)
    }

    private func clearBuffers(_ f: UnsafeMutablePointer<AVFrame>) {
        let bufs = [f.pointee.buf.0, f.pointee.buf.1, f.pointee.buf.2, f.pointee.buf.3]
        for case let b? in bufs { memset(b.pointee.data, 0, Int(b.pointee.size)) }
    }

    private func openAudio(_ s: AudioTrackSettings) throws {
        guard s.sampleRate > 0, (1...8).contains(s.channels) else {
            throw MediaError.writeFailed(path, reason: "bad audio settings (\(s.sampleRate) Hz, \(s.channels) channels)")
        }
        let ctx = try makeEncoder(s.encoder)
        ctx.pointee.sample_rate = Int32(s.sampleRate)
        ctx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        av_channel_layout_default(&ctx.pointee.ch_layout, Int32(s.channels))
        ctx.pointee.bit_rate = Int64(s.bitRate)
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(s.sampleRate))
        let st = try open(ctx, options: [:], name: s.encoder)
        audio = (ctx, st, s)
    }

    private func openSubtitles() throws {
        let ctx = try makeEncoder("mov_text")
        ctx.pointee.time_base = AVRational(num: 1, den: 1000)
        let header = """
        [Script Info]
        ScriptType: v4.00+
        PlayResX: 384
        PlayResY: 288

        [V4+ Styles]
        Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
        Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

        [Events]
        Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text

        """
        let copy = av_strdup(header)!
        ctx.pointee.subtitle_header = UnsafeMutableRawPointer(copy).assumingMemoryBound(to: UInt8.self)
        ctx.pointee.subtitle_header_size = Int32(header.utf8.count)
        let st = try open(ctx, options: [:], name: "mov_text")
        subtitle = (ctx, st)
    }

    // MARK: - Adding content

    /// Encodes one picture shown from `time` seconds (times must increase).
    public func addVideoFrame(_ image: RGBImage, time: Double) throws {
        guard let v = video else { throw MediaError.writeFailed(path, reason: "the file has no video track") }
        precondition(image.width == v.settings.width && image.height == v.settings.height,
                     "MediaWriter: frame is \(image.width)x\(image.height), track is \(v.settings.width)x\(v.settings.height)")
        let pts = Int64((time * Double(Self.videoTimeBase.den)).rounded())
        guard pts > lastVideoPTS else {
            throw MediaError.writeFailed(path, reason: "video frame times must increase (\(time) s after \(Double(lastVideoPTS) / Double(Self.videoTimeBase.den)) s)")
        }
        lastVideoPTS = pts
        let f = videoFrame.pointer
        if av_frame_is_writable(f) == 0 {
            // The encoder still holds the previous picture: take a fresh, zeroed buffer
            // (`av_frame_make_writable` would copy only the visible pixels, not the padding).
            av_frame_unref(f)
            f.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            f.pointee.width = Int32(image.width)
            f.pointee.height = Int32(image.height)
            guard av_frame_get_buffer(f, 0) >= 0 else { throw MediaError.writeFailed(path, reason: "out of memory") }
            clearBuffers(f)
        }
        sws = sws_getCachedContext(sws, Int32(image.width), Int32(image.height), AV_PIX_FMT_RGB24,
                                   Int32(image.width), Int32(image.height), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
        // NOTE: swscale's SIMD input readers may read past the end of a row; the picture is
        // copied into a padded buffer first so they never read memory that is not ours.
        let stride = (image.width * 3 + 63) & ~63
        if paddedRGB.count < stride * (image.height + 2) { paddedRGB = [UInt8](repeating: 0, count: stride * (image.height + 2)) }
        paddedRGB.withUnsafeMutableBufferPointer { buffer in
            image.pixels.withUnsafeBufferPointer { src in
                for row in 0..<image.height {
                    (buffer.baseAddress! + row * stride).update(from: src.baseAddress! + row * image.width * 3, count: image.width * 3)
                }
            }
            var planes: [UnsafePointer<UInt8>?] = [UnsafePointer(buffer.baseAddress), nil, nil, nil]
            var strides: [Int32] = [Int32(stride), 0, 0, 0]
            var dst: [UnsafeMutablePointer<UInt8>?] = [f.pointee.data.0, f.pointee.data.1, f.pointee.data.2, nil]
            var dstStrides: [Int32] = [f.pointee.linesize.0, f.pointee.linesize.1, f.pointee.linesize.2, 0]
            sws_scale(sws, &planes, &strides, 0, Int32(image.height), &dst, &dstStrides)
        }
        f.pointee.pts = pts
        try encode(v.codec, stream: v.stream, frame: f)
    }

    /// Appends interleaved samples (`[frames, channels]`) to the audio track.
    public func addAudio(_ interleaved: [Float]) throws {
        guard let a = audio else { throw MediaError.writeFailed(path, reason: "the file has no audio track") }
        precondition(interleaved.count % a.settings.channels == 0, "MediaWriter: sample count is not a multiple of the channel count")
        pendingAudio.append(contentsOf: interleaved)
        let frameSize = Int(a.codec.pointee.frame_size > 0 ? a.codec.pointee.frame_size : 1024)
        while pendingAudio.count >= frameSize * a.settings.channels {
            try encodeAudioFrame(samples: frameSize)
        }
    }

    /// Adds a subtitle cue.
    public func addSubtitle(_ segment: SubtitleSegment) throws {
        guard let s = subtitle else { throw MediaError.writeFailed(path, reason: "the file has no subtitle track") }
        var sub = AVSubtitle()
        sub.format = 1
        sub.start_display_time = 0
        sub.end_display_time = UInt32(max(0, (segment.end - segment.start) * 1000))
        sub.num_rects = 1
        let rects = av_mallocz(MemoryLayout<UnsafeMutablePointer<AVSubtitleRect>?>.stride)!
            .assumingMemoryBound(to: UnsafeMutablePointer<AVSubtitleRect>?.self)
        let rect = av_mallocz(MemoryLayout<AVSubtitleRect>.stride)!.assumingMemoryBound(to: AVSubtitleRect.self)
        rect.pointee.type = SUBTITLE_ASS
        let line = segment.text.replacingOccurrences(of: "\n", with: "\\N")
        rect.pointee.ass = av_strdup("0,0,Default,,0,0,0,,\(line)")
        rects[0] = rect
        sub.rects = rects
        defer { avsubtitle_free(&sub) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let size = buffer.withUnsafeMutableBufferPointer { avcodec_encode_subtitle(s.codec, $0.baseAddress, Int32($0.count), &sub) }
        guard size > 0 else { throw MediaError.writeFailed(path, reason: "subtitle encoding failed (\(averrorString(size)))") }
        let p = packet.pointer
        guard av_new_packet(p, size) >= 0 else { throw MediaError.writeFailed(path, reason: "out of memory") }
        buffer.withUnsafeBufferPointer { p.pointee.data.update(from: $0.baseAddress!, count: Int(size)) }
        p.pointee.pts = Int64((segment.start * 1000).rounded())
        p.pointee.dts = p.pointee.pts
        p.pointee.duration = Int64(((segment.end - segment.start) * 1000).rounded())
        p.pointee.flags |= AV_PKT_FLAG_KEY
        try write(p, from: s.codec, to: s.stream)
    }

    /// Flushes the encoders, writes the trailer and moves the file into place.
    public func finish() throws {
        guard !finished else { return }
        if let a = audio {
            if !pendingAudio.isEmpty { try encodeAudioFrame(samples: pendingAudio.count / a.settings.channels) }
            try encode(a.codec, stream: a.stream, frame: nil)
        }
        if let v = video { try encode(v.codec, stream: v.stream, frame: nil) }
        let r = av_write_trailer(output)
        release()
        finished = true
        guard r >= 0 else {
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw MediaError.writeFailed(path, reason: "trailer: \(averrorString(r))")
        }
        try replaceItem(at: path, with: temporaryPath)
    }

    private func encodeAudioFrame(samples n: Int) throws {
        let a = audio!
        let channels = a.settings.channels
        let f = audioFrame.pointer
        av_frame_unref(f)
        f.pointee.nb_samples = Int32(n)
        f.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        f.pointee.sample_rate = Int32(a.settings.sampleRate)
        av_channel_layout_copy(&f.pointee.ch_layout, &a.codec.pointee.ch_layout)
        guard av_frame_get_buffer(f, 0) >= 0 else { throw MediaError.writeFailed(path, reason: "out of memory") }
        for c in 0..<channels {
            let plane = UnsafeMutableRawPointer(f.pointee.extended_data[c]!).assumingMemoryBound(to: Float.self)
            for i in 0..<n { plane[i] = pendingAudio[i * channels + c] }
        }
        pendingAudio.removeFirst(n * channels)
        f.pointee.pts = audioSamplesWritten
        audioSamplesWritten += Int64(n)
        try encode(a.codec, stream: a.stream, frame: f)
    }

    private func encode(_ codec: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>,
                        frame: UnsafeMutablePointer<AVFrame>?) throws {
        let r = avcodec_send_frame(codec, frame)
        guard r >= 0 else { throw MediaError.writeFailed(path, reason: "encoding failed (\(averrorString(r)))") }
        while true {
            let rr = avcodec_receive_packet(codec, packet.pointer)
            if rr == AVERROR_EAGAIN_VALUE || rr == AVERROR_EOF_VALUE { return }
            guard rr >= 0 else { throw MediaError.writeFailed(path, reason: "encoding failed (\(averrorString(rr)))") }
            try write(packet.pointer, from: codec, to: stream)
        }
    }

    private func write(_ p: UnsafeMutablePointer<AVPacket>, from codec: UnsafeMutablePointer<AVCodecContext>,
                       to stream: UnsafeMutablePointer<AVStream>) throws {
        av_packet_rescale_ts(p, codec.pointee.time_base, stream.pointee.time_base)
        p.pointee.stream_index = stream.pointee.index
        let r = av_interleaved_write_frame(output, p)
        guard r >= 0 else { throw MediaError.writeFailed(path, reason: "muxing failed (\(averrorString(r)))") }
    }
}

