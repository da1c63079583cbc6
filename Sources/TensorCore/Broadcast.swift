/// NumPy broadcasting of two shapes: dimensions are matched from the right; a dimension of 1
/// (or a missing one) stretches to the other's size.
struct Broadcast {
    let shape: [Int]
    /// Strides of each operand over `shape` (0 along stretched dimensions).
    let strides: ([Int], [Int])

    init?(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        var out = [Int](repeating: 0, count: rank)
        for d in 0..<rank {
            guard pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1 else { return nil }
            out[d] = pa[d] == 1 ? pb[d] : pa[d]
        }
        let sa = Tensor.strides(pa), sb = Tensor.strides(pb)
        shape = out
        strides = ((0..<rank).map { pa[$0] == 1 && out[$0] != 1 ? 0 : sa[$0] },
                   (0..<rank).map { pb[$0] == 1 && out[$0] != 1 ? 0 : sb[$0] })
    }

    /// Calls `body(outIndex, aIndex, bIndex)` for every element of the broadcast shape, in order.
    @inline(__always)
    func forEach(_ body: (Int, Int, Int) -> Void) {
        let n = shape.reduce(1, *)
        guard n > 0 else { return }
        let rank = shape.count
        if rank == 0 { body(0, 0, 0); return }
        let inner = shape[rank - 1], ia = strides.0[rank - 1], ib = strides.1[rank - 1]
        var counter = [Int](repeating: 0, count: rank)
        var oa = 0, ob = 0, o = 0
        while o < n {
            for k in 0..<inner { body(o + k, oa + k * ia, ob + k * ib) }
            o += inner
            // Advance the odometer over the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                counter[d] += 1
                oa += strides.0[d]
                ob += strides.1[d]
                if counter[d] < shape[d] { break }
                oa -= strides.0[d] * shape[d]
                ob -= strides.1[d] * shape[d]
                counter[d] = 0
                d -= 1
            }
        }
    }
}

extension Tensor {
    /// This tensor stretched to `shape` by broadcasting (a copy).
    /// `self: s`, result: `shape` (s must broadcast to it).
    public func expanded(to shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        guard let b = Broadcast(self.shape, shape), b.shape == shape else {
            preconditionFailure("expanded(to:): shape \(self.shape) does not broadcast to \(shape)")
        }
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        data.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in b.forEach { i, ia, _ in o[i] = x[ia] } }
        }
        let source = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in [g.summed(to: source)] }
    }

    /// The sum over the dimensions along which `shape` was broadcast to this tensor's shape:
    /// the reverse of `expanded(to:)`, and the gradient of a broadcast operand.
    public func summed(to shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        guard let b = Broadcast(shape, self.shape), b.shape == self.shape else {
            preconditionFailure("summed(to:): shape \(shape) does not broadcast to \(self.shape)")
        }
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        data.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in b.forEach { i, it, _ in o[it] += x[i] } }
        }
        let source = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in [g.expanded(to: source)] }
    }
}
