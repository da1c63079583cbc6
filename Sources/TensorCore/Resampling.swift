import Foundation

// Upsampling of feature maps (localisation heatmaps), and sorting without gradients.

extension Tensor {
    /// Nearest-neighbour resize as PyTorch's `mode="nearest"` (source index ⌊dst · in / out⌋).
    /// `self: [N, C, H, W]` → `[N, C, height, width]`.
    public func upsampledNearest(height: Int, width: Int) -> Tensor {
        precondition(rank == 4, "upsampledNearest: input \(shape) is not [N, C, H, W]")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let ys = (0..<height).map { Swift.min(h - 1, Int(Double($0) * Double(h) / Double(height))) }
        let xs = (0..<width).map { Swift.min(w - 1, Int(Double($0) * Double(w) / Double(width))) }
        var out = [Float](repeating: 0, count: planes * height * width)
        for p in 0..<planes { for y in 0..<height { for x in 0..<width {
            out[(p * height + y) * width + x] = data[(p * h + ys[y]) * w + xs[x]]
        } } }
        let source = shape
        return Autograd.result(shape: [shape[0], shape[1], height, width], data: out, inputs: [self]) { g in
            var d = [Float](repeating: 0, count: source.reduce(1, *))
            for p in 0..<planes { for y in 0..<height { for x in 0..<width {
                d[(p * h + ys[y]) * w + xs[x]] += g.data[(p * height + y) * width + x]
            } } }
            return [Tensor(shape: source, data: d)]
        }
    }

    /// Bilinear resize as PyTorch's `mode="bilinear", align_corners=False`.
    /// `self: [N, C, H, W]` → `[N, C, height, width]`.
    public func upsampledBilinear(height: Int, width: Int) -> Tensor {
        precondition(rank == 4, "upsampledBilinear: input \(shape) is not [N, C, H, W]")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        /// For each output coordinate: the two source indices and the weight of the second.
        func taps(_ n: Int, _ inSize: Int) -> [(Int, Int, Float)] {
            (0..<n).map { i in
                let src = Swift.max(0, (Double(i) + 0.5) * Double(inSize) / Double(n) - 0.5)
                let i0 = Swift.min(Int(src), inSize - 1)
                return (i0, Swift.min(i0 + 1, inSize - 1), Float(src - Double(i0)))
            }
        }
        let ty = taps(height, h), tx = taps(width, w)
        var out = [Float](repeating: 0, count: planes * height * width)
        for p in 0..<planes { for (y, (y0, y1, ly)) in ty.enumerated() { for (x, (x0, x1, lx)) in tx.enumerated() {
            let base = p * h * w
            let top = data[base + y0 * w + x0] * (1 - lx) + data[base + y0 * w + x1] * lx
            let bottom = data[base + y1 * w + x0] * (1 - lx) + data[base + y1 * w + x1] * lx
            out[(p * height + y) * width + x] = top * (1 - ly) + bottom * ly
        } } }
        let source = shape
        return Autograd.result(shape: [shape[0], shape[1], height, width], data: out, inputs: [self]) { g in
            var d = [Float](repeating: 0, count: source.reduce(1, *))
            for p in 0..<planes { for (y, (y0, y1, ly)) in ty.enumerated() { for (x, (x0, x1, lx)) in tx.enumerated() {
                let v = g.data[(p * height + y) * width + x], base = p * h * w
                d[base + y0 * w + x0] += v * (1 - ly) * (1 - lx)
                d[base + y0 * w + x1] += v * (1 - ly) * lx
                d[base + y1 * w + x0] += v * ly * (1 - lx)
                d[base + y1 * w + x1] += v * ly * lx
            } } }
            return [Tensor(shape: source, data: d)]
        }
    }

    /// Values and indices along the last dimension sorted (stable), without gradient.
    /// `self: [..., n]` → values `[..., n]`, indices.
    public func sorted(descending: Bool = false) -> (values: Tensor, indices: [Int]) {
        let n = shape.last ?? 1
        var values = [Float](repeating: 0, count: count), indices = [Int](repeating: 0, count: count)
        for r in 0..<(count / Swift.max(n, 1)) {
            let row = Array(data[(r * n)..<((r + 1) * n)])
            let order = (0..<n).sorted { (a: Int, b: Int) -> Bool in
                if row[a] == row[b] { return a < b }
                return descending ? row[a] > row[b] : row[a] < row[b]
            }
            for (k, i) in order.enumerated() { values[r * n + k] = row[i]; indices[r * n + k] = i }
        }
        return (Tensor(shape: shape, data: values), indices)
    }

    /// The `k` largest (or smallest) values along the last dimension, in order, with their
    /// indices; no gradient. `self: [..., n]` → `[..., k]`.
    public func topK(_ k: Int, largest: Bool = true) -> (values: Tensor, indices: [Int]) {
        let n = shape.last ?? 1
        precondition(k >= 0 && k <= n, "topK: k = \(k) for a last dimension of \(n)")
        let (all, order) = sorted(descending: largest)
        let rows = count / Swift.max(n, 1)
        var values: [Float] = [], indices: [Int] = []
        for r in 0..<rows {
            values += all.data[(r * n)..<(r * n + k)]
            indices += order[(r * n)..<(r * n + k)]
        }
        return (Tensor(shape: Array(shape.dropLast()) + [k], data: values), indices)
    }
}

extension SeededRandom {
    /// A random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] { shuffled(Array(0..<n)) }
}
