import CFFmpeg

/// Decoded RGB frames: `pixels: [count, height, width, 3]` uint8.
public struct VideoFrames: Sendable {
    public var width: Int
    public var height: Int
    /// The times that were asked for (seconds on the file's timeline: from its start).
    public var requestedTimes: [Double]
    /// The presentation time of the frame returned for each request.
    public var frameTimes: [Double]
    public var pixels: [UInt8]

    public var count: Int { requestedTimes.count }

    /// Frame `k` as a picture.
    public func image(_ k: Int) -> RGBImage {
        let n = width * height * 3
        return RGBImage(width: width, height: height, pixels: Array(pixels[(k * n)..<((k + 1) * n)]))
    }
}

/// Reads video frames by timestamp from one file.
///
/// The frame returned for a time `t` is the frame on screen at `t`: the last frame whose
/// presentation time is at or before `t` (the first frame when `t` precedes it). This is
/// by timestamp, not by frame count, so variable-frame-rate files are sampled correctly.
///
/// Seeking is accurate: to the keyframe at or before `t`, then decoding forward. Requests
/// are served in time order in one forward pass, seeking only where a keyframe lies
/// between the decoder's position and the next request (so the seek saves work).
public final class VideoReader {
    public let path: String
    public let info: VideoStreamInfo
    /// Where the stream ends on the file's timeline (its start plus its duration).
    public let endTime: Double
    private let container: MediaContainer
    private let decoder: Decoder
    private let stream: Int
    private let packet = Packet()
    /// The last decoded frame at or before the current request, and the one after it.
    private var previous: (time: Double, frame: Frame)? = nil
    private var next: (time: Double, frame: Frame)? = nil
    private var endOfStream = false
    /// True while the decoder has read from the first packet on (after opening or a seek to 0).
    private var positionedAtStart = true
    /// Decode time of the last video packet read (seconds); -infinity after a seek.
    private var lastReadTime = -Double.infinity
    /// NOTE: index entries of some containers (MP4) hold decode times, which precede the
    /// presentation times by the B-frame delay; the largest delay seen is subtracted from a
    /// request's time before looking up its keyframe, so a seek never lands after the frame.
    private var reorderDelay = 0.0
    /// Frames decoded since opening (for tests and benchmarks).
    public private(set) var decodedFrameCount = 0
    /// Seeks performed since opening.
    public private(set) var seekCount = 0

    /// NOTE: times within this tolerance of a frame's timestamp count as that frame's
    /// time, so `start + k / fps` arithmetic never misses a frame by rounding.
    static let tolerance = 1e-4
    /// Frames one read may ask for (an hour at 25 fps); more is surely a mistyped number.
    public static let maximumFrames = 90_000

    /// Opens the best video stream of `path`. `threads` 0 lets FFmpeg choose (all cores).
    public init(path: String, threads: Int = 0) throws {
        let container = try MediaContainer(path: path)
        guard let index = container.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw MediaError.noStream(path, kind: "video")
        }
        var info = try MediaInfo.videoInfo(container: container, stream: index)
        info.variableFrameRate = MediaInfo.hasVariableSpacing(container: container.indexTimes(stream: index).count >= 3
                                                              ? container : try MediaContainer(path: path), stream: index)
        self.path = path
        self.container = container
        self.stream = index
        self.info = info
        self.decoder = try Decoder(container: container, stream: index, threads: threads)
        self.endTime = container.streamStart(index) + info.duration
    }

    /// The frames on screen at `start + k / fps` for `k` in `0 ..< floor(duration * fps)`.
    public func frames(start: Double, duration: Double, fps: Double,
                       geometry: FrameGeometry = .native) throws -> VideoFrames {
        guard fps.isFinite, duration.isFinite, start.isFinite, fps > 0, duration > 0, start >= 0 else {
            throw MediaError.invalidArgument(path, reason: "need a finite start >= 0, duration > 0 and fps > 0 (got \(start), \(duration), \(fps))")
        }
        let frameCount = (duration * fps + 1e-6).rounded(.down)
        guard frameCount <= Double(Self.maximumFrames) else {
            throw MediaError.invalidArgument(path, reason: "\(duration) s at \(fps) fps is \(frameCount) frames; at most \(Self.maximumFrames) in one read")
        }
        let n = max(1, Int(frameCount))
        return try frames(at: (0..<n).map { start + Double($0) / fps }, geometry: geometry)
    }

    /// The frames on screen at each of `times` (any order; served in time order).
    public func frames(at times: [Double], geometry: FrameGeometry = .native) throws -> VideoFrames {
        let converter = FrameConverter(geometry: geometry)
        guard let size = converter.outputSize(sourceWidth: info.width, sourceHeight: info.height) else {
            throw MediaError.invalidArgument(path, reason: "the crop does not fit in a \(info.width)x\(info.height) frame resized to \(geometry)")
        }
        guard times.count <= Self.maximumFrames else {
            throw MediaError.invalidArgument(path, reason: "\(times.count) frames asked for; at most \(Self.maximumFrames) in one read")
        }
        if let bad = times.first(where: { !$0.isFinite }) {
            throw MediaError.invalidArgument(path, reason: "a frame time must be a finite number of seconds (got \(bad))")
        }
        for t in times where t < 0 || t >= endTime + Self.tolerance {
            throw MediaError.spanOutOfRange(path, start: times.min() ?? t, duration: (times.max() ?? t) - (times.min() ?? t),
                                            streamDuration: endTime)
        }
        let frameBytes = size.width * size.height * 3
        var pixels = [UInt8](repeating: 0, count: frameBytes * times.count)
        var frameTimes = [Double](repeating: 0, count: times.count)
        let order = times.indices.sorted { times[$0] < times[$1] }
        var lastConverted: (time: Double, slot: Int)? = nil
        try pixels.withUnsafeMutableBufferPointer { buffer in
            for k in order {
                let (time, frame) = try frameOnScreen(at: times[k])
                let slot = UnsafeMutableBufferPointer(rebasing: buffer[(k * frameBytes)..<((k + 1) * frameBytes)])
                if let last = lastConverted, last.time == time {
                    slot.baseAddress!.update(from: buffer.baseAddress! + last.slot * frameBytes, count: frameBytes)
                } else {
                    converter.convert(frame.pointer, into: slot)
                }
                lastConverted = (time, k)
                frameTimes[k] = time
            }
        }
        return VideoFrames(width: size.width, height: size.height, requestedTimes: times,
                           frameTimes: frameTimes, pixels: pixels)
    }

    // MARK: - Decoding

    /// The frame on screen at `t`, decoding forward from the current position or seeking first.
    private func frameOnScreen(at t: Double) throws -> (Double, Frame) {
        if needsSeek(to: t) { try seek(to: t) }
        if next == nil && !endOfStream { next = try decodeNextFrame() }
        while let n = next, n.time <= t + Self.tolerance {
            previous = n
            next = try decodeNextFrame()
        }
        if let p = previous { return (p.time, p.frame) }
        if let n = next { return (n.time, n.frame) }
        throw MediaError.unreadable(path, reason: "no decodable video frame at \(t) s")
    }

    private func needsSeek(to t: Double) -> Bool {
        // Already past the frame on screen at t: only a seek goes back.
        if let p = previous, p.time > t + Self.tolerance { return true }
        if previous == nil, let n = next, n.time > t + Self.tolerance { return !positionedAtStart }
        if endOfStream && next == nil { return previous == nil }
        // Ahead of the decoder: seek only when a keyframe that has not been read yet lies
        // at or before t (so the seek skips packets instead of repeating them).
        if let key = container.keyframeTime(stream: stream, atOrBefore: t - reorderDelay), key > lastReadTime + 1e-3 {
            return true
        }
        return false
    }

    private func seek(to t: Double) throws {
        var target = t - reorderDelay
        for _ in 0..<8 {
            try container.seek(stream: stream, to: target)
            lastReadTime = -Double.infinity
            decoder.flushBuffers()
            previous = nil
            next = nil
            endOfStream = false
            positionedAtStart = target <= 0
            seekCount += 1
            next = try decodeNextFrame()
            // With reordered frames a keyframe's time can exceed t; step back and retry.
            if let n = next, n.time > t + Self.tolerance, target > 0 {
                target = max(0, min(target, n.time) - 1.0)
                continue
            }
            return
        }
    }

    /// The next decoded frame in presentation order, or nil at the end of the stream.
    private func decodeNextFrame() throws -> (time: Double, frame: Frame)? {
        let frame = Frame()
        while true {
            let r = avcodec_receive_frame(decoder.context, frame.pointer)
            if r >= 0 {
                let f = frame.pointer.pointee
                let ts = f.best_effort_timestamp != AV_NOPTS ? f.best_effort_timestamp : f.pts
                let time = ts == AV_NOPTS ? (next?.time ?? previous?.time ?? 0) + 1.0 / max(info.frameRate, 1)
                                          : container.seconds(ts, stream: stream)
                if ts != AV_NOPTS && f.pkt_dts != AV_NOPTS {
                    reorderDelay = max(reorderDelay, Double(ts - f.pkt_dts) * container.timeBase(stream))
                }
                decodedFrameCount += 1
                return (time, frame)
            }
            if r == AVERROR_EOF_VALUE {
                endOfStream = true
                return nil
            }
            guard r == AVERROR_EAGAIN_VALUE else {
                throw MediaError.unreadable(path, reason: "video decoding failed (\(averrorString(r)))")
            }
            try feedPacket()
        }
    }

    /// Sends the next packet of the video stream to the decoder (or the flush signal at EOF).
    private func feedPacket() throws {
        while true {
            let r = av_read_frame(container.context, packet.pointer)
            if r < 0 {
                // End of file, or a truncated file: drain what the decoder holds.
                avcodec_send_packet(decoder.context, nil)
                return
            }
            defer { av_packet_unref(packet.pointer) }
            guard Int(packet.pointer.pointee.stream_index) == stream else { continue }
            let p = packet.pointer.pointee
            let dts = p.dts != AV_NOPTS ? p.dts : p.pts
            if dts != AV_NOPTS { lastReadTime = container.seconds(dts, stream: stream) }
            let s = avcodec_send_packet(decoder.context, packet.pointer)
            // A corrupt packet is skipped; the decoder resynchronises at the next keyframe.
            if s >= 0 || s != AVERROR_EAGAIN_VALUE { return }
        }
    }
}

extension MediaInfo {
    static func videoInfo(container: MediaContainer, stream: Int) throws -> VideoStreamInfo {
        let info = try MediaInfo(container: container, scanTimestamps: false)
        guard let v = info.video.first(where: { $0.index == stream }) else {
            throw MediaError.noStream(container.path, kind: "video")
        }
        return v
    }
}
