import Foundation

/// A progress line on standard error: items done, rate and time left. Redrawn in place on a
/// terminal; on a pipe or file, a line at most every few seconds and one at the end.
final class ProgressLine {
    let label: String
    let total: Int
    let unit: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(_ label: String, total: Int, unit: String = "items") {
        self.label = label
        self.total = total
        self.unit = unit
    }

    func update(_ done: Int) {
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastPrint) > (isTerminal ? 0.2 : 5) else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        // NOTE: a rate over less than half a second says little while the work goes on; it is
        // left out then, but the final line always has the rate of the whole.
        let rateText = elapsed >= 0.5 || (finished && rate > 0) ? String(format: "%.2f", rate) + " \(unit)/s  " : ""
        let line = "\(label) \(done)/\(total) \(unit)  " + rateText + (finished ? "done in " : "ETA ") + Self.clock(finished ? elapsed : eta)
        fflush(nil)  // what was printed before comes first when both streams go to one file
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (finished || !isTerminal ? "\n" : "")).utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Writes a line to standard error.
func note(_ text: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
