import CBLAS
import Foundation

/// A convolution with few output positions per sample (the late stages: P < 2048), sample by
/// sample on every thread: each thread builds one sample's column matrix `cols_s: [K, P]` in
/// its own scratch (in cache) and runs a single-threaded `Y_s = W · cols_s` written in place.
/// `x: [N, C, D, H, W]`, `weight: [O, C, kd, kh, kw]` → `[N, O, D', H', W']`.
///
/// Backward, per sample on the same threads: `dW += dY_s · cols_sᵀ` into the thread's own
/// partial sum (the partial sums are added at the end), then `dcols = Wᵀ · dY_s` in the
/// scratch and col2vol into the sample's input gradient (no two threads share a sample).
///
/// NOTE: the alternative — several samples in one wide column matrix and one threaded sgemm —
/// moved the product and the output gradient through memory once more to regroup them
/// between the matrix's channel-major layout and the tensor's sample-major one, and left the
/// cores idle while one thread built the columns or OpenBLAS handed work over.
func perSampleConv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> Tensor {
    let g = geometry.onCallingThread
    let (n, o, k, p) = (g.batch, g.outChannels, g.patch, g.positions)
    let workers = min(Threads.count, n)
    var out = [Float](uninitializedCount: n * o * p)  // [N, O, P]
    var scratch = [Float](uninitializedCount: workers * k * p)  // one [K, P] per thread
    x.data.withUnsafeBufferPointer { xs in
        weight.data.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { y in
                scratch.withUnsafeMutableBufferPointer { sc in
                    let (src, wp, yp, cp) = (SharedPointer(UnsafeMutablePointer(mutating: xs.baseAddress!)),
                                             SharedPointer(UnsafeMutablePointer(mutating: w.baseAddress!)),
                                             SharedPointer(y.baseAddress!), SharedPointer(sc.baseAddress!))
                    Threads.withSerialBLAS(workers) { worker in
                        let cols = cp + worker * k * p
                        for s in stride(from: worker, to: n, by: workers) {
                            g.columns(src + s * g.inputVolume, into: cols)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(o), Int32(p), Int32(k), 1,
                                        wp.base, Int32(k), cols, Int32(p), 0, yp + s * o * p, Int32(p))
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
        var scratch = [Float](uninitializedCount: workers * k * p)
        x.data.withUnsafeBufferPointer { xs in
            weight.data.withUnsafeBufferPointer { w in
                grad.data.withUnsafeBufferPointer { gy in
                    partialDW.withUnsafeMutableBufferPointer { pdw in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            scratch.withUnsafeMutableBufferPointer { sc in
                                let (src, wp, dy, dwp, cp) = (SharedPointer(UnsafeMutablePointer(mutating: xs.baseAddress!)),
                                                              SharedPointer(UnsafeMutablePointer(mutating: w.baseAddress!)),
                                                              SharedPointer(UnsafeMutablePointer(mutating: gy.baseAddress!)),
                                                              SharedPointer(pdw.baseAddress!), SharedPointer(sc.baseAddress!))
                                let dxs = dxp.baseAddress.map { SharedPointer($0) }
                                Threads.withSerialBLAS(workers) { worker in
                                    let cols = cp + worker * k * p
                                    for s in stride(from: worker, to: n, by: workers) {
                                        let dys = dy + s * o * p
                                        g.columns(src + s * g.inputVolume, into: cols)
                                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(o), Int32(k), Int32(p), 1,
                                                    dys, Int32(p), cols, Int32(p), 1, dwp + worker * o * k, Int32(k))
                                        guard let dxs else { continue }
                                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(p), Int32(o), 1,
                                                    wp.base, Int32(k), dys, Int32(p), 0, cols, Int32(p))
                                        g.accumulate(cols, into: dxs + s * g.inputVolume)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dw = [Float](repeating: 0, count: o * k)
        for worker in 0..<workers {
            for i in 0..<(o * k) { dw[i] += partialDW[worker * o * k + i] }
        }
        var grads: [Tensor?] = [x.requiresGrad ? Tensor(shape: x.shape, data: dx) : nil, Tensor(shape: weight.shape, data: dw)]
        if bias != nil { grads.append(biasGradient(grad, batch: n, channels: o, positions: p)) }
        return grads
    }
}
