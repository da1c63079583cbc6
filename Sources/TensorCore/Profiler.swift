import Foundation

/// Where a training step's time goes, by operation family (`--profile`), as torch.profiler's
/// table does.
///
/// One clock runs on the thread that started the profile: `charge(family)` adds the time
/// since the previous charge to `family`. Every operation's forward charges its family (the
/// primitive's file: `Convolution`, `Matmul`, `Normalization`, …) when it makes its result, so
/// the forward time between two results goes to the second; each backward closure is charged
/// to the family of the operation it belongs to (operations it runs inside are not charged
/// separately); the tape walk, gradient accumulation, zeroing gradients and the optimizer are
/// charged by their callers. Nothing is recorded on other threads (data loaders), and when no
/// profile runs each charge is one branch.
public enum Profiler {
    /// One family's figures.
    public struct Entry: Sendable, Codable {
        public var family: String
        public var seconds: Double
        public var calls: Int
    }

    final class State: @unchecked Sendable {
        let owner: pthread_t
        var last: UInt64
        var seconds: [String: Double] = [:]
        var calls: [String: Int] = [:]
        var suppressed = 0
        /// Parts (name, weight) to split the enclosing `whole` by, set from inside it.
        var split: [(String, Double)]?
        init(owner: pthread_t) {
            self.owner = owner
            self.last = DispatchTime.now().uptimeNanoseconds
        }
    }

    nonisolated(unsafe) static var state: State?

    /// Whether a profile is running (on any thread).
    public static var isRunning: Bool { state != nil }

    /// Starts a profile on the calling thread (forgetting any earlier one).
    public static func start() { state = State(owner: pthread_self()) }

    /// Stops the profile and returns its families, most time first.
    @discardableResult
    public static func stop() -> [Entry] {
        guard let s = state else { return [] }
        state = nil
        return s.seconds.map { Entry(family: $0.key, seconds: $0.value, calls: s.calls[$0.key] ?? 0) }
            .sorted { $0.seconds > $1.seconds }
    }

    /// Restarts the clock without charging anyone (time outside the steps: making inputs, logging).
    public static func skip() {
        guard let s = state, pthread_equal(s.owner, pthread_self()) != 0 else { return }
        s.last = DispatchTime.now().uptimeNanoseconds
    }

    /// Adds the time since the previous charge to `family`.
    @inline(__always)
    public static func charge(_ family: String) {
        guard let s = state else { return }
        chargeSlow(s, family)
    }

    static func chargeSlow(_ s: State, _ family: String) {
        guard s.suppressed == 0, pthread_equal(s.owner, pthread_self()) != 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        s.seconds[family, default: 0] += Double(now &- s.last) / 1e9
        s.calls[family, default: 0] += 1
        s.last = now
    }

    /// Runs `body` (a backward closure) and charges all of its time to `family`: the operations
    /// it runs inside are not charged on their own.
    public static func whole<T>(_ family: String, _ body: () -> T) -> T {
        guard let s = state, pthread_equal(s.owner, pthread_self()) != 0 else { return body() }
        s.suppressed += 1
        let value = body()
        s.suppressed -= 1
        if let parts = s.split, s.suppressed == 0 {
            s.split = nil
            // The family's base ("PerSampleConvolution" of "PerSampleConvolution backward") and each part.
            let suffix = " backward"
            let base = family.hasSuffix(suffix) ? String(family.dropLast(suffix.count)) : family
            let now = DispatchTime.now().uptimeNanoseconds
            let elapsed = Double(now &- s.last) / 1e9, total = parts.reduce(0) { $0 + $1.1 }
            for (name, weight) in parts {
                let key = base + " " + name
                s.seconds[key, default: 0] += total > 0 ? elapsed * weight / total : elapsed / Double(parts.count)
                s.calls[key, default: 0] += 1
            }
            s.last = now
        } else {
            chargeSlow(s, family)
        }
        return value
    }

    /// Splits the time of the enclosing `whole` (a backward closure) between named parts in
    /// proportion to `weights` (say, the seconds its threads spent in each), instead of charging
    /// it to one family: `splitEnclosing([("backward-weight", 0.3), ("backward-data", 0.5)])`.
    public static func splitEnclosing(_ parts: [(String, Double)]) {
        guard let s = state, pthread_equal(s.owner, pthread_self()) != 0 else { return }
        s.split = parts
    }

    /// Nanoseconds on a monotonic clock, for timing parts inside a profiled operation.
    @inline(__always)
    public static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Whether the table names each operation (its primitive's function) rather than its family
    /// (`--profile-ops`).
    nonisolated(unsafe) public static var byOperation = false

    /// A family name from an operation's `#fileID` ("TensorCore/Convolution.swift" → "Convolution"),
    /// with the function that made the result when `byOperation` ("Elementwise.gelu()").
    static func family(fileID: String, function: String) -> String {
        let file = fileID.split(separator: "/").last.map(String.init) ?? fileID
        let base = file.hasSuffix(".swift") ? String(file.dropLast(6)) : file
        return byOperation && !function.isEmpty ? base + "." + function : base
    }

    /// The table: family, ms per step, share, calls per step.
    public static func table(_ entries: [Entry], steps: Int) -> String {
        let total = entries.reduce(0) { $0 + $1.seconds }
        let n = Double(max(1, steps))
        let width = max(24, (entries.map(\.family.count).max() ?? 0) + 2)
        var lines = ["family".padding(toLength: width, withPad: " ", startingAt: 0) + "   ms/step    share  calls/step"]
        for e in entries {
            lines.append(e.family.padding(toLength: width, withPad: " ", startingAt: 0)
                         + String(format: "%10.1f  %6.1f %%  %10.1f", 1000 * e.seconds / n, 100 * e.seconds / max(total, 1e-12), Double(e.calls) / n))
        }
        lines.append("total".padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "%10.1f  %6.1f %%", 1000 * total / n, 100.0))
        return lines.joined(separator: "\n")
    }
}
