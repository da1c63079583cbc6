import CFFmpeg
import Foundation
import TensorCore

/// PNG pictures through libavcodec's PNG encoder.
public enum PNGWriter {
    /// Encodes `image` as an RGB PNG file (written to a temporary name, then renamed).
    public static func write(_ image: RGBImage, to path: String) throws {
        _ = ffmpegLogging
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MediaError.writeFailed(path, reason: "this FFmpeg build has no PNG encoder")
        }
        var ctx = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctx) }
        guard let c = ctx else { throw MediaError.writeFailed(path, reason: "out of memory") }
        c.pointee.width = Int32(image.width)
        c.pointee.height = Int32(image.height)
        c.pointee.pix_fmt = AV_PIX_FMT_RGB24
        c.pointee.time_base = AVRational(num: 1, den: 1)
        let r = avcodec_open2(c, codec, nil)
        guard r >= 0 else { throw MediaError.writeFailed(path, reason: "the PNG encoder failed to open (\(averrorString(r)))") }
        let frame = Frame()
        let f = frame.pointer
        f.pointee.format = AV_PIX_FMT_RGB24.rawValue
        f.pointee.width = Int32(image.width)
        f.pointee.height = Int32(image.height)
        guard av_frame_get_buffer(f, 0) >= 0 else { throw MediaError.writeFailed(path, reason: "out of memory") }
        let stride = Int(f.pointee.linesize.0)
        image.pixels.withUnsafeBufferPointer { src in
            for row in 0..<image.height {
                (f.pointee.data.0! + row * stride).update(from: src.baseAddress! + row * image.width * 3, count: image.width * 3)
            }
        }
        f.pointee.pts = 0
        let packet = Packet()
        guard avcodec_send_frame(c, f) >= 0, avcodec_receive_packet(c, packet.pointer) >= 0 else {
            throw MediaError.writeFailed(path, reason: "PNG encoding failed")
        }
        let data = Data(bytes: packet.pointer.pointee.data, count: Int(packet.pointer.pointee.size))
        let temporary = temporaryPath(for: path)
        do { try data.write(to: URL(fileURLWithPath: temporary)) } catch {
            throw MediaError.writeFailed(path, reason: error.localizedDescription)
        }
        try replaceItem(at: path, with: temporary)
    }
}
