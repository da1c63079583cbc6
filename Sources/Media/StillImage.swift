import CFFmpeg

/// An 8-bit RGBA picture, rows top to bottom: `pixels[(y * width + x) * 4 + c]`, c = R, G, B, A.
public struct RGBAImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 4, "RGBAImage: \(pixels.count) bytes for \(width)x\(height)")
        (self.width, self.height, self.pixels) = (width, height, pixels)
    }

    /// Alpha of pixel (x, y) in [0, 1].
    public func alpha(_ x: Int, _ y: Int) -> Float { Float(pixels[(y * width + x) * 4 + 3]) / 255 }
}

/// Still pictures (PNG, JPEG, … anything FFmpeg decodes as one frame), read with their alpha.
public enum StillImage {
    /// The first picture of `path` as RGBA (opaque where the file has no alpha), at its own size
    /// or resized and cropped by `geometry` (bicubic, as `VideoReader`). Throws naming the file
    /// when it cannot be opened or holds no picture.
    public static func read(path: String, geometry: FrameGeometry = .native) throws -> RGBAImage {
        let container = try MediaContainer(path: path)
        guard let index = container.bestStream(AVMEDIA_TYPE_VIDEO) else { throw MediaError.noStream(path, kind: "picture") }
        let decoder = try Decoder(container: container, stream: index, threads: 1)
        let packet = Packet(), frame = Frame()
        var flushed = false
        while true {
            let r = avcodec_receive_frame(decoder.context, frame.pointer)
            if r >= 0 { break }
            guard r == AVERROR_EAGAIN_VALUE, !flushed else {
                throw MediaError.unreadable(path, reason: r == AVERROR_EOF_VALUE ? "no picture in the file" : "decoding failed (\(averrorString(r)))")
            }
            if av_read_frame(container.context, packet.pointer) < 0 {
                avcodec_send_packet(decoder.context, nil)
                flushed = true
                continue
            }
            defer { av_packet_unref(packet.pointer) }
            if Int(packet.pointer.pointee.stream_index) == index { _ = avcodec_send_packet(decoder.context, packet.pointer) }
        }
        let (w, h) = (Int(frame.pointer.pointee.width), Int(frame.pointer.pointee.height))
        guard w > 0, h > 0, w <= 16384, h <= 16384 else { throw MediaError.unreadable(path, reason: "a \(w)x\(h) picture") }
        let converter = FrameConverter(geometry: geometry, alpha: true)
        guard let size = converter.outputSize(sourceWidth: w, sourceHeight: h) else {
            throw MediaError.invalidArgument(path, reason: "the crop does not fit in a \(w)x\(h) picture resized to \(geometry)")
        }
        var pixels = [UInt8](repeating: 0, count: size.width * size.height * 4)
        pixels.withUnsafeMutableBufferPointer { converter.convert(frame.pointer, into: $0) }
        return RGBAImage(width: size.width, height: size.height, pixels: pixels)
    }
}
