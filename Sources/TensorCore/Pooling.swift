// Max and average pooling over 3-D windows (2-D as depth 1), and global average pooling.

/// Window geometry over `[N, C, D, H, W]`.
struct PoolGeometry {
    let planes: Int, depth: Int, height: Int, width: Int
    let kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int)
    var od: Int { (depth + 2 * padding.0 - kernel.0) / stride.0 + 1 }
    var oh: Int { (height + 2 * padding.1 - kernel.1) / stride.1 + 1 }
    var ow: Int { (width + 2 * padding.2 - kernel.2) / stride.2 + 1 }

    /// Calls `body(outputIndex, inputIndices)` with the in-bounds input indices of each window.
    func forEachWindow(_ body: (Int, [Int]) -> Void) {
        var o = 0
        var indices: [Int] = []
        indices.reserveCapacity(kernel.0 * kernel.1 * kernel.2)
        for plane in 0..<planes {
            for z in 0..<od { for y in 0..<oh { for x in 0..<ow {
                indices.removeAll(keepingCapacity: true)
                for kd in 0..<kernel.0 {
                    let iz = z * stride.0 - padding.0 + kd
                    guard iz >= 0 && iz < depth else { continue }
                    for kh in 0..<kernel.1 {
                        let iy = y * stride.1 - padding.1 + kh
                        guard iy >= 0 && iy < height else { continue }
                        for kw in 0..<kernel.2 {
                            let ix = x * stride.2 - padding.2 + kw
                            guard ix >= 0 && ix < width else { continue }
                            indices.append(((plane * depth + iz) * height + iy) * width + ix)
                        }
                    }
                }
                body(o, indices)
                o += 1
            } } }
        }
    }
}

func poolGeometry(_ x: Tensor, _ kernel: (Int, Int, Int), _ stride: (Int, Int, Int), _ padding: (Int, Int, Int), _ name: String) -> PoolGeometry {
    precondition(x.rank == 5, "\(name): input \(x.shape) is not [N, C, D, H, W]")
    let g = PoolGeometry(planes: x.shape[0] * x.shape[1], depth: x.shape[2], height: x.shape[3], width: x.shape[4],
                         kernel: kernel, stride: stride, padding: padding)
    precondition(g.od > 0 && g.oh > 0 && g.ow > 0, "\(name): window \(kernel) does not fit input \(x.shape)")
    return g
}

/// Max pooling (padding counts as −∞). `x: [N, C, D, H, W]` → `[N, C, D', H', W']`; the gradient
/// goes to the first largest value of each window. Planes run in parallel.
public func maxPool3d(_ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int) = (0, 0, 0)) -> Tensor {
    precondition(padding.0 <= kernel.0 / 2 && padding.1 <= kernel.1 / 2 && padding.2 <= kernel.2 / 2,
                 "maxPool3d: padding \(padding) is more than half the window \(kernel) (as PyTorch requires)")
    let g = poolGeometry(x, kernel, stride, padding, "maxPool3d")
    let (inPlane, outPlane) = (g.depth * g.height * g.width, g.od * g.oh * g.ow)
    // Within-plane index of each output's maximum.
    var argmax = [Int32](repeating: 0, count: g.planes * outPlane)
    let out = [Float](unfilled: g.planes * outPlane) { o in
        x.data.withUnsafeBufferPointer { xb in
            argmax.withUnsafeMutableBufferPointer { ab in
                let (xp, op, ap) = (SharedPointer(xb.baseAddress!), SharedPointer(o.baseAddress!), SharedPointer(ab.baseAddress!))
                Threads.parallelFor(g.planes, work: x.count) { plane in
                    if g.kernel.0 == 1 {
                        g.maxPlaneSeparable(xp + plane * inPlane, values: op + plane * outPlane, positions: ap + plane * outPlane)
                    } else {
                        g.maxPlane(xp + plane * inPlane, values: op + plane * outPlane, positions: ap + plane * outPlane)
                    }
                }
            }
        }
    }
    let shape = [x.shape[0], x.shape[1], g.od, g.oh, g.ow]
    return Autograd.result(shape: shape, data: out, inputs: [x]) { grad in
        var dx = [Float](repeating: 0, count: x.count)
        grad.data.withUnsafeBufferPointer { gb in
            argmax.withUnsafeBufferPointer { ab in
                dx.withUnsafeMutableBufferPointer { db in
                    let (gp, ap, dp) = (SharedPointer(gb.baseAddress!), SharedPointer(ab.baseAddress!), SharedPointer(db.baseAddress!))
                    Threads.parallelFor(g.planes, work: x.count) { plane in
                        let (src, index, dst) = (gp + plane * outPlane, ap + plane * outPlane, dp + plane * inPlane)
                        for o in 0..<outPlane { dst[Int(index[o])] += src[o] }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, data: dx)]
    }
}

extension PoolGeometry {
    /// `maxPlane` for windows one slice deep (every pooling of the presets), in two passes:
    /// the maximum of each row's x-windows, then of each y-window over those. The same values
    /// and positions as `maxPlane`: each pass keeps the first of equal values (strictly greater
    /// replaces), so the winner is the first in (y, x) order, as in one pass over the window.
    func maxPlaneSeparable(_ x: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, positions: UnsafeMutablePointer<Int32>) {
        var rowMax = [Float](uninitializedCount: height * ow)
        var rowAt = [Int32](repeating: 0, count: height * ow)
        let xWindows = (0..<ow).map { xo -> Range<Int> in
            let x0 = xo * stride.2 - padding.2
            return Swift.max(x0, 0)..<Swift.min(x0 + kernel.2, width)
        }
        var o = 0
        rowMax.withUnsafeMutableBufferPointer { rmb in
            rowAt.withUnsafeMutableBufferPointer { rab in
                let (rm, ra) = (rmb.baseAddress!, rab.baseAddress!)
                for z in 0..<od {
                    let iz = z * stride.0 - padding.0
                    for iy in 0..<height {
                        let row = x + (iz * height + iy) * width
                        for xo in 0..<ow {
                            let window = xWindows[xo]
                            var at = window.lowerBound
                            var best = row[at]
                            for ix in (window.lowerBound + 1)..<window.upperBound {
                                let v = row[ix]
                                if v > best { best = v; at = ix }
                            }
                            rm[iy * ow + xo] = best
                            ra[iy * ow + xo] = Int32(at)
                        }
                    }
                    for y in 0..<oh {
                        let y0 = y * stride.1 - padding.1
                        let (lo, hi) = (Swift.max(y0, 0), Swift.min(y0 + kernel.1, height))
                        for xo in 0..<ow {
                            var best = rm[lo * ow + xo], row = lo
                            for iy in (lo + 1)..<hi {
                                let v = rm[iy * ow + xo]
                                if v > best { best = v; row = iy }
                            }
                            values[o] = best
                            positions[o] = Int32((iz * height + row) * width) + ra[row * ow + xo]
                            o += 1
                        }
                    }
                }
            }
        }
    }

    /// The maxima of one plane's windows and their within-plane input indices.
    func maxPlane(_ x: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, positions: UnsafeMutablePointer<Int32>) {
        var o = 0
        for z in 0..<od {
            let z0 = z * stride.0 - padding.0
            let zs = Swift.max(z0, 0)..<Swift.min(z0 + kernel.0, depth)
            for y in 0..<oh {
                let y0 = y * stride.1 - padding.1
                let ys = Swift.max(y0, 0)..<Swift.min(y0 + kernel.1, height)
                for xo in 0..<ow {
                    let x0 = xo * stride.2 - padding.2
                    let xs = Swift.max(x0, 0)..<Swift.min(x0 + kernel.2, width)
                    // NOTE: the first value seeds the maximum (no "none yet" test in the loop, which
                    // kept it from running at speed); later values replace it only when strictly
                    // greater, so ties still go to the first in (z, y, x) order, and a NaN first stays.
                    var at = (zs.lowerBound * height + ys.lowerBound) * width + xs.lowerBound
                    var best = x[at]
                    for iz in zs { for iy in ys {
                        let row = (iz * height + iy) * width
                        for ix in xs {
                            let v = x[row + ix]
                            if v > best { best = v; at = row + ix }
                        }
                    } }
                    values[o] = best
                    positions[o] = Int32(at)
                    o += 1
                }
            }
        }
    }
}

/// Average pooling dividing by the whole window (PyTorch's `count_include_pad=True`).
/// `x: [N, C, D, H, W]` → `[N, C, D', H', W']`.
public func avgPool3d(_ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int) = (0, 0, 0)) -> Tensor {
    let g = poolGeometry(x, kernel, stride, padding, "avgPool3d")
    let scale = 1 / Float(kernel.0 * kernel.1 * kernel.2)
    var out = [Float](repeating: 0, count: g.planes * g.od * g.oh * g.ow)
    g.forEachWindow { o, idx in
        var s: Float = 0
        for i in idx { s += x.data[i] }
        out[o] = s * scale
    }
    let shape = [x.shape[0], x.shape[1], g.od, g.oh, g.ow]
    return Autograd.result(shape: shape, data: out, inputs: [x]) { grad in
        var dx = [Float](repeating: 0, count: x.count)
        g.forEachWindow { o, idx in for i in idx { dx[i] += grad.data[o] * scale } }
        return [Tensor(shape: x.shape, data: dx)]
    }
}

/// 2-D max pooling: `x: [N, C, H, W]` → `[N, C, H', W']`.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "maxPool2d: input \(x.shape) is not [N, C, H, W]")
    let y = maxPool3d(x.reshaped([x.shape[0], x.shape[1], 1, x.shape[2], x.shape[3]]),
                      kernel: (1, kernel.0, kernel.1), stride: (1, stride.0, stride.1), padding: (0, padding.0, padding.1))
    return y.reshaped([y.shape[0], y.shape[1], y.shape[3], y.shape[4]])
}

/// 2-D average pooling: `x: [N, C, H, W]` → `[N, C, H', W']`.
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "avgPool2d: input \(x.shape) is not [N, C, H, W]")
    let y = avgPool3d(x.reshaped([x.shape[0], x.shape[1], 1, x.shape[2], x.shape[3]]),
                      kernel: (1, kernel.0, kernel.1), stride: (1, stride.0, stride.1), padding: (0, padding.0, padding.1))
    return y.reshaped([y.shape[0], y.shape[1], y.shape[3], y.shape[4]])
}

extension Tensor {
    /// The mean over every dimension after the first two: `[N, C, …]` → `[N, C]`.
    public func globalAveragePooled() -> Tensor {
        precondition(rank >= 3, "globalAveragePooled: input \(shape) has no spatial dimensions")
        return mean(axes: Array(2..<rank))
    }
}
