import CFFmpeg

/// Converts audio of any layout, format and rate to mono Float32 at a target rate with
/// libswresample (its default filter and down-mix matrix, as the ffmpeg CLI's `-ac 1 -ar R`).
final class AudioResampler {
    private var swr: OpaquePointer? = nil
    let inputRate: Int
    let outputRate: Int
    private let path: String

    /// `layout`: the input channel layout; `format`: the input `AVSampleFormat`.
    init(path: String, inputRate: Int, layout: UnsafePointer<AVChannelLayout>, format: AVSampleFormat, outputRate: Int) throws {
        self.path = path
        self.inputRate = inputRate
        self.outputRate = outputRate
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        var inLayout = AVChannelLayout()
        if layout.pointee.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inLayout, layout.pointee.nb_channels)
        } else {
            av_channel_layout_copy(&inLayout, layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        let r = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, Int32(outputRate),
                                    &inLayout, format, Int32(inputRate), 0, nil)
        guard r >= 0, swr != nil, swr_init(swr) >= 0 else {
            swr_free(&swr)
            throw MediaError.unreadable(path, reason: "cannot resample \(layout.pointee.nb_channels)-channel audio at \(inputRate) Hz to mono \(outputRate) Hz")
        }
    }

    deinit { swr_free(&swr) }

    /// Resamples `count` input samples per channel starting at `data` (plane pointers as in
    /// `AVFrame.extended_data`), optionally skipping the first `skip` of them, appending to `out`.
    func convert(planes: UnsafePointer<UnsafePointer<UInt8>?>?, count: Int, skip: Int, planar: Bool,
                 bytesPerSample: Int, channels: Int, into out: inout [Float]) {
        let capacity = swr_get_out_samples(swr, Int32(count - skip)) + 16
        let start = out.count
        out.reserveCapacity(start + Int(capacity))
        out.append(contentsOf: repeatElement(0, count: Int(capacity)))
        var produced: Int32 = 0
        out.withUnsafeMutableBufferPointer { buf in
            var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress! + start)
                .assumingMemoryBound(to: UInt8.self)
            if let planes, skip > 0 {
                // Offset every plane (or the single interleaved buffer) by `skip` samples.
                let n = planar ? channels : 1
                let step = planar ? bytesPerSample : bytesPerSample * channels
                var shifted = [UnsafePointer<UInt8>?](repeating: nil, count: n)
                for c in 0..<n { shifted[c] = planes[c].map { $0 + skip * step } }
                produced = shifted.withUnsafeBufferPointer { p in
                    swr_convert(swr, &dst, capacity, UnsafeMutablePointer(mutating: p.baseAddress), Int32(count - skip))
                }
            } else {
                produced = swr_convert(swr, &dst, capacity, UnsafeMutablePointer(mutating: planes), Int32(planes == nil ? 0 : count - skip))
            }
        }
        out.removeLast(Int(capacity) - Int(max(produced, 0)))
    }

    /// Drains the samples the filter still holds.
    func flush(into out: inout [Float]) {
        convert(planes: nil, count: 0, skip: 0, planar: false, bytesPerSample: 4, channels: 1, into: &out)
    }
}

/// Resamples mono Float32 samples from one rate to another with libswresample.
public func resample(_ samples: [Float], from inputRate: Int, to outputRate: Int) throws -> [Float] {
    if inputRate == outputRate { return samples }
    var mono = AVChannelLayout()
    av_channel_layout_default(&mono, 1)
    let resampler = try AudioResampler(path: "(samples)", inputRate: inputRate, layout: &mono, format: AV_SAMPLE_FMT_FLT,
                                       outputRate: outputRate)
    var out: [Float] = []
    samples.withUnsafeBufferPointer { buf in
        var plane: UnsafePointer<UInt8>? = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
        withUnsafePointer(to: &plane) { planes in
            resampler.convert(planes: planes, count: samples.count, skip: 0, planar: false, bytesPerSample: 4, channels: 1, into: &out)
        }
    }
    resampler.flush(into: &out)
    return out
}
