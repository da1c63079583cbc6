import CFuzzer
import Foundation
import FuzzTargets

/// `concord-fuzz TARGET [INPUT…]`: built by `fuzz/run.sh` with `-sanitize=fuzzer,address
/// -D FUZZING`, it is libFuzzer on one of `FuzzTarget`'s parsers (the arguments after TARGET
/// are libFuzzer's: corpus folders, `-max_total_time=S`, …). Built as usual, it replays
/// saved inputs (files or folders) through the target, to reproduce a finding.
@main struct ConcordFuzz {
    nonisolated(unsafe) static var target = FuzzTarget.srt

    static func main() throws {
        var arguments = CommandLine.arguments
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
            FileHandle.standardError.write(Data("usage: concord-fuzz TARGET [INPUT…]; targets: \(names)\n".utf8))
            exit(2)
        }
        Self.target = target
        arguments.remove(at: 1)
        #if FUZZING
        var argc = Int32(arguments.count)
        var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                ConcordFuzz.target.run(size == 0 ? Data() : Data(bytes: data!, count: size))
                return 0
            }
        }
        exit(status)
        #else
        let count = try target.replay(Array(arguments.dropFirst()))
        print("\(target.rawValue): \(count) input(s) replayed, no crash")
        #endif
    }
}
