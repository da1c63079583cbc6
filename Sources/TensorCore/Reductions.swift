import Foundation

// Reductions over axes. `axes: nil` reduces every dimension.

extension Tensor {
    /// The shape with the reduced axes set to 1.
    func keptShape(_ axes: [Int]?) -> [Int] {
        guard let axes else { return shape.map { _ in 1 } }
        let set = Set(axes.map(normalizedAxis))
        return shape.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
    }

    func droppedShape(_ axes: [Int]?) -> [Int] {
        guard let axes else { return [] }
        let set = Set(axes.map(normalizedAxis))
        return shape.enumerated().filter { !set.contains($0.offset) }.map(\.element)
    }

    /// Sum over `axes`. `self: s` → s without the axes (or with them as 1 when `keepDims`).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let kept = summed(to: keptShape(axes))
        return keepDims ? kept : kept.reshaped(droppedShape(axes))
    }

    /// Mean over `axes` (shapes as `sum`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let n = shape.reduce(1, *) / Swift.max(keptShape(axes).reduce(1, *), 1)
        return sum(axes: axes, keepDims: keepDims) / Float(n)
    }

    /// Variance over `axes`, unbiased (n − 1) by default as PyTorch's `var`.
    public func variance(axes: [Int]? = nil, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        let n = shape.reduce(1, *) / Swift.max(keptShape(axes).reduce(1, *), 1)
        let centred = self - mean(axes: axes, keepDims: true)
        return (centred * centred).sum(axes: axes, keepDims: keepDims) / Float(unbiased ? n - 1 : n)
    }

    /// Outer, axis and inner extents for a reduction along one axis.
    func split(_ axis: Int) -> (outer: Int, length: Int, inner: Int) {
        let a = normalizedAxis(axis)
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    /// Indices of the largest values along `axis` (first on ties); shape without the axis. No gradient.
    public func argmax(axis: Int) -> [Int] {
        let (outer, length, inner) = split(axis)
        precondition(length > 0, "argmax: empty axis \(axis) of \(shape)")
        var result = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var value = data[o * length * inner + i]
                for k in 1..<length where data[(o * length + k) * inner + i] > value {
                    value = data[(o * length + k) * inner + i]
                    best = k
                }
                result[o * inner + i] = best
            }
        }
        return result
    }

    /// Largest values along `axis`; the gradient goes to the first largest of each slice.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, length, inner) = split(axis)
        let arg = argmax(axis: axis)
        var out = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer { for i in 0..<inner { out[o * inner + i] = data[(o * length + arg[o * inner + i]) * inner + i] } }
        let source = shape
        let kept = keptShape([axis])
        let result = Autograd.result(shape: kept, data: out, inputs: [self]) { g in
            var d = [Float](repeating: 0, count: source.reduce(1, *))
            for o in 0..<outer { for i in 0..<inner { d[(o * length + arg[o * inner + i]) * inner + i] = g.data[o * inner + i] } }
            return [Tensor(shape: source, data: d)]
        }
        return keepDims ? result : result.reshaped(droppedShape([axis]))
    }

    /// Smallest values along `axis`.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { -(-self).max(axis: axis, keepDims: keepDims) }

    /// `log Σ exp` along `axis`, computed stably around the (constant) maximum.
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let m = max(axis: axis, keepDims: true).detached()
        let kept = (self - m).exp().sum(axes: [axis], keepDims: true).log() + m
        return keepDims ? kept : kept.reshaped(droppedShape([axis]))
    }
}
