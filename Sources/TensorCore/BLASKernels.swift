import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which of OpenBLAS's kernel sets runs, and which should.
///
/// A DYNAMIC_ARCH OpenBLAS (Debian's) carries kernels for many CPUs and picks one when it is
/// loaded, from CPUID's family and model. A CPU newer than the library (Debian 12's 0.3.21 on
/// Sapphire or Emerald Rapids) is not in its tables and gets the generic SSE3 "Prescott"
/// kernels: sgemm then runs at a fifth of its speed, silently. The library reads
/// `OPENBLAS_CORETYPE` only while it loads, so the fix is to set it and re-execute the process:
/// `selectAtStartup()` does that when the kernel set in use is of a lower tier (older
/// instruction sets) than the best one that both the library has and the CPU can run.
public enum BLASKernels {
    /// One of OpenBLAS's x86-64 kernel sets.
    public struct KernelSet: Sendable, Equatable {
        /// The name `OPENBLAS_CORETYPE` takes and `openblas_get_corename()` returns.
        public var name: String
        /// Instruction-set tier: 0 SSE, 1 AVX, 2 AVX2 + FMA, 3 AVX-512, 4 AVX-512 BF16, 5 AMX.
        public var tier: Int
        /// `/proc/cpuinfo` flags the kernels execute.
        public var requires: Set<String>
        /// CPU vendors the set is tuned for (empty: any); among sets of one tier it is preferred on them.
        public var tunedFor: Set<String>
    }

    /// The x86-64 kernel sets a choice is made among, best first. A set is chosen only where the
    /// CPU has every flag it requires and the library was built with it.
    public static let candidates: [KernelSet] = [
        KernelSet(name: "SapphireRapids", tier: 5,
                  requires: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16"],
                  tunedFor: []),
        KernelSet(name: "Cooperlake", tier: 4, requires: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"], tunedFor: []),
        KernelSet(name: "SkylakeX", tier: 3, requires: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"], tunedFor: []),
        KernelSet(name: "Zen", tier: 2, requires: ["avx2", "fma"], tunedFor: ["AuthenticAMD", "HygonGenuine"]),
        KernelSet(name: "Haswell", tier: 2, requires: ["avx2", "fma"], tunedFor: []),
        KernelSet(name: "Sandybridge", tier: 1, requires: ["avx"], tunedFor: []),
        KernelSet(name: "Nehalem", tier: 0, requires: ["sse4_2"], tunedFor: []),
        KernelSet(name: "Core2", tier: 0, requires: ["ssse3"], tunedFor: []),
        KernelSet(name: "Prescott", tier: 0, requires: ["pni"], tunedFor: []),
    ]

    /// Tiers of every x86-64 core name OpenBLAS may report (its `corename[]` table), so that the
    /// set in use can be ranked even where it is not a candidate.
    static let tiers: [String: Int] = {
        var t: [String: Int] = [:]
        for name in ["Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn", "Dunnington", "Nehalem",
                     "Athlon", "Opteron", "OpteronSSE3", "Barcelona", "Nano", "Bobcat", "Generic", "Unknown"] { t[name.lowercased()] = 0 }
        for name in ["Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"] { t[name.lowercased()] = 1 }
        for set in candidates { t[set.name.lowercased()] = set.tier }
        return t
    }()

    /// The tier of a core name (case-insensitive), nil for a name outside OpenBLAS's x86-64 table.
    public static func tier(of coreName: String) -> Int? { tiers[coreName.lowercased()] }

    /// The best kernel set for `cpu` among those the library `available` has (names as
    /// `candidates`): the highest tier whose instructions the CPU has, and among one tier the
    /// set tuned for the CPU's vendor. Nil for a CPU that is not x86-64 or when none fits.
    public static func best(for cpu: CPUInfo, available: Set<String>) -> KernelSet? {
        guard cpu.isX86 else { return nil }
        let fitting = candidates.filter { available.contains($0.name) && $0.requires.isSubset(of: cpu.flags) }
        guard let top = fitting.map(\.tier).max() else { return nil }
        let sameTier = fitting.filter { $0.tier == top }
        return sameTier.first { $0.tunedFor.contains(cpu.vendor) } ?? sameTier.first { $0.tunedFor.isEmpty } ?? sameTier.first
    }

    /// What to do about the kernel set at start-up.
    public enum Decision: Equatable, Sendable {
        /// The user set `OPENBLAS_CORETYPE`: it is respected.
        case userSet(String)
        /// The set in use is as good as any this library and CPU allow.
        case keep(String)
        /// Re-execute with `OPENBLAS_CORETYPE` = `to`: the library fell back to `from`.
        case switchTo(String, from: String)
        /// Nothing can be said or done (not x86-64, a library without DYNAMIC_ARCH, an unknown core name).
        case undecided(String)
    }

    /// The decision for a process whose library runs `current`, has the kernel sets
    /// `available`, on `cpu`, with `userValue` the `OPENBLAS_CORETYPE` the user set (nil: unset).
    /// A pure function: no environment, no library.
    public static func decide(cpu: CPUInfo?, current: String, available: Set<String>, userValue: String?) -> Decision {
        if let userValue, !userValue.isEmpty { return .userSet(userValue) }
        guard let cpu else { return .undecided("the CPU's features are unknown (no /proc/cpuinfo)") }
        guard cpu.isX86 else { return .undecided("not an x86-64 CPU: OpenBLAS's own choice is kept") }
        guard !available.isEmpty else { return .undecided("this OpenBLAS is built for one CPU (no DYNAMIC_ARCH): its kernels cannot be changed") }
        guard let currentTier = tier(of: current) else { return .undecided("OpenBLAS reports an unknown core '\(current)'") }
        guard let best = best(for: cpu, available: available) else { return .keep(current) }
        return best.tier > currentTier ? .switchTo(best.name, from: current) : .keep(current)
    }
}

// MARK: - The library in this process

/// The address of `name` among the symbols of the libraries loaded into this process, or nil.
public func loadedSymbol(_ name: String) -> UnsafeMutableRawPointer? {
    let handle = dlopen(nil, RTLD_NOW)
    defer { if let handle { dlclose(handle) } }
    return dlsym(handle, name)
}

extension BLASKernels {
    /// Set in the re-executed process to the core OpenBLAS had picked by itself.
    public static let fallbackVariable = "CONCORD_BLAS_FALLBACK"

    /// The kernel set OpenBLAS runs in this process (`openblas_get_corename()`).
    public static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// OpenBLAS's build description (`openblas_get_config()`): version, DYNAMIC_ARCH, core, threads.
    public static var configuration: String { openblas_get_config().map { String(cString: $0) } ?? "unknown" }

    /// The library's version ("0.3.21"), read from its configuration.
    public static var version: String {
        let words = configuration.split(separator: " ")
        if let i = words.firstIndex(of: "OpenBLAS"), i + 1 < words.count { return String(words[i + 1]) }
        return "unknown"
    }

    /// The candidate kernel sets this library was built with: a DYNAMIC_ARCH OpenBLAS exports
    /// one `gotoblas_<NAME>` table per kernel set. Empty for a single-CPU build.
    public static var available: Set<String> {
        guard configuration.contains("DYNAMIC_ARCH") else { return [] }
        return Set(candidates.map(\.name).filter { loadedSymbol("gotoblas_" + $0.uppercased()) != nil })
    }

    /// The decision for this process, from its environment and library.
    public static func decideHere() -> Decision {
        decide(cpu: CPUInfo.current(), current: current, available: available,
               userValue: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }

    /// Re-executes this program with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to a
    /// kernel set of a lower tier than this CPU and library allow. Call first thing in `main`,
    /// before any other work (the process image is replaced; arguments are kept). Returns
    /// normally when nothing needs doing, after a re-execution, or when `execv` fails.
    public static func selectAtStartup() {
        guard let variables = reexecution(environment: ProcessInfo.processInfo.environment, decision: decideHere()),
              let name = variables["OPENBLAS_CORETYPE"], let from = variables[fallbackVariable] else { return }
        for (key, value) in variables { setenv(key, value, 1) }
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", argv)
        // Still here: the re-execution failed. Go on with the kernels that are loaded, saying so.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(fallbackVariable)
        FileHandle.standardError.write(Data("concord: warning: OpenBLAS runs its \(from) kernels; re-executing with OPENBLAS_CORETYPE=\(name) failed (errno \(errno)); set it by hand for full speed\n".utf8))
    }

    /// The variables to set for a re-execution, or nil when the process goes on as it is: it
    /// was re-executed already (never loop), the user set `OPENBLAS_CORETYPE` (never override),
    /// or `decision` is not a switch. `decision` is evaluated only when the environment leaves
    /// the choice open (it reads `/proc/cpuinfo` and the library's symbols).
    public static func reexecution(environment: [String: String], decision: @autoclosure () -> Decision) -> [String: String]? {
        guard environment[fallbackVariable] == nil, environment["OPENBLAS_CORETYPE"]?.isEmpty ?? true,
              case .switchTo(let name, let from) = decision() else { return nil }
        return ["OPENBLAS_CORETYPE": name, fallbackVariable: from]
    }

    /// The kernel set in use and why, in a sentence (for `concord env` and benchmarks).
    public static func explanation() -> String {
        let environment = ProcessInfo.processInfo.environment
        let running = current
        if let from = environment[fallbackVariable], let chosen = environment["OPENBLAS_CORETYPE"] {
            let took = running.lowercased() == chosen.lowercased()
            return took
                ? "\(running): chosen by Concord (OpenBLAS \(version) picked \(from) by itself, which this CPU outruns; re-executed with OPENBLAS_CORETYPE=\(chosen))"
                : "\(running): Concord asked for \(chosen) (OpenBLAS had picked \(from)) but the library did not take it"
        }
        switch decideHere() {
        case .userSet(let value):
            let took = running.lowercased() == value.lowercased()
            guard took else { return "\(running): OPENBLAS_CORETYPE=\(value) is set but OpenBLAS did not take it (not a kernel set of this build?)" }
            let best = CPUInfo.current().flatMap { Self.best(for: $0, available: available) }
            let slower = best.map { $0.tier > (tier(of: running) ?? .max) } ?? false
            return "\(running): set by the user (OPENBLAS_CORETYPE=\(value))" + (slower ? "; \(best?.name ?? "") would be faster on this CPU" : "")
        case .keep(let name): return "\(name): OpenBLAS's own choice, the best kernel set this library has for this CPU"
        case .switchTo(let name, let from): return "\(from): a fallback; \(name) would be faster (run through the concord command, which switches)"
        case .undecided(let why): return "\(running): OpenBLAS's own choice (\(why))"
        }
    }
}

// MARK: - Checking a kernel set

extension BLASKernels {
    /// The probe's product: `r2plus1d-tiny`'s stage4.spatial2 forward at batch 16 as a matrix
    /// product, C[256, 1568] = A[256, 2304] · B[2304, 1568].
    public static let probeShape = (m: 256, n: 1568, k: 2304)

    /// sgemm at `probeShape` on fixed inputs (uniform in [-1, 1], seeds 11 and 12), with the
    /// kernels this process runs: the product and the median GFLOP/s over `reps` runs (after one
    /// warm-up run).
    public static func sgemmProbe(reps: Int = 5) -> (product: [Float], gflops: Double) {
        let (m, n, k) = probeShape
        var rngA = SeededRandom(seed: 11), rngB = SeededRandom(seed: 12)
        let a = (0..<(m * k)).map { _ in Float(rngA.uniform(-1, 1)) }
        let b = (0..<(k * n)).map { _ in Float(rngB.uniform(-1, 1)) }
        var c = [Float](repeating: 0, count: m * n)
        var seconds: [Double] = []
        for rep in 0...max(1, reps) {
            let start = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
            if rep > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        seconds.sort()
        return (c, 2 * Double(m) * Double(n) * Double(k) / 1e9 / seconds[seconds.count / 2])
    }
}
