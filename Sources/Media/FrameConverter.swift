import CFFmpeg

/// Converts decoded frames to RGB24 (or RGBA with `alpha`) at a `FrameGeometry` with
/// libswscale (bicubic, the ffmpeg CLI's default), honouring the frame's colour matrix and
/// range as the CLI does.
final class FrameConverter {
    private var sws: OpaquePointer? = nil
    private var scratch: [UInt8] = []
    let geometry: FrameGeometry
    /// Bytes per output pixel: 3 (RGB) or 4 (RGBA).
    let channels: Int

    init(geometry: FrameGeometry, alpha: Bool = false) {
        self.geometry = geometry
        channels = alpha ? 4 : 3
    }

    deinit { sws_freeContext(sws) }

    /// Output size for a source of this size; nil when the crop does not fit.
    func outputSize(sourceWidth: Int, sourceHeight: Int) -> (width: Int, height: Int)? {
        let s = geometry.scaledSize(width: sourceWidth, height: sourceHeight)
        guard let r = geometry.cropRect(scaledWidth: s.width, scaledHeight: s.height) else { return nil }
        return (r.width, r.height)
    }

    /// Writes the converted frame into `out` (exactly `width*height*channels` bytes of the output size).
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, into out: UnsafeMutableBufferPointer<UInt8>) {
        let f = frame.pointee
        let srcW = Int(f.width), srcH = Int(f.height)
        let scaled = geometry.scaledSize(width: srcW, height: srcH)
        let rect = geometry.cropRect(scaledWidth: scaled.width, scaledHeight: scaled.height)!
        precondition(out.count == rect.width * rect.height * channels, "FrameConverter: output buffer has the wrong size")

        sws = sws_getCachedContext(sws, Int32(srcW), Int32(srcH), AVPixelFormat(rawValue: f.format),
                                   Int32(scaled.width), Int32(scaled.height), channels == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                                   SWS_BICUBIC, nil, nil, nil)
        // Colour matrix and range from the frame (BT.601 when unspecified), as the CLI's scale filter.
        let space = f.colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : Int32(f.colorspace.rawValue)
        let fullRange: Int32 = (f.color_range == AVCOL_RANGE_JPEG || isFullRangeFormat(f.format)) ? 1 : 0
        sws_setColorspaceDetails(sws, sws_getCoefficients(space), fullRange,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)

        // NOTE: swscale's SIMD writers may store a few bytes past a row's end, so it writes into
        // a padded scratch buffer (64-byte aligned rows, two spare rows) and the rows we keep
        // are copied out.
        let stride = (scaled.width * channels + 63) & ~63
        let needed = stride * (scaled.height + 2)
        if scratch.count < needed { scratch = [UInt8](repeating: 0, count: needed) }
        withUnsafeFramePointers(frame) { srcData, srcStride in
            scratch.withUnsafeMutableBufferPointer { tmp in
                var dst: [UnsafeMutablePointer<UInt8>?] = [tmp.baseAddress, nil, nil, nil]
                var dstStride: [Int32] = [Int32(stride), 0, 0, 0]
                sws_scale(sws, srcData, srcStride, 0, Int32(srcH), &dst, &dstStride)
                let rowBytes = rect.width * channels
                for row in 0..<rect.height {
                    let src = tmp.baseAddress! + (rect.y + row) * stride + rect.x * channels
                    (out.baseAddress! + row * rowBytes).update(from: src, count: rowBytes)
                }
            }
        }
    }

    private func isFullRangeFormat(_ format: Int32) -> Bool {
        let f = AVPixelFormat(rawValue: format)
        return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P
    }
}

/// Calls `body` with the frame's plane pointers and strides as swscale wants them.
func withUnsafeFramePointers<R>(_ frame: UnsafeMutablePointer<AVFrame>,
                                _ body: (UnsafePointer<UnsafePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
    let f = frame.pointee
    let planes: [UnsafePointer<UInt8>?] = [
        UnsafePointer(f.data.0), UnsafePointer(f.data.1), UnsafePointer(f.data.2), UnsafePointer(f.data.3),
    ]
    let strides: [Int32] = [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3]
    return planes.withUnsafeBufferPointer { p in
        strides.withUnsafeBufferPointer { s in body(p.baseAddress!, s.baseAddress!) }
    }
}
