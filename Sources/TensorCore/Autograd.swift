import Foundation

/// What an operation remembers for the backward pass: its inputs, and a closure that maps the
/// gradient of its output to the gradients of its inputs (nil where an input needs none).
final class TapeNode {
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]
    /// The `#fileID` and `#function` of the operation that made it: its family in a profile.
    let fileID: String, function: String

    init(inputs: [Tensor], fileID: String, function: String, backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
        (self.fileID, self.function) = (fileID, function)
    }

    /// The operation's family in a profile (computed only while one runs).
    var family: String { Profiler.family(fileID: fileID, function: function) }
}

/// Reverse-mode automatic differentiation on a dynamic tape.
public enum Autograd {
    /// Whether operations are recorded, per task (so concurrent work — parallel tests, a data
    /// loader — never switches it for each other). Backward closures run without recording,
    /// so gradients are not themselves differentiated (no higher-order derivatives).
    @TaskLocal static var isRecording = true

    /// Runs `body` without recording operations (evaluation, optimizer updates).
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false) { try body() }
    }

    /// The result of an operation: a tape node is attached when recording and an input
    /// requires gradients.
    /// `fileID` (the calling primitive's file) names the operation's family in a profile.
    static func result(shape: [Int], data: [Float], inputs: [Tensor], fileID: String = #fileID, function: String = #function,
                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        if Profiler.isRunning { Profiler.charge(Profiler.family(fileID: fileID, function: function) + " forward") }
        let t = Tensor(shape: shape, data: data)
        if isRecording && inputs.contains(where: { $0.requiresGrad }) {
            t.requiresGrad = true
            t.node = TapeNode(inputs: inputs, fileID: fileID, function: function, backward: backward)
        }
        return t
    }
}

extension Tensor {
    /// Back-propagates from this tensor: `seed` is d(loss)/d(self) (ones for a scalar loss).
    /// Gradients accumulate into the `grad` of every leaf that requires them.
    public func backward(_ seed: Tensor? = nil) {
        precondition(seed != nil || count == 1, "backward: a non-scalar tensor \(shape) needs a seed gradient")
        if let seed { precondition(seed.shape == shape, "backward: seed shape \(seed.shape) differs from tensor shape \(shape)") }
        // Topological order by an iterative depth-first walk.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed ?? Tensor(shape: shape, repeating: 1)]
        // Without a profile, `Profiler.whole` just runs its body and `charge` returns at once.
        Profiler.charge("autograd (tape)")
        Autograd.withoutGradients {
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    t.grad = t.grad.map { existing in Profiler.whole("autograd (accumulate)") { existing + g } } ?? g
                    continue
                }
                let inputGrads = Profiler.isRunning ? Profiler.whole(node.family + " backward") { node.backward(g) } : node.backward(g)
                for (input, ig) in zip(node.inputs, inputGrads) where input.requiresGrad {
                    guard let ig else { continue }
                    precondition(ig.shape == input.shape, "backward: gradient shape \(ig.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { existing in Profiler.whole("autograd (accumulate)") { existing + ig } } ?? ig
                }
            }
        }
        Profiler.charge("autograd (tape)")
    }
}
