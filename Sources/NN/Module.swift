import Foundation
import TensorCore

/// A layer or model: named parameters and buffers under PyTorch-style dotted names
/// (`stage2.spatial1.conv.weight`), child modules, train/eval mode, freezing, state I/O.
///
/// A subclass lists its own parameters, buffers and children; everything else is derived.
open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// This module's own parameters (not its children's).
    open var localParameters: [(String, Tensor)] { [] }
    /// This module's own Float buffers (running statistics).
    open var localBuffers: [(String, Tensor)] { [] }
    /// This module's own integer buffers (BatchNorm's `num_batches_tracked`), stored as int64.
    open var localCounters: [(String, Int64)] { [] }
    /// Sets an integer buffer when loading a state.
    open func setCounter(_ name: String, _ value: Int64) {}
    /// Child modules by name.
    open var children: [(String, Module)] { [] }

    /// Every parameter, depth first, with its dotted name.
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        localParameters.map { (prefix + $0.0, $0.1) } + children.flatMap { $0.1.namedParameters(prefix: prefix + $0.0 + ".") }
    }

    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        localBuffers.map { (prefix + $0.0, $0.1) } + children.flatMap { $0.1.namedBuffers(prefix: prefix + $0.0 + ".") }
    }

    public func namedCounters(prefix: String = "") -> [(String, Int64)] {
        localCounters.map { (prefix + $0.0, $0.1) } + children.flatMap { $0.1.namedCounters(prefix: prefix + $0.0 + ".") }
    }

    public var parameters: [Tensor] { namedParameters().map(\.1) }

    /// Switches training mode (dropout, batch statistics) for this module and its children.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, c) in children { c.train(on) }
    }

    public func eval() { train(false) }

    /// Stops (or restarts) gradients to every parameter.
    public func freeze(_ frozen: Bool = true) {
        for p in parameters { p.requiresGrad = !frozen }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Parameters, buffers and counters as a safetensors file (names as PyTorch's state_dict).
    public func stateFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata)
        for (n, t) in namedParameters() + namedBuffers() { file.set(n, t) }
        for (n, v) in namedCounters() { file.set(n, int64: [v], shape: []) }
        return file
    }

    /// Copies every parameter and buffer value from `other` (same architecture): the deep copy
    /// behind momentum encoders.
    public func copyState(from other: Module) {
        let mine = namedParameters() + namedBuffers(), theirs = other.namedParameters() + other.namedBuffers()
        precondition(mine.map(\.0) == theirs.map(\.0), "copyState: the modules have different parameters")
        for ((_, a), (_, b)) in zip(mine, theirs) {
            precondition(a.shape == b.shape, "copyState: shapes \(a.shape) and \(b.shape) differ")
            let values = b.data
            a.update { $0 = values }
        }
    }

    /// Loads a state. Reports missing, unexpected and mis-shaped tensors by name; with `strict`
    /// any of them is an error and nothing is changed.
    @discardableResult
    public func load(_ file: SafeTensorsFile, strict: Bool = true, path: String = "(state)") throws -> LoadReport {
        var report = LoadReport()
        let expected = namedParameters() + namedBuffers()
        let counters = Dictionary(uniqueKeysWithValues: namedCounters().map { ($0.0, $0.1) })
        let known = Set(expected.map(\.0)).union(counters.keys)
        report.unexpected = file.entries.keys.filter { !known.contains($0) }.sorted()
        var loadable: [(String, Tensor)] = []
        for (name, t) in expected {
            guard let stored = file.entries[name] else { report.missing.append(name); continue }
            if stored.shape != t.shape {
                report.misshaped.append("\(name): file \(stored.shape), model \(t.shape)")
            } else {
                loadable.append((name, t))
            }
        }
        for name in counters.keys.sorted() where file.entries[name] == nil { report.missing.append(name) }
        if strict && !report.isClean { throw LoadError(path: path, report: report) }
        for (name, t) in loadable {
            guard let values = file.tensor(name)?.data else { continue }
            t.update { $0 = values }
        }
        applyCounters(file, prefix: "")
        return report
    }

    private func applyCounters(_ file: SafeTensorsFile, prefix: String) {
        for (name, _) in localCounters {
            if let v = file.tensor(prefix + name)?.data.first { setCounter(name, Int64(v)) }
        }
        for (n, c) in children { c.applyCounters(file, prefix: prefix + n + ".") }
    }
}

/// What loading a state found.
public struct LoadReport: CustomStringConvertible, Sendable {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var misshaped: [String] = []
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { parts.append("unexpected: " + unexpected.joined(separator: ", ")) }
        if !misshaped.isEmpty { parts.append("mis-shaped: " + misshaped.joined(separator: "; ")) }
        return parts.isEmpty ? "all tensors matched" : parts.joined(separator: "; ")
    }
}

public struct LoadError: Error, CustomStringConvertible {
    public var path: String
    public var report: LoadReport
    public var description: String { "\(path): the state does not fit the model (\(report))" }
}
