import Foundation
import TensorCore

/// One benchmark's figures: the median of repeated runs, and the peer's on the same work.
public struct BenchmarkResult: Codable, Sendable {
    public var workload: String
    /// Median over the repetitions, in `unit`.
    public var value: Double
    public var unit: String
    public var threads: Int
    public var peakRSSMB: Double
    public var repetitions: [Double]
    public var peer: String?
    public var peerValue: Double?
    /// Peer's figure divided by ours (above 1: Concord is faster), for time units.
    public var speedup: Double?
    public var detail: [String: String]
    /// Work of one forward + backward (layer benchmarks).
    public var gflop: Double?
    /// sgemm's rate on the same matrix shapes (layer benchmarks).
    public var sgemmGflops: Double?
    /// Resident-memory growth over the repetitions, MB.
    public var rssGrowthMB: Double?
    /// The peer's peak resident memory, MB (step workloads).
    public var peerPeakRSSMB: Double?
    /// Time per operation family over the timed steps (`--profile`).
    public var profile: [Profiler.Entry]?
    /// The OpenBLAS kernel set the figure was measured with (`openblas_get_corename()`).
    public var blasCore: String = BLASKernels.current

    public init(workload: String, value: Double, unit: String, threads: Int, peakRSSMB: Double, repetitions: [Double],
                detail: [String: String] = [:]) {
        self.workload = workload
        self.value = value
        self.unit = unit
        self.threads = threads
        self.peakRSSMB = peakRSSMB
        self.repetitions = repetitions
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case workload, value, unit, threads, repetitions, peer, detail, speedup, gflop, profile
        case sgemmGflops = "sgemm_gflops"
        case rssGrowthMB = "rss_growth_mb"
        case peakRSSMB = "peak_rss_mb"
        case peerValue = "peer_value"
        case blasCore = "blas_core"
        case peerPeakRSSMB = "peer_peak_rss_mb"
    }
}

/// Peak resident memory of this process so far, in MB.
public func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Runs `body` `count` times; returns each run's wall time in seconds.
public func timeRepeated(_ count: Int, _ body: () throws -> Void) rethrows -> [Double] {
    var times: [Double] = []
    for _ in 0..<count {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times
}

public func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
