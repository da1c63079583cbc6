import CBLAS
import Foundation

/// The process-wide thread budget (`--threads`), shared by OpenBLAS and Concord's own loops.
public enum Threads {
    nonisolated(unsafe) private static var configured: Int = 0

    /// The number of threads Concord uses: the configured count, or every core.
    public static var count: Int {
        configured > 0 ? configured : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Sets the budget for the whole process (OpenBLAS included).
    public static func configure(_ n: Int) {
        configured = max(1, n)
        openblas_set_num_threads(Int32(configured))
    }
}
