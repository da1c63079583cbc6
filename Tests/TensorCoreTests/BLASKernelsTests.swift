import Foundation
import TensorCore
import TestSupport
import Testing

/// The choice of OpenBLAS kernel set: the pure mapping from a CPU's features to a kernel set,
/// on the `/proc/cpuinfo` of real CPUs (Fixtures/cpuinfo, sources in its README), and the
/// kernels this test process runs.
@Suite struct BLASKernelsTests {
    /// The x86-64 kernel sets of Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH), as `available` finds them.
    static let debian12: Set<String> = ["Cooperlake", "SkylakeX", "Zen", "Haswell", "Sandybridge", "Nehalem", "Core2", "Prescott"]

    func cpu(_ name: String) throws -> CPUInfo {
        let text = try String(contentsOfFile: repositoryRoot + "/Tests/TensorCoreTests/Fixtures/cpuinfo/\(name).txt", encoding: .utf8)
        return try #require(CPUInfo(cpuinfo: text), "\(name).txt lists no processor")
    }

    @Test func parsesVendorFamilyModelAndFlags() throws {
        let emerald = try cpu("emerald-rapids")
        #expect(emerald.vendor == "GenuineIntel" && emerald.family == 6 && emerald.model == 207 && emerald.processors == 2)
        #expect(emerald.flags.isSuperset(of: ["avx512f", "avx512_bf16", "amx_tile"]))
        let zen4 = try cpu("zen4")
        #expect(zen4.vendor == "AuthenticAMD" && zen4.family == 25 && zen4.model == 17 && zen4.modelName == "AMD EPYC")
        // A block pasted with spaces instead of tabs, whose first processor is number 2.
        let sapphire = try cpu("sapphire-rapids")
        #expect(sapphire.model == 143 && sapphire.modelName == "Intel(R) Xeon(R) Platinum 8480+" && sapphire.processors == 1)
        let graviton = try cpu("graviton")
        #expect(!graviton.isX86 && graviton.flags.contains("asimd") && graviton.vendor == "")
        #expect(try cpu("nehalem-or-core2").vectorFeatures == ["sse3", "ssse3", "sse4_2"])
        #expect(CPUInfo(cpuinfo: "") == nil && CPUInfo(cpuinfo: "garbage\nmore: text\n") == nil)
    }

    @Test(arguments: [
        ("emerald-rapids", "Cooperlake"), ("sapphire-rapids", "Cooperlake"), ("cooper-lake", "Cooperlake"),
        ("cascade-lake", "SkylakeX"), ("haswell", "Haswell"), ("zen4", "Cooperlake"), ("zen3", "Zen"), ("zen2", "Zen"),
        ("nehalem-or-core2", "Nehalem"),
    ])
    func bestKernelSetOfDebian12sLibrary(fixture: String, expected: String) throws {
        #expect(BLASKernels.best(for: try cpu(fixture), available: Self.debian12)?.name == expected)
    }

    @Test func newerLibrariesAndSmallerBuildsChangeTheChoice() throws {
        // OpenBLAS 0.3.22 and later have a Sapphire Rapids kernel set: the AMX CPUs take it, Cooper Lake does not.
        let newer = Self.debian12.union(["SapphireRapids"])
        #expect(BLASKernels.best(for: try cpu("emerald-rapids"), available: newer)?.name == "SapphireRapids")
        #expect(BLASKernels.best(for: try cpu("sapphire-rapids"), available: newer)?.name == "SapphireRapids")
        #expect(BLASKernels.best(for: try cpu("cooper-lake"), available: newer)?.name == "Cooperlake")
        // A build without the AVX-512 sets: the best AVX2 one; an AMD CPU takes Zen, an Intel one Haswell.
        let noAVX512 = Self.debian12.subtracting(["Cooperlake", "SkylakeX"])
        #expect(BLASKernels.best(for: try cpu("emerald-rapids"), available: noAVX512)?.name == "Haswell")
        #expect(BLASKernels.best(for: try cpu("zen4"), available: noAVX512)?.name == "Zen")
        #expect(BLASKernels.best(for: try cpu("zen4"), available: noAVX512.subtracting(["Zen"]))?.name == "Haswell")
        #expect(BLASKernels.best(for: try cpu("graviton"), available: Self.debian12) == nil)
        #expect(BLASKernels.best(for: try cpu("haswell"), available: []) == nil)
    }

    @Test func decidesToSwitchOnlyFromALowerTier() throws {
        let emerald = try cpu("emerald-rapids")
        // The case found on Emerald Rapids: OpenBLAS 0.3.21 does not know model 207 and runs Prescott.
        #expect(BLASKernels.decide(cpu: emerald, current: "Prescott", available: Self.debian12, userValue: nil)
                == .switchTo("Cooperlake", from: "Prescott"))
        #expect(BLASKernels.decide(cpu: emerald, current: "Haswell", available: Self.debian12, userValue: nil)
                == .switchTo("Cooperlake", from: "Haswell"))
        #expect(BLASKernels.decide(cpu: emerald, current: "Cooperlake", available: Self.debian12, userValue: nil) == .keep("Cooperlake"))
        // Same tier, other tuning (OpenBLAS's own pick on an AMD AVX2 CPU): kept, never a pointless re-execution.
        #expect(BLASKernels.decide(cpu: try cpu("zen3"), current: "Haswell", available: Self.debian12, userValue: nil) == .keep("Haswell"))
        #expect(BLASKernels.decide(cpu: try cpu("zen4"), current: "Cooperlake", available: Self.debian12, userValue: nil) == .keep("Cooperlake"))
        // An old CPU on its own generic kernels: nothing better exists.
        #expect(BLASKernels.decide(cpu: try cpu("nehalem-or-core2"), current: "Nehalem", available: Self.debian12, userValue: nil) == .keep("Nehalem"))
        // The user's value always wins; no decision without x86-64, DYNAMIC_ARCH, a known core or CPU facts.
        #expect(BLASKernels.decide(cpu: emerald, current: "Prescott", available: Self.debian12, userValue: "Haswell") == .userSet("Haswell"))
        guard case .undecided = BLASKernels.decide(cpu: try cpu("graviton"), current: "NEOVERSEV1", available: [], userValue: nil),
              case .undecided = BLASKernels.decide(cpu: emerald, current: "Prescott", available: [], userValue: nil),
              case .undecided = BLASKernels.decide(cpu: emerald, current: "Mystery", available: Self.debian12, userValue: nil),
              case .undecided = BLASKernels.decide(cpu: nil, current: "Prescott", available: Self.debian12, userValue: nil)
        else { Issue.record("expected no decision"); return }
    }

    @Test func reexecutesOnceAndNeverOverTheUsersValue() {
        let decision = BLASKernels.Decision.switchTo("Cooperlake", from: "Prescott")
        #expect(BLASKernels.reexecution(environment: [:], decision: decision)
                == ["OPENBLAS_CORETYPE": "Cooperlake", BLASKernels.fallbackVariable: "Prescott"])
        #expect(BLASKernels.reexecution(environment: ["OPENBLAS_CORETYPE": ""], decision: decision) != nil)
        #expect(BLASKernels.reexecution(environment: [BLASKernels.fallbackVariable: "Prescott"], decision: decision) == nil)
        #expect(BLASKernels.reexecution(environment: ["OPENBLAS_CORETYPE": "Haswell"], decision: decision) == nil)
        #expect(BLASKernels.reexecution(environment: [:], decision: .keep("Cooperlake")) == nil)
    }

    /// The test suite runs on the kernels the concord command would run: a test process cannot
    /// re-execute itself, so the README's test command sets OPENBLAS_CORETYPE from `concord env --blas-core`.
    @Test func thisProcessRunsTheBestKernelSetAvailable() throws {
        guard let here = CPUInfo.current(), let best = BLASKernels.best(for: here, available: BLASKernels.available) else { return }
        let tier = try #require(BLASKernels.tier(of: BLASKernels.current), "unknown core \(BLASKernels.current)")
        #expect(tier >= best.tier, """
            OpenBLAS runs \(BLASKernels.current) but this CPU and library allow \(best.name): run the tests as the README says \
            (swift build -c release --build-tests && OPENBLAS_CORETYPE=$(.build/release/concord env --blas-core) swift test -c release --skip-build)
            """)
    }
}
