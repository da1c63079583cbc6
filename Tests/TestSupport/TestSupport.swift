import Foundation

/// The result of running a command.
public struct ProcessResult {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `arguments[0]` (looked up on PATH) with the rest as arguments; collects its output.
@discardableResult
public func run(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a full stderr pipe cannot block the child.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
}

/// The folder that holds this test process's temporary folders: removed when the process
/// exits (kept when `CONCORD_KEEP_TEST_FILES` is set, for inspection); the folders of earlier
/// test processes that are gone (a crash, a kill) are removed when the next one starts.
private let testRoot: String = {
    let temporary = NSTemporaryDirectory()
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix("concord-tests-") {
        guard let pid = Int32(name.dropFirst("concord-tests-".count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
        try? FileManager.default.removeItem(atPath: temporary + name)
    }
    let root = temporary + "concord-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    if ProcessInfo.processInfo.environment["CONCORD_KEEP_TEST_FILES"] == nil {
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "concord-tests-\(getpid())") }
    }
    return root
}()

/// A fresh temporary folder inside this test process's folder (removed at exit).
public func makeTemporaryDirectory(_ prefix: String = "concord-test") -> String {
    let path = testRoot + "/\(prefix)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The repository's top folder (found from this source file's location).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The path of the built `concord` executable beside the test bundle.
public func concordExecutable() -> String {
    var candidates: [String] = []
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = testBinary.deletingLastPathComponent()
    for _ in 0..<4 {
        candidates.append(dir.appendingPathComponent("concord").path)
        dir.deleteLastPathComponent()
    }
    candidates.append(repositoryRoot + "/.build/debug/concord")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
}

/// Runs the `concord` executable.
@discardableResult
public func runConcord(_ arguments: [String]) throws -> ProcessResult {
    try run([concordExecutable()] + arguments)
}

/// Mean absolute difference of two byte arrays of equal length.
public func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "meanAbsoluteDifference: \(a.count) vs \(b.count) bytes")
    var total = 0
    for i in a.indices { total += abs(Int(a[i]) - Int(b[i])) }
    return a.isEmpty ? 0 : Double(total) / Double(a.count)
}

/// Largest absolute difference of two float arrays over their common prefix.
public func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    var m: Float = 0
    for i in 0..<min(a.count, b.count) { m = max(m, abs(a[i] - b[i])) }
    return m
}
