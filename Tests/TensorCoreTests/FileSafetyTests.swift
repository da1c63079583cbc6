import Foundation
import TensorCore
import Testing
import TestSupport

/// Atomic writes replace regular files only: a symlink is followed (the link stays, its target
/// gets the bytes), a pipe is written through; folder locks keep a second holder out.
@Suite struct FileSafetyTests {
    @Test func aSymlinkIsFollowedAndKept() throws {
        let folder = makeTemporaryDirectory("safety-link")
        let elsewhere = makeTemporaryDirectory("safety-target")
        try Data("old".utf8).write(to: URL(fileURLWithPath: elsewhere + "/real.bin"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.bin", withDestinationPath: elsewhere + "/real.bin")
        try writeAtomically(Data("new bytes".utf8), to: folder + "/link.bin")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/link.bin") == elsewhere + "/real.bin")
        #expect(try Data(contentsOf: URL(fileURLWithPath: elsewhere + "/real.bin")) == Data("new bytes".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["link.bin"], "no temporary left behind")
        // A relative link to a file not there yet: the file is made where the link points.
        try FileManager.default.createSymbolicLink(atPath: folder + "/dangling.bin", withDestinationPath: "made.bin")
        try writeAtomically(Data("made".utf8), to: folder + "/dangling.bin")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/made.bin")) == Data("made".utf8))
    }

    @Test func aPipeIsWrittenThroughNotReplaced() throws {
        let folder = makeTemporaryDirectory("safety-fifo")
        let fifo = folder + "/out.fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        let payload = Data((0..<300_000).map { UInt8($0 % 251) })
        let received = Received()
        let reader = Thread {
            // POSIX reads: open blocks until the writer opens, read returns 0 when it closes.
            let fd = open(fifo, O_RDONLY)
            guard fd >= 0 else { received.data = Data(); return }
            defer { close(fd) }
            var all = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                all.append(contentsOf: buffer[0..<n])
            }
            received.data = all
        }
        reader.start()
        try writeAtomically(payload, to: fifo)
        let deadline = Date().addingTimeInterval(10)
        while received.data == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(received.data == payload)
        var s = stat()
        #expect(stat(fifo, &s) == 0 && (s.st_mode & S_IFMT) == S_IFIFO, "still a pipe")
    }

    @Test func aFailedWriteLeavesTheOldFileAndNoTemporary() throws {
        let folder = makeTemporaryDirectory("safety-fail")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: folder + "/a.bin"))
        // A folder where the temporary would go: the write fails, the old file stays.
        try FileManager.default.createDirectory(atPath: folder + "/a.bin.partial", withIntermediateDirectories: false)
        #expect(throws: ArrayFileError.self) { try writeAtomically(Data("lost?".utf8), to: folder + "/a.bin") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/a.bin")) == Data("keep".utf8))
    }

    @Test func aLockHasOneHolderAndALeftLockIsTakenOver() throws {
        let folder = makeTemporaryDirectory("safety-lock")
        let first = try FolderLock(folder: folder, purpose: "the first holder")
        #expect(first.tookOverFrom == nil)
        let text = try String(contentsOfFile: first.path, encoding: .utf8)
        #expect(text.hasPrefix("pid \(getpid()) on ") && text.contains("the first holder"), "\(text)")
        // flock belongs to the open file: a second open in this process is refused as well.
        #expect {
            _ = try FolderLock(folder: folder, purpose: "the second")
        } throws: { error in
            guard case .held(_, let holder, _) = error as? FolderLockError else { return false }
            return holder.contains("the first holder")
        }
        first.release()
        #expect(try String(contentsOfFile: first.path, encoding: .utf8).isEmpty)
        // What a process that died holding the lock leaves: the file with its holder, no flock.
        try "pid 999999 on elsewhere: concord train".write(toFile: first.path, atomically: false, encoding: .utf8)
        let second = try FolderLock(folder: folder, purpose: "the second")
        #expect(second.tookOverFrom == "pid 999999 on elsewhere: concord train")
        second.release()
    }
}

private final class Received: @unchecked Sendable {
    var data: Data?
}
