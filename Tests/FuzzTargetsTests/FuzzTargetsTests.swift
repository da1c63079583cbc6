import Foundation
import FuzzTargets
import TestSupport
import Testing

/// The fuzz targets' saved inputs (fuzz/seeds: the starting corpora; fuzz/regressions: inputs
/// that once crashed a parser) replay without a crash. A crash here ends the test process,
/// which fails the run.
@Suite struct FuzzTargetsTests {
    @Test(arguments: FuzzTarget.allCases)
    func savedInputsReplayWithoutACrash(target: FuzzTarget) throws {
        let seeds = repositoryRoot + "/fuzz/seeds/" + target.rawValue
        #expect(try target.replay([seeds]) >= 1, "every target has a seed corpus")
        let regressions = repositoryRoot + "/fuzz/regressions/" + target.rawValue
        if FileManager.default.fileExists(atPath: regressions) { _ = try target.replay([regressions]) }
    }

    /// Every target survives the inputs a fuzzer tries first: nothing, one byte, garbage.
    @Test(arguments: FuzzTarget.allCases)
    func emptyAndGarbageInputs(target: FuzzTarget) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // xorshift: the same garbage every run
        func byte() -> UInt8 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return UInt8(truncatingIfNeeded: state) }
        target.run(Data())
        target.run(Data([0]))
        for length in [7, 64, 4096] { target.run(Data((0..<length).map { _ in byte() })) }
    }
}
