import Foundation

/// Runs a peer (a Python script) with its thread count pinned through the usual environment
/// variables; returns its standard output, or nil when it fails (the peer is then left out,
/// and the last lines of its error output are printed, so that a missing module is seen).
public func runPeer(_ executable: String, _ arguments: [String], threads: Int, directory: String? = nil) throws -> Data? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var environment = ProcessInfo.processInfo.environment
    for key in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"] { environment[key] = String(threads) }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    // Error output goes to a file (a pipe left unread could fill and stall the peer).
    let errorPath = NSTemporaryDirectory() + "concord-peer-\(UUID().uuidString.prefix(8)).err"
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    process.standardError = FileHandle(forWritingAtPath: errorPath)
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        let tail = errors.split(separator: "\n").suffix(3).joined(separator: "\n    ")
        FileHandle.standardError.write(Data("concord bench: the peer \(executable) \(arguments.first ?? "") failed (exit status \(process.terminationStatus)); it is left out:\n    \(tail)\n".utf8))
        return nil
    }
    return data
}
