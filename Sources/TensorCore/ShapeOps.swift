// Reshaping and reordering dimensions. Shapes in each doc comment.

extension Tensor {
    /// The same values under another shape; one dimension may be -1 (inferred).
    /// `self: s` → `shape` with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var shape = newShape
        if let i = shape.firstIndex(of: -1) {
            let known = shape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer -1 in \(newShape) for \(self.shape)")
            shape[i] = count / known
        }
        precondition(shape.reduce(1, *) == count, "reshaped: \(self.shape) (\(count) values) cannot become \(newShape)")
        let source = self.shape
        return Autograd.result(shape: shape, data: data, inputs: [self]) { g in [g.reshaped(source)] }
    }

    /// Dimensions reordered: result dimension i is input dimension `axes[i]` (a copy).
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "permuted: \(axes) is not a permutation of the \(rank) dimensions of \(shape)")
        let outShape = axes.map { shape[$0] }
        let inStrides = Tensor.strides(shape)
        let gathered = axes.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        if count > 0 {
            data.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in
                    var counter = [Int](repeating: 0, count: rank)
                    var src = 0
                    for i in 0..<o.count {
                        o[i] = x[src]
                        var d = rank - 1
                        while d >= 0 {
                            counter[d] += 1
                            src += gathered[d]
                            if counter[d] < outShape[d] { break }
                            src -= gathered[d] * outShape[d]
                            counter[d] = 0
                            d -= 1
                        }
                    }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Autograd.result(shape: outShape, data: out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Two dimensions swapped (a copy).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(axes)
    }

    /// An axis counted from the end when negative.
    func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) is out of range for shape \(shape)")
        return a
    }
}
