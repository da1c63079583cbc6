import Foundation
import TensorCore
import TestSupport
import Testing

/// The threaded fast paths of the elementwise, broadcast, reduction and softmax primitives give
/// the values of plain index loops (and the fused softmax those of its composition), on shapes
/// of every layout and sizes above the threading thresholds.
@Suite struct FastPathTests {
    /// The value of `a` at a result index, by NumPy's broadcasting rules (the reference).
    func broadcastValue(_ t: Tensor, _ index: [Int], _ result: [Int]) -> Float {
        let padded = [Int](repeating: 1, count: result.count - t.rank) + t.shape
        var flat = 0
        for d in 0..<result.count { flat = flat * padded[d] + (padded[d] == 1 ? 0 : index[d]) }
        return t.data[flat]
    }

    func indices(_ shape: [Int]) -> [[Int]] {
        var all: [[Int]] = [[]]
        for n in shape { all = all.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
        return all
    }

    static let shapePairs: [([Int], [Int])] = [
        ([64, 33, 40], [64, 33, 40]),  // same (threaded)
        ([64, 33, 40], []), ([1], [70, 1000]),  // scalar on either side
        ([96, 50, 24], [24]), ([50, 24], [96, 50, 24]),  // rows (a bias), both sides
        ([96, 50, 24], [96, 50, 1]), ([96, 1, 1], [96, 20, 30]),  // columns (keepDims statistics)
        ([300, 1], [1, 200]),  // columns against rows: an outer product
        ([8, 1, 30], [1, 20, 1]), ([5, 6, 7], [6, 1]),  // general
    ]

    @Test(arguments: shapePairs)
    func binaryOperationsMatchIndexLoops(shapes: ([Int], [Int])) {
        var rng = SeededRandom(seed: 3)
        let a = Tensor.normal(shapes.0, rng: &rng), b = Tensor.normal(shapes.1, rng: &rng) + 3  // b away from 0 for /
        let rank = max(a.rank, b.rank)
        let (pa, pb) = ([Int](repeating: 1, count: rank - a.rank) + a.shape, [Int](repeating: 1, count: rank - b.rank) + b.shape)
        let result = (0..<rank).map { max(pa[$0], pb[$0]) }
        for (name, op, ref) in [("+", { $0 + $1 }, { (x: Float, y: Float) in x + y }), ("-", { $0 - $1 }, { $0 - $1 }),
                                ("*", { $0 * $1 }, { $0 * $1 }), ("/", { $0 / $1 }, { $0 / $1 })] as [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] {
            let y = op(a, b)
            #expect(y.shape == result)
            var wrong = 0
            for (i, index) in indices(result).enumerated() where y.data[i] != ref(broadcastValue(a, index, result), broadcastValue(b, index, result)) {
                wrong += 1
            }
            #expect(wrong == 0, "\(name) on \(shapes): \(wrong) values differ")
        }
    }

    @Test(arguments: [([64, 33, 40], [40]), ([64, 33, 40], [33, 40]), ([64, 33, 40], [64, 1, 1]), ([64, 33, 40], [64, 33, 1]),
                      ([64, 33, 40], []), ([64, 33, 40], [1, 33, 1]), ([70000], [1])])
    func summedAndExpandedMatchIndexLoops(shapes: ([Int], [Int])) {
        var rng = SeededRandom(seed: 4)
        let x = Tensor.normal(shapes.0, rng: &rng)
        let s = x.summed(to: shapes.1)
        var reference = [Double](repeating: 0, count: shapes.1.reduce(1, *))
        let padded = [Int](repeating: 1, count: shapes.0.count - shapes.1.count) + shapes.1
        for (i, index) in indices(shapes.0).enumerated() {
            var flat = 0
            for d in 0..<index.count { flat = flat * padded[d] + (padded[d] == 1 ? 0 : index[d]) }
            reference[flat] += Double(x.data[i])
        }
        let worst = zip(s.data, reference).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(s.shape == shapes.1 && worst < 1e-4, "summed(to: \(shapes.1)) from \(shapes.0): worst relative error \(worst)")
        let small = Tensor.normal(shapes.1, rng: &rng)
        let e = small.expanded(to: shapes.0)
        let wrong = indices(shapes.0).enumerated().filter { e.data[$0.offset] != broadcastValue(small, $0.element, shapes.0) }.count
        #expect(wrong == 0, "expanded(to: \(shapes.0)) from \(shapes.1): \(wrong) values differ")
    }

    /// Permutations that keep trailing dimensions in place copy runs; every kind matches index loops.
    @Test(arguments: [[2, 0, 3, 1, 4], [1, 0, 2, 3, 4], [0, 2, 1, 3, 4], [4, 3, 2, 1, 0], [0, 1, 2, 4, 3], [0, 1, 2, 3, 4]])
    func permutedMatchesIndexLoops(axes: [Int]) {
        var rng = SeededRandom(seed: 7)
        let shape = [6, 20, 3, 5, 32]
        let x = Tensor.normal(shape, rng: &rng)
        let y = x.permuted(axes)
        let outShape = axes.map { shape[$0] }
        #expect(y.shape == outShape)
        let strides = (0..<5).map { d in shape[(d + 1)...].reduce(1, *) }
        var wrong = 0
        for (i, index) in indices(outShape).enumerated() {
            var src = 0
            for d in 0..<5 { src += index[d] * strides[axes[d]] }
            if y.data[i] != x.data[src] { wrong += 1 }
        }
        #expect(wrong == 0, "permuted(\(axes)): \(wrong) values differ")
        #expect(gradientCheck([Tensor.normal([2, 3, 2, 4], rng: &rng)]) { $0[0].permuted([2, 0, 1, 3]) }.isEmpty)
    }

    /// Max pooling one slice deep (the two-pass path) against one pass over each window in
    /// index order: the same maxima, and the gradient at the first of tied maxima.
    @Test(arguments: [((1, 3, 3), (1, 2, 2), (0, 1, 1)), ((1, 2, 2), (1, 2, 2), (0, 0, 0)), ((1, 3, 2), (2, 1, 2), (0, 1, 1)),
                      ((2, 2, 2), (1, 1, 1), (1, 1, 1))])
    func maxPoolingMatchesOnePassOverEachWindow(window: ((Int, Int, Int), (Int, Int, Int), (Int, Int, Int))) {
        let (k, st, pad) = window
        var rng = SeededRandom(seed: 9)
        let shape = [2, 3, 4, 11, 13]
        // Values rounded to a few levels, so that windows hold ties.
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float(Int(rng.uniform(0, 4))) }, requiresGrad: true)
        let y = maxPool3d(x, kernel: k, stride: st, padding: pad)
        let up = Tensor.normal(y.shape, rng: &rng)
        (y * up).sum().backward()
        let (d, h, w) = (shape[2], shape[3], shape[4])
        let (od, oh, ow) = ((d + 2 * pad.0 - k.0) / st.0 + 1, (h + 2 * pad.1 - k.1) / st.1 + 1, (w + 2 * pad.2 - k.2) / st.2 + 1)
        var values: [Float] = [], gradient = [Float](repeating: 0, count: x.count)
        for plane in 0..<6 { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
            var best = -Float.infinity, at = -1
            for kz in 0..<k.0 { for ky in 0..<k.1 { for kx in 0..<k.2 {
                let (iz, iy, ix) = (z * st.0 - pad.0 + kz, yy * st.1 - pad.1 + ky, xx * st.2 - pad.2 + kx)
                guard iz >= 0 && iz < d && iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                let i = plane * d * h * w + (iz * h + iy) * w + ix
                if at < 0 || x.data[i] > best { best = x.data[i]; at = i }
            } } }
            gradient[at] += up.data[values.count]
            values.append(best)
        } } } }
        #expect(y.data == values, "maxima differ for window \(k) stride \(st) padding \(pad)")
        #expect(closeness(x.grad ?? Tensor.zeros([1]), Tensor(shape: shape, data: gradient), rtol: 1e-6, atol: 1e-6).isEmpty,
                "gradient positions differ for window \(k) stride \(st) padding \(pad)")
    }

    /// BatchNorm with the ReLU fused equals `relu(batchNorm(x))` to the bit: output, running
    /// statistics and the three gradients, training and evaluation, on a threaded size.
    @Test(arguments: [true, false])
    func fusedBatchNormReLUEqualsTheComposition(training: Bool) {
        var rng = SeededRandom(seed: 10)
        let x = Tensor.normal([4, 12, 3, 10, 17], rng: &rng), up = Tensor.normal([4, 12, 3, 10, 17], rng: &rng)
        let (w, b) = (Tensor.normal([12], rng: &rng), Tensor.normal([12], rng: &rng))
        func run(_ fused: Bool) -> [[Float]] {
            let (xi, wi, bi) = (x.detached(), w.detached(), b.detached())
            for t in [xi, wi, bi] { t.requiresGrad = true }
            let (mean, variance) = (Tensor(shape: [12], repeating: 0.1), Tensor(shape: [12], repeating: 0.9))
            let y = fused ? batchNorm(xi, weight: wi, bias: bi, runningMean: mean, runningVar: variance, training: training, relu: true)
                          : batchNorm(xi, weight: wi, bias: bi, runningMean: mean, runningVar: variance, training: training).relu()
            (y * up).sum().backward()
            return [y.data, mean.data, variance.data, xi.grad?.data ?? [], wi.grad?.data ?? [], bi.grad?.data ?? []]
        }
        let (fused, composed) = (run(true), run(false))
        for (i, name) in ["output", "running mean", "running variance", "dx", "dγ", "dβ"].enumerated() {
            #expect(fused[i] == composed[i], "\(name) differs (training: \(training))")
        }
    }

    /// Empty tensors (a batch of none) pass through the fast paths without touching memory.
    @Test func emptyTensorsPassThrough() {
        let empty = Tensor(shape: [0, 5], data: [], requiresGrad: true)
        let y = ((empty + Tensor(shape: [5], repeating: 1)) * 2).exp().gelu().softmax(axis: -1).permuted([1, 0])
        #expect(y.shape == [5, 0] && y.count == 0)
        #expect(empty.summed(to: [5]).data == [0, 0, 0, 0, 0] && empty.summed(to: []).data == [0])
        #expect(Tensor(shape: [5], repeating: 1).expanded(to: [0, 5]).count == 0)
        y.sum().backward()
        #expect(empty.grad?.shape == [0, 5])
        let (w, b) = (Tensor(shape: [5], repeating: 1, requiresGrad: true), Tensor(shape: [5], repeating: 0, requiresGrad: true))
        let normalised = layerNorm(Tensor(shape: [0, 5], data: [], requiresGrad: true), weight: w, bias: b)
        #expect(normalised.shape == [0, 5])
        normalised.sum().backward()
        #expect(w.grad?.data == [0, 0, 0, 0, 0] && b.grad?.data == [0, 0, 0, 0, 0])
    }

    /// The fused softmax equals exp(x − logsumexp x), values and gradients, on attention-sized rows.
    @Test func fusedSoftmaxEqualsTheComposition() {
        var rng = SeededRandom(seed: 5)
        let x = Tensor.normal([48, 50, 196], std: 3, rng: &rng)
        let g = Tensor.normal([48, 50, 196], rng: &rng)
        let (a, b) = (x.detached(), x.detached())
        a.requiresGrad = true
        b.requiresGrad = true
        let fused = a.softmax(axis: -1), composed = b.logSoftmax(axis: -1).exp()
        #expect(closeness(fused, composed, rtol: 1e-5, atol: 1e-7).isEmpty, "\(closeness(fused, composed, rtol: 1e-5, atol: 1e-7))")
        (fused * g).sum().backward()
        (composed * g).sum().backward()
        let (ga, gb) = (a.grad ?? Tensor.zeros(x.shape), b.grad ?? Tensor.zeros(x.shape))
        #expect(closeness(ga, gb, rtol: 1e-4, atol: 1e-6).isEmpty, "\(closeness(ga, gb, rtol: 1e-4, atol: 1e-6))")
        #expect(gradientCheck([Tensor.normal([3, 7], rng: &rng)]) { $0[0].softmax(axis: -1) }.isEmpty)
        // Another axis still runs (the composition).
        #expect(gradientCheck([Tensor.normal([4, 3], rng: &rng)]) { $0[0].softmax(axis: 0) }.isEmpty)
    }

    /// LayerNorm's threaded rows and per-worker parameter gradients against a finite-difference check.
    @Test func layerNormGradients() {
        var rng = SeededRandom(seed: 6)
        let x = Tensor.normal([5, 4, 6], rng: &rng), w = Tensor.normal([6], rng: &rng), b = Tensor.normal([6], rng: &rng)
        #expect(gradientCheck([x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }.isEmpty)
        // Threaded (400 rows of 192) against the same rows one call each (unthreaded).
        let big = Tensor.normal([400, 192], rng: &rng), up = Tensor.normal([400, 192], rng: &rng)
        let (wb, bb) = (Tensor.normal([192], rng: &rng), Tensor.normal([192], rng: &rng))
        for t in [big, wb, bb] { t.requiresGrad = true }
        (layerNorm(big, weight: wb, bias: bb) * up).sum().backward()
        let (w1, b1) = (wb.detached(), bb.detached())
        w1.requiresGrad = true
        b1.requiresGrad = true
        var rowGradients: [Float] = []
        for r in 0..<400 {
            let row = Tensor(shape: [1, 192], data: Array(big.data[(r * 192)..<((r + 1) * 192)]), requiresGrad: true)
            (layerNorm(row, weight: w1, bias: b1) * Tensor(shape: [1, 192], data: Array(up.data[(r * 192)..<((r + 1) * 192)]))).sum().backward()
            rowGradients += row.grad?.data ?? []
        }
        let threaded = [big.grad, wb.grad, bb.grad].map { $0 ?? Tensor.zeros([1]) }
        #expect(closeness(threaded[0], Tensor(shape: [400, 192], data: rowGradients), rtol: 1e-4, atol: 1e-5).isEmpty)
        #expect(closeness(threaded[1], w1.grad ?? Tensor.zeros([1]), rtol: 1e-3, atol: 1e-4).isEmpty)
        #expect(closeness(threaded[2], b1.grad ?? Tensor.zeros([1]), rtol: 1e-3, atol: 1e-4).isEmpty)
    }
}
