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
        // The trailing output dimensions that stay in order at the input's end are one
        // contiguous run: copy runs (in parallel), not single values.
        var kept = rank
        while kept > 0 && axes[kept - 1] == kept - 1 { kept -= 1 }
        let run = outShape[kept...].reduce(1, *)
        let out = run >= 4 && kept > 0 && count > 0
            ? copiedByRuns(outShape, gathered, leading: kept, run: run)
            : copiedByValues(outShape, gathered)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Autograd.result(shape: outShape, data: out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// `permuted`'s values when its last `outShape.count − leading` dimensions are a contiguous
    /// run of `run` values in the input: each run copied whole, runs in parallel. `gathered`: the
    /// input stride of each output dimension.
    private func copiedByRuns(_ outShape: [Int], _ gathered: [Int], leading k: Int, run: Int) -> [Float] {
        let outer = count / run
        let prefixShape = Array(outShape[..<k]), prefixStrides = Array(gathered[..<k])
        return [Float](unfilled: count) { ob in
            data.withUnsafeBufferPointer { xb in
                let (xp, op) = (SharedPointer(xb.baseAddress!), SharedPointer(ob.baseAddress!))
                Threads.parallelChunks(outer, minimumWork: Swift.max(1, (1 << 15) / run)) { r in
                    for o in r {
                        var rest = o, src = 0
                        for d in Swift.stride(from: k - 1, through: 0, by: -1) {
                            src += (rest % prefixShape[d]) * prefixStrides[d]
                            rest /= prefixShape[d]
                        }
                        (op + o * run).update(from: xp + src, count: run)
                    }
                }
            }
        }
    }

    /// `permuted`'s values one at a time, along an odometer over the output; chunks in parallel,
    /// each starting its odometer at its first output.
    private func copiedByValues(_ outShape: [Int], _ gathered: [Int]) -> [Float] {
        let (n, rank) = (count, self.rank)
        return [Float](unfilled: n) { ob in
            guard n > 0 else { return }
            data.withUnsafeBufferPointer { xb in
                let (x, o) = (SharedPointer(xb.baseAddress!), SharedPointer(ob.baseAddress!))
                Threads.parallelChunks(n) { chunk in
                    var counter = [Int](repeating: 0, count: rank)
                    var src = 0, rest = chunk.lowerBound
                    for d in Swift.stride(from: rank - 1, through: 0, by: -1) {
                        counter[d] = rest % outShape[d]
                        src += counter[d] * gathered[d]
                        rest /= outShape[d]
                    }
                    for i in chunk {
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
