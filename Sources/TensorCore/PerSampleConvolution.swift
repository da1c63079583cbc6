import CBLAS
import Foundation

/// A convolution by vol2col + sgemm, sample by sample on every thread: each thread builds one
/// sample's column matrix `cols_s: [K, P]` — a chunk of output depth slices at a time when it
/// is large (`ConvGeometry.depthChunk`, ≤ 2 MB) — in its own scratch, and runs a
/// single-threaded `Y_s = W · cols_s` written in place. A 1x1x1 kernel with stride 1 and no
/// padding multiplies the sample's input directly.
/// `x: [N, C, D, H, W]`, `weight: [O, C, kd, kh, kw]` → `[N, O, D', H', W']`.
///
/// Backward, per sample on the same threads: `dW += dY_s · cols_sᵀ` into the thread's own
/// partial sum (the partial sums are added at the end), then `dcols = Wᵀ · dY_s` in the
/// scratch and col2vol into the sample's input gradient (no two threads share a sample).
///
/// NOTE: the alternatives measured slower (`concord bench conv`): several samples in one wide
/// column matrix and one threaded sgemm moved the product and the output gradient through
/// memory once more to regroup them between the matrix's channel-major layout and the
/// tensor's sample-major one; one sample at a time on all threads left the cores idle while
/// OpenBLAS handed work over, and OpenBLAS's threads, spinning after each product, competed
/// with the vol2col threads. With a batch of one, the walk and sgemm use the threads instead.
func perSampleConv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> Tensor {
    let (n, o, k, p) = (geometry.batch, geometry.outChannels, geometry.patch, geometry.positions)
    let workers = min(Threads.count, n)
    let g = workers > 1 ? geometry.onCallingThread : geometry
    let slicePositions = g.outHeight * g.outWidth
    let chunks = stride(from: 0, to: g.outDepth, by: g.depthChunk()).map { $0..<min($0 + g.depthChunk(), g.outDepth) }
    let chunkWidth = g.isPointwise ? 0 : g.depthChunk() * slicePositions
    var out = [Float](uninitializedCount: n * o * p)  // [N, O, P]
    var scratch = [Float](uninitializedCount: workers * k * chunkWidth)  // one [K, chunk] per thread
    x.data.withUnsafeBufferPointer { xs in
        weight.data.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { y in
                scratch.withUnsafeMutableBufferPointer { sc in
                    let (src, wp, yp) = (SharedPointer(xs.baseAddress!),
                                         SharedPointer(w.baseAddress!), SharedPointer(y.baseAddress!))
                    // NOTE: an empty array's buffer may still have a base address; test the sizes.
                    let cp = chunkWidth > 0 ? sc.baseAddress.map { SharedPointer($0) } : nil
                    Threads.withSerialBLAS(workers) { worker in
                        for s in stride(from: worker, to: n, by: workers) {
                            let (input, ys) = (src + s * g.inputVolume, yp + s * o * p)
                            guard let cp, !g.isPointwise else {
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(o), Int32(p), Int32(k), 1,
                                            wp.base, Int32(k), input, Int32(p), 0, ys, Int32(p))
                                continue
                            }
                            let cols = cp + worker * k * chunkWidth
                            for zs in chunks {
                                let cw = zs.count * slicePositions
                                g.columns(input, into: cols, rowStride: cw, depths: zs)
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(o), Int32(cw), Int32(k), 1,
                                            wp.base, Int32(k), cols, Int32(cw), 0, ys + zs.lowerBound * slicePositions, Int32(p))
                            }
                        }
                    }
                }
            }
        }
    }
    if let bias { addBias(bias, to: &out, batch: n, channels: o, positions: p) }
    let shape = [n, o, g.outDepth, g.outHeight, g.outWidth]
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Autograd.result(shape: shape, data: out, inputs: inputs) { grad in
        var dx = [Float](zeroedCount: x.requiresGrad ? x.count : 0)
        var partialDW = [Float](repeating: 0, count: workers * o * k)
        var scratch = [Float](uninitializedCount: workers * k * chunkWidth)
        // With a profile running: each worker's nanoseconds in the weight and in the data gradient.
        let profiling = Profiler.isRunning
        let partTimes = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * workers)
        partTimes.initialize(repeating: 0, count: 2 * workers)
        defer { partTimes.deallocate() }
        let times = SharedPointer(partTimes)
        x.data.withUnsafeBufferPointer { xs in
            weight.data.withUnsafeBufferPointer { w in
                grad.data.withUnsafeBufferPointer { gy in
                    partialDW.withUnsafeMutableBufferPointer { pdw in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            scratch.withUnsafeMutableBufferPointer { sc in
                                let (src, wp, dy, dwp) = (SharedPointer(xs.baseAddress!),
                                                          SharedPointer(w.baseAddress!),
                                                          SharedPointer(gy.baseAddress!),
                                                          SharedPointer(pdw.baseAddress!))
                                let dxs = x.requiresGrad ? dxp.baseAddress.map { SharedPointer($0) } : nil
                                let cp = chunkWidth > 0 ? sc.baseAddress.map { SharedPointer($0) } : nil
                                Threads.withSerialBLAS(workers) { worker in
                                    let dw = dwp + worker * o * k
                                    for s in stride(from: worker, to: n, by: workers) {
                                        let (input, dys) = (src + s * g.inputVolume, dy + s * o * p)
                                        var t0 = profiling ? Profiler.now : 0
                                        // Ends a part: adds its time to the worker's slot (0 weight, 1 data).
                                        func lap(_ part: Int) {
                                            guard profiling else { return }
                                            let t = Profiler.now
                                            times[2 * worker + part] += t - t0
                                            t0 = t
                                        }
                                        guard let cp, !g.isPointwise else {
                                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(o), Int32(k), Int32(p), 1,
                                                        dys, Int32(p), input, Int32(p), 1, dw, Int32(k))
                                            lap(0)
                                            guard let dxs else { continue }
                                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(p), Int32(o), 1,
                                                        wp.base, Int32(k), dys, Int32(p), 0, dxs + s * g.inputVolume, Int32(p))
                                            lap(1)
                                            continue
                                        }
                                        let cols = cp + worker * k * chunkWidth
                                        for zs in chunks {
                                            let cw = zs.count * slicePositions
                                            let dyc = dys + zs.lowerBound * slicePositions
                                            // dW += dY[:, chunk] · colsᵀ
                                            g.columns(input, into: cols, rowStride: cw, depths: zs)
                                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(o), Int32(k), Int32(cw), 1,
                                                        dyc, Int32(p), cols, Int32(cw), 1, dw, Int32(k))
                                            lap(0)
                                            guard let dxs else { continue }
                                            // dcols = Wᵀ · dY[:, chunk], then col2vol into dX.
                                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(cw), Int32(o), 1,
                                                        wp.base, Int32(k), dyc, Int32(p), 0, cols, Int32(cw))
                                            g.accumulate(cols, into: dxs + s * g.inputVolume, rowStride: cw, depths: zs)
                                            lap(1)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if profiling {
            let (weight, data) = (0..<workers).reduce((0.0, 0.0)) { ($0.0 + Double(partTimes[2 * $1]), $0.1 + Double(partTimes[2 * $1 + 1])) }
            Profiler.splitEnclosing([("backward-weight", weight), ("backward-data", data)])
        }
        let dw = summedPartials(partialDW, parts: workers)
        var grads: [Tensor?] = [x.requiresGrad ? Tensor(shape: x.shape, data: dx) : nil, Tensor(shape: weight.shape, data: dw)]
        if bias != nil { grads.append(biasGradient(grad, batch: n, channels: o, positions: p)) }
        return grads
    }
}

/// The sum of `parts` equal consecutive slices of `partials` (the threads' partial weight
/// gradients): `partials: [parts, M]` → `[M]`.
func summedPartials(_ partials: [Float], parts: Int) -> [Float] {
    let m = partials.count / parts
    var sum = Array(partials[0..<m])
    for part in 1..<max(1, parts) {
        for i in 0..<m { sum[i] += partials[part * m + i] }
    }
    return sum
}
