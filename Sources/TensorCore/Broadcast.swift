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
        let n = shape.reduce(1, *)
        let out: [Float]
        switch n == 0 ? .general : OperandLayout(self.shape, in: shape) {
        case .scalar: out = [Float](repeating: data[0], count: n)
        case .rows(let outer, let inner):
            out = [Float](unfilled: n) { o in
                data.withUnsafeBufferPointer { x in for r in 0..<outer { (o.baseAddress! + r * inner).update(from: x.baseAddress!, count: inner) } }
            }
        case .columns(let outer, let inner):
            out = [Float](unfilled: n) { o in
                for r in 0..<outer { (o.baseAddress! + r * inner).update(repeating: data[r], count: inner) }
            }
        case .same, .general:
            var general = [Float](repeating: 0, count: n)
            data.withUnsafeBufferPointer { x in
                general.withUnsafeMutableBufferPointer { o in b.forEach { i, ia, _ in o[i] = x[ia] } }
            }
            out = general
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
        data.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                // Nothing to add (an empty tensor, or an empty target): the zeros stand.
                guard let xbase = xb.baseAddress, let obase = ob.baseAddress, count > 0 else { return }
                let (x, o) = (SharedPointer(xbase), SharedPointer(obase))
                switch OperandLayout(shape, in: self.shape) {
                // NOTE: every path adds in the order the general odometer did (row after row, in
                // float), so the sums are the same to the bit: training trajectories do not move.
                case .scalar:
                    var total: Float = 0
                    for i in 0..<count { total += x[i] }
                    o[0] = total
                case .rows(let outer, let inner):
                    // Column sums: each thread adds every row's part of its own slice of columns.
                    Threads.parallelChunks(inner, minimumWork: Swift.max(1, (1 << 16) / Swift.max(outer, 1))) { cols in
                        for r in 0..<outer {
                            let row = x + r * inner
                            for c in cols { o[c] += row[c] }
                        }
                    }
                case .columns(let outer, let inner):
                    Threads.parallelChunks(outer, minimumWork: Swift.max(1, (1 << 16) / Swift.max(inner, 1))) { rows in
                        for r in rows {
                            let row = x + r * inner
                            var total: Float = 0
                            for i in 0..<inner { total += row[i] }
                            o[r] = total
                        }
                    }
                case .same, .general:
                    b.forEach { i, it, _ in o[it] += x[i] }
                }
            }
        }
        let source = self.shape
        return Autograd.result(shape: shape, data: out, inputs: [self]) { g in [g.expanded(to: source)] }
    }
}

/// Where an operand's values sit in a broadcast result, for the cheap common cases: the whole
/// result (`same`), one value (`scalar`), the result's trailing dimensions repeated over its
/// leading ones (`rows`: operand `[inner]` over result `[outer, inner]`, a bias), or its
/// leading dimensions, each value repeated over the trailing ones (`columns`: operand `[outer]`
/// over `[outer, inner]`, a per-row statistic kept with `keepDims`). Anything else: `general`.
enum OperandLayout: Equatable {
    case same, scalar
    case rows(outer: Int, inner: Int)
    case columns(outer: Int, inner: Int)
    case general

    init(_ operand: [Int], in result: [Int]) {
        let n = result.reduce(1, *), m = operand.reduce(1, *)
        guard operand.count <= result.count else { self = .general; return }
        let padded = [Int](repeating: 1, count: result.count - operand.count) + operand
        if padded == result { self = .same; return }
        if m == 1 { self = .scalar; return }
        let rank = result.count
        // rows: 1 on a prefix, equal to the result on the rest.
        if let k = (0...rank).first(where: { k in (0..<k).allSatisfy { padded[$0] == 1 } && (k..<rank).allSatisfy { padded[$0] == result[$0] } }),
           m == result[k...].reduce(1, *) {
            self = .rows(outer: n / m, inner: m)
            return
        }
        // columns: equal to the result on a prefix, 1 on the rest.
        if let k = (0...rank).first(where: { k in (0..<k).allSatisfy { padded[$0] == result[$0] } && (k..<rank).allSatisfy { padded[$0] == 1 } }),
           m == result[..<k].reduce(1, *) {
            self = .columns(outer: m, inner: n / m)
            return
        }
        self = .general
    }

    /// The operand's steps per result row and per value within a row, over the result viewed as
    /// `[outer, inner]`; nil for `general`.
    func steps(inner: Int) -> (outer: Int, inner: Int)? {
        switch self {
        case .same: return (inner, 1)
        case .scalar: return (0, 0)
        case .rows: return (0, 1)
        case .columns: return (1, 0)
        case .general: return nil
        }
    }

    /// The row length this layout implies, if it implies one.
    var rowLength: Int? {
        switch self {
        case .rows(_, let inner), .columns(_, let inner): return inner
        default: return nil
        }
    }
}

/// A binary elementwise operation, as a type so that the loops specialise and vectorise.
protocol BinaryKernel: Sendable { static func apply(_ a: Float, _ b: Float) -> Float }
enum AddKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum SubtractKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum MultiplyKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum DivideKernel: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

extension Tensor {
    /// `K` elementwise over the broadcast of `a` and `b`: the same, scalar, row and column
    /// layouts (`OperandLayout`) run as threaded loops over `[outer, inner]` rows; any other
    /// broadcast walks the general odometer.
    static func broadcastBinary<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _ name: String, _ kernel: K.Type) -> ([Int], [Float]) {
        guard let bc = Broadcast(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let shape = bc.shape, n = shape.reduce(1, *)
        let la = OperandLayout(a.shape, in: shape), lb = OperandLayout(b.shape, in: shape)
        let inner = la.rowLength ?? lb.rowLength ?? n
        guard n > 0, let sa = la.steps(inner: inner), let sb = lb.steps(inner: inner),
              la.rowLength == nil || lb.rowLength == nil || la.rowLength == lb.rowLength else {
            var out = [Float](repeating: 0, count: n)
            a.data.withUnsafeBufferPointer { x in
                b.data.withUnsafeBufferPointer { y in
                    out.withUnsafeMutableBufferPointer { o in bc.forEach { i, ia, ib in o[i] = K.apply(x[ia], y[ib]) } }
                }
            }
            return (shape, out)
        }
        let out = [Float](unfilled: n) { o in
            a.data.withUnsafeBufferPointer { xa in
                b.data.withUnsafeBufferPointer { xb in
                    let (pa, pb, po) = (SharedPointer(xa.baseAddress!), SharedPointer(xb.baseAddress!), SharedPointer(o.baseAddress!))
                    let outer = n / inner
                    // One flat range when there is a single row, else blocks of whole rows.
                    if outer == 1 {
                        Threads.parallelChunks(n) { r in binaryRow(K.self, pa + r.lowerBound * sa.inner, sa.inner, pb + r.lowerBound * sb.inner, sb.inner, po + r.lowerBound, r.count) }
                    } else {
                        Threads.parallelChunks(outer, minimumWork: Swift.max(1, (1 << 16) / inner)) { rows in
                            for row in rows {
                                binaryRow(K.self, pa + row * sa.outer, sa.inner, pb + row * sb.outer, sb.inner, po + row * inner, inner)
                            }
                        }
                    }
                }
            }
        }
        return (shape, out)
    }
}

/// `out[i] = K(a[i·sa], b[i·sb])` for `i < n`, steps 0 or 1.
@inline(__always)
func binaryRow<K: BinaryKernel>(_ kernel: K.Type, _ a: UnsafeMutablePointer<Float>, _ sa: Int, _ b: UnsafeMutablePointer<Float>, _ sb: Int,
                                _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    switch (sa, sb) {
    case (1, 1): for i in 0..<n { out[i] = K.apply(a[i], b[i]) }
    case (1, 0): let y = b[0]; for i in 0..<n { out[i] = K.apply(a[i], y) }
    case (0, 1): let x = a[0]; for i in 0..<n { out[i] = K.apply(x, b[i]) }
    default: let v = K.apply(a[0], b[0]); out.update(repeating: v, count: n)
    }
}
