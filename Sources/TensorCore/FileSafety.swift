import Foundation

#if canImport(Glibc)
import Glibc
#endif

// Safe writes: every file Concord writes goes to a temporary beside it and is renamed into
// place, so a reader never sees half a file and a stop keeps the previous one. Only a regular
// file (or a new one) is replaced that way: a symlink is followed and its target replaced, and
// a device or a pipe (`--out /dev/stdout`) is written through, never swapped for a file.

/// Writes `data` to `path` through a temporary file and a rename (`temporaryPath(for:)`,
/// `replaceItem(at:with:)`), so a reader never sees half a file.
public func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = temporaryPath(for: path)
    do {
        try data.write(to: URL(fileURLWithPath: temporary))
    } catch {
        try? FileManager.default.removeItem(atPath: temporary)
        throw ArrayFileError.writeFailed(path, reason: error.localizedDescription)
    }
    try replaceItem(at: path, with: temporary)
}

/// Where to write what will become `path`: `path.partial`, beside the file that `path` names
/// after following symlinks (so the rename stays on one file system), or a file in the
/// temporary folder when `path` is a device, a pipe or a socket (written through later).
public func temporaryPath(for path: String) -> String {
    let target = resolvedTarget(path)
    if isSpecialFile(target) {
        return (NSTemporaryDirectory() as NSString).appendingPathComponent("concord-\(getpid())-\(UUID().uuidString.prefix(8)).partial")
    }
    return target + ".partial"
}

/// Moves `temporary` onto `path`: a rename onto the regular file `path` names (after
/// symlinks; atomic on one file system, a copy and a rename across two); a device or a pipe
/// is written through. `temporary` is gone afterwards either way.
public func replaceItem(at path: String, with temporary: String) throws {
    defer { try? FileManager.default.removeItem(atPath: temporary) }
    let target = resolvedTarget(path)
    if isSpecialFile(target) {
        try copyContents(of: temporary, into: target, truncate: false, reportAs: path)
        return
    }
    if rename(temporary, target) == 0 { return }
    guard errno == EXDEV else { throw ArrayFileError.writeFailed(path, reason: String(cString: strerror(errno))) }
    // The temporary is on another file system than the target: copy beside it, then rename.
    let beside = target + ".partial"
    try copyContents(of: temporary, into: beside, truncate: true, reportAs: path)
    if rename(beside, target) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: beside)
        throw ArrayFileError.writeFailed(path, reason: reason)
    }
}

/// `path` with its symlinks followed (the path itself when it does not exist yet, or the
/// link's own target when that does not exist yet), at most 32 links deep.
func resolvedTarget(_ path: String) -> String {
    var current = path
    for _ in 0..<32 {
        guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
        current = destination.hasPrefix("/") ? destination
            : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(destination)
    }
    return current
}

/// Whether `path` exists and is neither a regular file nor a folder (a device, a pipe, a socket).
func isSpecialFile(_ path: String) -> Bool {
    var s = stat()
    guard stat(path, &s) == 0 else { return false }
    let type = s.st_mode & S_IFMT
    return type != S_IFREG && type != S_IFDIR
}

/// Copies the bytes of `source` into `destination` (created when missing).
private func copyContents(of source: String, into destination: String, truncate: Bool, reportAs path: String) throws {
    func failure(_ what: String) -> ArrayFileError { .writeFailed(path, reason: "\(what): \(String(cString: strerror(errno)))") }
    let input = open(source, O_RDONLY)
    guard input >= 0 else { throw failure("reading the temporary file") }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0o644)
    guard output >= 0 else { throw failure("opening") }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if n < 0 { close(output); throw failure("reading the temporary file") }
        if n == 0 { break }
        var done = 0
        while done < n {
            let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + done, n - done) }
            if w < 0 { close(output); throw failure("writing") }
            done += w
        }
    }
    if truncate && fsync(output) != 0 { close(output); throw failure("syncing") }
    if close(output) != 0 { throw failure("closing") }
}

// MARK: - Folder locks

/// A lock on a folder Concord writes (a training run, a clip cache, an index): the file
/// `FOLDER/.concord.lock`, held with `flock` while the process runs and holding the holder's
/// pid, host and command. A second writer is refused with the holder named; the kernel frees
/// the lock when its process dies, so a lock left by a dead process is taken over (and said).
///
/// NOTE: `flock` is advisory and per open file; on network file systems that do not carry it
/// across hosts the pid and host in the file are what is left to go by.
public final class FolderLock {
    public let path: String
    /// The holder before this one, when it had died without releasing (pid, host, command).
    public let tookOverFrom: String?
    private var descriptor: Int32

    /// Takes the lock of `folder` (created when missing) for `purpose` (a verb phrase such as
    /// "training into it"), or throws `FolderLockError.held` naming the holder.
    public init(folder: String, purpose: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = (folder as NSString).appendingPathComponent(".concord.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FolderLockError.unusable(path, String(cString: strerror(errno))) }
        let previous = Self.contents(fd)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno == EWOULDBLOCK ? nil : String(cString: strerror(errno))
            close(fd)
            if let reason { throw FolderLockError.unusable(path, reason) }
            throw FolderLockError.held(folder: folder, holder: previous.isEmpty ? "another process" : previous, lockFile: path)
        }
        descriptor = fd
        tookOverFrom = previous.isEmpty ? nil : previous
        let me = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName): \(purpose) (since \(ISO8601DateFormatter().string(from: Date())))"
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Empties the lock file and releases the lock (also done when the process ends).
    public func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    private static func contents(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 512)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public enum FolderLockError: Error, CustomStringConvertible, Equatable {
    case held(folder: String, holder: String, lockFile: String)
    case unusable(String, String)

    public var description: String {
        switch self {
        case .held(let folder, let holder, let lockFile):
            "\(folder): in use by \(holder); wait for it to finish or stop it (if that process is gone on another host, delete \(lockFile))"
        case .unusable(let path, let reason): "\(path): cannot lock: \(reason)"
        }
    }
}
