import Foundation

/// Element-wise indexing along one axis, PyTorch's `gather` and `scatter_add`: each is the
/// other's adjoint. `indices` has the shape of the gathered result (of the scattered source):
/// the indexed tensor's shape with another length along `axis`.
extension Tensor {
    /// `out[o, k, i] = self[o, indices[o, k, i], i]` along `axis`.
    /// `self: [..., n, ...]`, `indices: [..., m, ...]` (`indexShape`) → `[..., m, ...]`.
    /// The gradient adds back into the chosen entries.
    public func gathering(axis: Int, indices: [Int], indexShape: [Int]) -> Tensor {
        let a = normalizedAxis(axis)
        let (outer, length, inner) = split(a)
        let m = checkedIndexLength(indexShape, indices, axis: a, length: length, operation: "gathering")
        let out = [Float](unfilled: indices.count) { out in
            for o in 0..<outer { for k in 0..<m { for i in 0..<inner {
                let at = (o * m + k) * inner + i
                out[at] = data[(o * length + indices[at]) * inner + i]
            } } }
        }
        let source = shape
        return Autograd.result(shape: indexShape, data: out, inputs: [self]) { g in
            [Tensor.zeros(source).scatterAdding(axis: a, indices: indices, source: g)]
        }
    }

    /// This tensor with `source` added at the indexed entries along `axis`:
    /// `out[o, indices[o, k, i], i] += source[o, k, i]` (repeated indices add up).
    /// `self: [..., n, ...]`, `source` and `indices: [..., m, ...]` → `[..., n, ...]`.
    /// Gradients: the output's for `self`, the output's gathered at the indices for `source`.
    public func scatterAdding(axis: Int, indices: [Int], source: Tensor) -> Tensor {
        let a = normalizedAxis(axis)
        let (outer, length, inner) = split(a)
        let m = checkedIndexLength(source.shape, indices, axis: a, length: length, operation: "scatterAdding")
        var out = data
        for o in 0..<outer { for k in 0..<m { for i in 0..<inner {
            let at = (o * m + k) * inner + i
            out[(o * length + indices[at]) * inner + i] += source.data[at]
        } } }
        let sourceShape = source.shape
        return Autograd.result(shape: shape, data: out, inputs: [self, source]) { g in
            [g, g.gathering(axis: a, indices: indices, indexShape: sourceShape)]
        }
    }

    /// Checks that `indexShape` is this tensor's shape but (possibly) along `axis`, that it
    /// holds `indices.count` entries and that each index is inside `0..<length`; returns the
    /// index shape's length along `axis`.
    private func checkedIndexLength(_ indexShape: [Int], _ indices: [Int], axis a: Int, length: Int, operation: String) -> Int {
        precondition(indexShape.count == rank && (0..<rank).allSatisfy { $0 == a || indexShape[$0] == shape[$0] },
                     "\(operation): index shape \(indexShape) must equal \(shape) except along axis \(a)")
        precondition(indices.count == indexShape.reduce(1, *),
                     "\(operation): \(indices.count) indices for index shape \(indexShape)")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < length },
                     "\(operation): an index is outside 0..<\(length) of axis \(a) of \(shape)")
        return indexShape[a]
    }
}
