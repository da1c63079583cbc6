// Slicing, joining, padding, gathering and selecting. Shapes in each doc comment.

extension Tensor {
    /// Elements `range` of dimension `axis`. `self: [..., n, ...]` → `[..., range.count, ...]`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis)
        let (outer, length, inner) = split(a)
        precondition(range.lowerBound >= 0 && range.upperBound <= length, "slice: \(range) is outside 0..<\(length) of axis \(axis) of \(shape)")
        var outShape = shape
        outShape[a] = range.count
        var out = [Float](repeating: 0, count: outer * range.count * inner)
        for o in 0..<outer {
            for (k, j) in range.enumerated() {
                for i in 0..<inner { out[(o * range.count + k) * inner + i] = data[(o * length + j) * inner + i] }
            }
        }
        let source = shape
        return Autograd.result(shape: outShape, data: out, inputs: [self]) { g in
            [g.padded(axis: a, before: range.lowerBound, after: length - range.upperBound, to: source)]
        }
    }

    /// Zeros (or `value`) added before and after dimension `axis`.
    /// `self: [..., n, ...]` → `[..., before + n + after, ...]`.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        var outShape = shape
        outShape[normalizedAxis(axis)] += before + after
        return padded(axis: axis, before: before, after: after, to: outShape, value: value)
    }

    fileprivate func padded(axis: Int, before: Int, after: Int, to outShape: [Int], value: Float = 0) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(before >= 0 && after >= 0, "padded: negative padding \(before), \(after)")
        let (outer, length, inner) = split(a)
        let total = length + before + after
        var out = [Float](repeating: value, count: outer * total * inner)
        for o in 0..<outer { for j in 0..<length { for i in 0..<inner {
            out[(o * total + before + j) * inner + i] = data[(o * length + j) * inner + i]
        } } }
        return Autograd.result(shape: outShape, data: out, inputs: [self]) { g in [g.slice(axis: a, before..<(before + length))] }
    }

    /// Entries `indices` of dimension `axis`, in that order (repeats allowed).
    /// `self: [..., n, ...]` → `[..., indices.count, ...]`; the gradient adds into the chosen entries.
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let a = normalizedAxis(axis)
        let (outer, length, inner) = split(a)
        precondition(indices.allSatisfy { $0 >= 0 && $0 < length }, "indexSelect: an index is outside 0..<\(length) of axis \(axis) of \(shape)")
        var outShape = shape
        outShape[a] = indices.count
        var out = [Float](repeating: 0, count: outer * indices.count * inner)
        for o in 0..<outer { for (k, j) in indices.enumerated() { for i in 0..<inner {
            out[(o * indices.count + k) * inner + i] = data[(o * length + j) * inner + i]
        } } }
        let source = shape
        return Autograd.result(shape: outShape, data: out, inputs: [self]) { g in
            var d = [Float](repeating: 0, count: source.reduce(1, *))
            for o in 0..<outer { for (k, j) in indices.enumerated() { for i in 0..<inner {
                d[(o * length + j) * inner + i] += g.data[(o * indices.count + k) * inner + i]
            } } }
            return [Tensor(shape: source, data: d)]
        }
    }

    /// `value` where `mask` is true, this tensor elsewhere; `mask` has this tensor's element count.
    public func maskedFill(_ mask: [Bool], _ value: Float) -> Tensor {
        precondition(mask.count == count, "maskedFill: \(mask.count) mask values for \(shape)")
        var out = data
        for i in 0..<count where mask[i] { out[i] = value }
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in
            var d = g.data
            for i in 0..<d.count where mask[i] { d[i] = 0 }
            return [Tensor(shape: g.shape, data: d)]
        }
    }

    /// Randomly zeroes elements with probability `p` and scales the rest by 1/(1 − p) when
    /// `training`; the identity otherwise.
    public func dropout(_ p: Float, training: Bool, rng: inout SeededRandom) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
        guard training && p > 0 else { return self }
        let keep = (0..<count).map { _ in Float(rng.unit()) >= p ? 1 / (1 - p) : 0 }
        return self * Tensor(shape: shape, data: keep)
    }
}

/// `condition ? a : b` elementwise; `a` and `b` have the same shape as the condition's count.
public func select(_ condition: [Bool], _ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape && condition.count == a.count, "select: condition of \(condition.count), shapes \(a.shape) and \(b.shape)")
    var out = b.data
    for i in 0..<out.count where condition[i] { out[i] = a.data[i] }
    return Autograd.result(shape: a.shape, data: out, inputs: [a, b]) { g in
        var da = [Float](repeating: 0, count: g.count), db = g.data
        for i in 0..<g.count where condition[i] { da[i] = g.data[i]; db[i] = 0 }
        return [Tensor(shape: a.shape, data: da), Tensor(shape: b.shape, data: db)]
    }
}

/// Tensors joined along `axis`; all other dimensions equal. Each `[..., nᵢ, ...]` → `[..., Σnᵢ, ...]`.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat: no tensors")
    let first = tensors[0]
    let a = first.normalizedAxis(axis)
    for t in tensors {
        precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                     "concat: shapes \(tensors.map(\.shape)) differ off axis \(axis)")
    }
    let lengths = tensors.map { $0.shape[a] }
    let total = lengths.reduce(0, +)
    let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
    var out = [Float](repeating: 0, count: outer * total * inner)
    var offset = 0
    for (t, n) in zip(tensors, lengths) {
        for o in 0..<outer { for j in 0..<n { for i in 0..<inner {
            out[(o * total + offset + j) * inner + i] = t.data[(o * n + j) * inner + i]
        } } }
        offset += n
    }
    var shape = first.shape
    shape[a] = total
    return Autograd.result(shape: shape, data: out, inputs: tensors) { g in
        var start = 0
        return lengths.map { n in
            defer { start += n }
            return g.slice(axis: a, start..<(start + n))
        }
    }
}

/// Tensors of one shape stacked along a new dimension `axis`: n × `s` → `s` with n inserted at `axis`.
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    precondition(!tensors.isEmpty && tensors.allSatisfy { $0.shape == tensors[0].shape }, "stack: shapes \(tensors.map(\.shape)) differ")
    var unsqueezed = tensors[0].shape
    let a = axis < 0 ? axis + unsqueezed.count + 1 : axis
    unsqueezed.insert(1, at: a)
    return concat(tensors.map { $0.reshaped(unsqueezed) }, axis: a)
}

/// Rows of `weight: [vocab, dim]` for `ids` (any shape `s`) → `[s..., dim]`.
public func embedding(_ ids: [Int], shape: [Int], weight: Tensor) -> Tensor {
    precondition(weight.rank == 2 && shape.reduce(1, *) == ids.count, "embedding: weight \(weight.shape), \(ids.count) ids for shape \(shape)")
    return weight.indexSelect(axis: 0, ids).reshaped(shape + [weight.shape[1]])
}
