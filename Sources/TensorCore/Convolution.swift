import CBLAS
import Foundation

/// Geometry of a 3-D convolution (2-D is the case depth = kernel depth = 1).
struct ConvGeometry {
    let batch: Int, channels: Int, depth: Int, height: Int, width: Int
    let outChannels: Int, kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int), dilation: (Int, Int, Int)
    /// Walk on the calling thread only (inside a per-thread loop that already uses every core).
    var serial = false

    var outDepth: Int { (depth + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / stride.0 + 1 }
    var outHeight: Int { (height + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / stride.1 + 1 }
    var outWidth: Int { (width + 2 * padding.2 - dilation.2 * (kernel.2 - 1) - 1) / stride.2 + 1 }
    /// Rows of the column matrix: C · kd · kh · kw.
    var patch: Int { channels * kernel.0 * kernel.1 * kernel.2 }
    /// Columns: output positions per sample.
    var positions: Int { outDepth * outHeight * outWidth }
    var inputVolume: Int { channels * depth * height * width }
    /// A 1x1x1 kernel with stride 1 and no padding: the input is already the column matrix.
    var isPointwise: Bool {
        kernel == (1, 1, 1) && stride == (1, 1, 1) && padding == (0, 0, 0)
    }

    /// The output columns `xo` whose input column `xo·stride − pad + kw·dilation` lies inside
    /// the row: `lo ..< hi` (empty when none does).
    @inline(__always)
    func validColumns(_ kw: Int) -> (lo: Int, hi: Int) {
        let offset = kw * dilation.2 - padding.2  // ix = xo * stride + offset
        let lo = offset >= 0 ? 0 : (-offset + stride.2 - 1) / stride.2
        let hi = width - 1 - offset < 0 ? 0 : Swift.min(outWidth, (width - 1 - offset) / stride.2 + 1)
        return (Swift.min(lo, hi), hi)
    }

    /// The same geometry, walked on the calling thread only.
    var onCallingThread: ConvGeometry {
        var g = self
        g.serial = true
        return g
    }

    /// Runs `body(item)` for `0 ..< items`, spread over the process's threads.
    func parallel(_ items: Int, _ body: @escaping @Sendable (Int) -> Void) {
        if serial {
            for i in 0..<items { body(i) }
            return
        }
        Threads.parallelFor(items, work: patch * positions, body)
    }

    /// A purely temporal kernel (kh = kw = 1, spatial stride 1, no spatial padding): each
    /// column row is whole input planes, copied in one piece.
    var isTemporalOnly: Bool {
        kernel.1 == 1 && kernel.2 == 1 && stride.1 == 1 && stride.2 == 1 && padding.1 == 0 && padding.2 == 0
            && dilation.1 == 1 && dilation.2 == 1
    }

    /// Walks the vol2col mapping for every channel (spread over threads): each stretch of
    /// `length` column entries at offset `column` of the column matrix (rows `rowStride` apart)
    /// reads input entries `input + xo · step` for `xo` in `lo ..< hi`; `input` is nil where the
    /// whole stretch lies in the padding. `columns` and `accumulate` are the two visitors.
    ///
    /// NOTE: a visitor that writes the input (`Scatter`) is split by channel, so no two threads
    /// add into one input plane; a visitor that only reads it (`Gather`) is split by
    /// (channel, kd, kh), which balances the work when there are few channels (the stem's 3).
    /// `depths` limits the walk to those output depth slices (a chunk of the column matrix, its
    /// first slice at column 0).
    func walk<V: ColumnVisitor>(_ visitor: V, rowStride rs: Int, depths: Range<Int>? = nil) {
        let g = self
        let zs = depths ?? 0..<outDepth
        if isTemporalOnly {
            // Whole planes: one stretch per (channel, kd, output depth).
            let plane = height * width
            parallel(channels) { c in
                for kd in 0..<g.kernel.0 {
                    for z in zs {
                        let iz = z * g.stride.0 - g.padding.0 + kd * g.dilation.0
                        let inside = iz >= 0 && iz < g.depth
                        visitor.visit(column: (c * g.kernel.0 + kd) * rs + (z - zs.lowerBound) * plane,
                                      input: inside ? (c * g.depth + iz) * plane : nil,
                                      lo: 0, hi: plane, step: 1, length: plane)
                    }
                }
            }
            return
        }
        let (kd0, kh0) = (kernel.0, kernel.1)
        let fine = !V.writesInput
        parallel(fine ? channels * kd0 * kh0 : channels) { item in
            let (oh, ow) = (g.outHeight, g.outWidth)
            let c = fine ? item / (kd0 * kh0) : item
            let kds = fine ? ((item / kh0) % kd0)..<((item / kh0) % kd0 + 1) : 0..<kd0
            let khs = fine ? (item % kh0)..<(item % kh0 + 1) : 0..<kh0
            for kd in kds { for kh in khs { for kw in 0..<g.kernel.2 {
                let row = ((c * kd0 + kd) * kh0 + kh) * g.kernel.2 + kw
                let (lo, hi) = g.validColumns(kw)
                let offset = kw * g.dilation.2 - g.padding.2
                var column = row * rs
                for z in zs {
                    let iz = z * g.stride.0 - g.padding.0 + kd * g.dilation.0
                    for y in 0..<oh {
                        let iy = y * g.stride.1 - g.padding.1 + kh * g.dilation.1
                        let inside = iz >= 0 && iz < g.depth && iy >= 0 && iy < g.height && lo < hi
                        visitor.visit(column: column, input: inside ? ((c * g.depth + iz) * g.height + iy) * g.width + offset : nil,
                                      lo: lo, hi: hi, step: g.stride.2, length: ow)
                        column += ow
                    }
                }
            } } }
        }
    }

    /// vol2col for one sample: `x: [C, D, H, W]` → `cols: [patch, positions]`.
    /// Rows of `cols` lie `rowStride` floats apart (`positions` unless a chunk).
    /// With `depths`, only those output depth slices: `cols: [patch, depths.count · H' · W']`.
    func columns(_ x: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil,
                 depths: Range<Int>? = nil) {
        walk(Gather(source: x, columns: cols), rowStride: rowStride ?? positions, depths: depths)
    }

    /// col2vol: adds `cols: [patch, positions]` back into `dx: [C, D, H, W]` (the adjoint of `columns`).
    func accumulate(_ cols: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, rowStride: Int? = nil,
                    depths: Range<Int>? = nil) {
        walk(Scatter(columns: cols, target: dx), rowStride: rowStride ?? positions, depths: depths)
    }

    /// Output depth slices per chunk of one sample's column matrix: as many as keep a chunk
    /// within `bytes` (at least one).
    ///
    /// NOTE: vol2col of a whole sample writes `patch · positions` floats (15 MB for the stem),
    /// far more than the caches hold, so the sgemm that reads them back streams them from
    /// memory; chunk by chunk the columns are still in cache when the product reads them.
    func depthChunk(bytes: Int = 2 << 20) -> Int {
        Swift.max(1, Swift.min(outDepth, bytes / Swift.max(1, 4 * patch * outHeight * outWidth)))
    }
}

/// What `ConvGeometry.walk` does with each stretch of the column matrix.
protocol ColumnVisitor: Sendable {
    /// Whether visiting writes the input (then two threads must not share a channel).
    static var writesInput: Bool { get }
    func visit(column: Int, input: Int?, lo: Int, hi: Int, step: Int, length: Int)
}

/// vol2col: copies input entries into the column matrix (zeros in the padding).
struct Gather: ColumnVisitor, @unchecked Sendable {
    static var writesInput: Bool { false }
    let source: UnsafePointer<Float>
    let columns: UnsafeMutablePointer<Float>

    @inline(__always)
    func visit(column: Int, input: Int?, lo: Int, hi: Int, step: Int, length: Int) {
        let dst = columns + column
        guard let input else { fillZeros(dst, count: length); return }
        let src = source + input
        if lo > 0 { fillZeros(dst, count: lo) }
        copyStrided(src + lo * step, step: step, into: dst + lo, count: hi - lo)
        if hi < length { fillZeros(dst + hi, count: length - hi) }
    }
}

/// `dst[i] = src[i · step]` for `i < count`.
///
/// NOTE: the stretches of a late-stage column matrix are short (7–28 entries), so short copies
/// and fills are written as vector moves here: a call into memmove/memset for each would cost
/// more than the copy.
@inline(__always)
func copyStrided(_ src: UnsafePointer<Float>, step: Int, into dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    if step == 1 {
        if count >= 64 {
            dst.update(from: src, count: count)
            return
        }
        while i + 8 <= count {
            UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self),
                                                        as: SIMD8<Float>.self)
            i += 8
        }
    } else if step == 2 {
        // Eight outputs from 16 loaded inputs (the even ones); the last load ends before
        // input 2·(count − 1), so it stays inside what the caller may read.
        while i + 9 <= count {
            let v = UnsafeRawPointer(src + 2 * i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
            i += 8
        }
    }
    while i < count { dst[i] = src[i * step]; i += 1 }
}

/// `count` zeros at `dst` (vector stores for short stretches, see `copyStrided`).
@inline(__always)
func fillZeros(_ dst: UnsafeMutablePointer<Float>, count: Int) {
    if count >= 64 {
        dst.update(repeating: 0, count: count)
        return
    }
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { dst[i] = 0; i += 1 }
}

/// col2vol: adds column entries back onto the input entries they were read from.
struct Scatter: ColumnVisitor, @unchecked Sendable {
    static var writesInput: Bool { true }
    let columns: UnsafePointer<Float>
    let target: UnsafeMutablePointer<Float>

    @inline(__always)
    func visit(column: Int, input: Int?, lo: Int, hi: Int, step: Int, length: Int) {
        guard let input else { return }
        let src = columns + column, dst = target + input
        for xo in lo..<hi { dst[xo * step] += src[xo] }
    }
}

/// 3-D convolution by vol2col + sgemm (1x1x1 kernels as a plain matrix product), groups = 1.
/// `x: [N, C, D, H, W]`, `weight: [O, C, kd, kh, kw]`, `bias: [O]` → `[N, O, D', H', W']`.
public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int, Int) = (1, 1, 1),
                   padding: (Int, Int, Int) = (0, 0, 0), dilation: (Int, Int, Int) = (1, 1, 1)) -> Tensor {
    precondition(x.rank == 5 && weight.rank == 5 && weight.shape[1] == x.shape[1],
                 "conv3d: input \(x.shape) and weight \(weight.shape) (need [N, C, D, H, W] and [O, C, kd, kh, kw])")
    let g = ConvGeometry(batch: x.shape[0], channels: x.shape[1], depth: x.shape[2], height: x.shape[3], width: x.shape[4],
                         outChannels: weight.shape[0], kernel: (weight.shape[2], weight.shape[3], weight.shape[4]),
                         stride: stride, padding: padding, dilation: dilation)
    precondition(g.outDepth > 0 && g.outHeight > 0 && g.outWidth > 0, "conv3d: kernel \(weight.shape) does not fit input \(x.shape)")
    if let bias { precondition(bias.shape == [g.outChannels], "conv3d: bias \(bias.shape) for \(g.outChannels) output channels") }
    if g.isUnpaddedPointwise && !(g.isPointwise && g.positions >= 2048) {
        return pointwiseConv3d(x, weight: weight, bias: bias, geometry: g)
    }
    return perSampleConv3d(x, weight: weight, bias: bias, geometry: g)
}

/// 2-D convolution: `x: [N, C, H, W]`, `weight: [O, C, kh, kw]`, `bias: [O]` → `[N, O, H', W']`
/// (the 3-D convolution with depth 1).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d: input \(x.shape) and weight \(weight.shape) (need [N, C, H, W] and [O, C, kh, kw])")
    let y = conv3d(x.reshaped([x.shape[0], x.shape[1], 1, x.shape[2], x.shape[3]]),
                   weight: weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2], weight.shape[3]]), bias: bias,
                   stride: (1, stride.0, stride.1), padding: (0, padding.0, padding.1), dilation: (1, dilation.0, dilation.1))
    return y.reshaped([y.shape[0], y.shape[1], y.shape[3], y.shape[4]])
}

