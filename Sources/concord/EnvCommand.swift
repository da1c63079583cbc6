import ArgumentParser
import AudioFeatures
import Benchmarks
import Corpora
import Foundation
import Media
import Synthesis
import TensorCore

/// `concord env` (also `concord doctor`): what this machine runs Concord with — the first thing
/// to paste into a bug report.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the libraries, BLAS kernel set, CPU, threads and optional packages Concord runs with (paste it into bug reports).",
        discussion: """
        The BLAS kernel set: Debian's OpenBLAS carries kernels for many CPUs and picks one from the CPU's \
        family and model when it loads. On a CPU newer than the library it falls back to generic SSE3 \
        kernels (Prescott) and sgemm runs several times slower. Every concord command checks this at \
        start-up and, where the CPU runs a better kernel set that the library has, re-executes itself with \
        OPENBLAS_CORETYPE set to it. A value you set yourself is respected. --check-blas runs sgemm on the \
        generic kernels and on the chosen ones and compares results and speed.
        """,
        aliases: ["doctor"])

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "Print only the name of the BLAS kernel set Concord runs (for OPENBLAS_CORETYPE=$(concord env --blas-core) in scripts).")
    var blasCore = false

    @Flag(name: .long, help: "Run sgemm on OpenBLAS's generic kernels (Prescott) and on the kernel set in use, in child processes; compare results and speed.")
    var checkBlas = false

    @Option(help: ArgumentHelp("Internal: run the sgemm probe, write its product to this .npy file, print a JSON line.", visibility: .hidden))
    var sgemmProbe: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        if let sgemmProbe {
            let (product, gflops) = BLASKernels.sgemmProbe()
            let (m, n, _) = BLASKernels.probeShape
            try NPY.write(product, shape: [m, n], to: sgemmProbe)
            try printJSONLine(["core": .string(BLASKernels.current), "gflops": .number(gflops)] as [String: JSONValue])
            return
        }
        if blasCore {
            print(BLASKernels.current)
            return
        }
        if checkBlas {
            try runCheck()
            return
        }
        let report = environmentReport()
        if json { try printJSON(report) } else { printText(report) }
    }

    // MARK: - The report

    func environmentReport() -> [String: JSONValue] {
        let cpu = CPUInfo.current()
        let available = BLASKernels.available
        let best = cpu.flatMap { BLASKernels.best(for: $0, available: available) }
        var libraries: [String: JSONValue] = ["openblas": .string(BLASKernels.version), "fftw": .string(FFTW.version)]
        for (name, version) in MediaLibraries.versions { libraries[name] = .string(version) }
        let (espeak, ffmpeg) = (Espeak.installedPath, MediaBenchmarks.ffmpegCLIPath)
        let samples = SoundBank(rate: 16000).usesRecordings ? SoundBank.sonicPiFolder : nil
        func optional(_ path: String?, _ purpose: String) -> JSONValue {
            .object(["installed": .bool(path != nil), "path": path.map { .string($0) } ?? .null, "for": .string(purpose)])
        }
        return [
            "cpu": .object([
                "vendor": .string(cpu?.vendor ?? "unknown"), "family": .number(Double(cpu?.family ?? 0)),
                "model": .number(Double(cpu?.model ?? 0)), "model_name": .string(cpu?.modelName ?? "unknown"),
                "processors": .number(Double(cpu?.processors ?? ProcessInfo.processInfo.activeProcessorCount)),
                "vector_features": .array((cpu?.vectorFeatures ?? []).map { .string($0) }),
            ]),
            "threads": .number(Double(Threads.count)),
            "blas": .object([
                "library": .string(BLASKernels.configuration),
                "core": .string(BLASKernels.current),
                "why": .string(BLASKernels.explanation()),
                "kernel_sets_in_library": .array(BLASKernels.candidates.map(\.name).filter(available.contains).map { .string($0) }),
                "best_for_cpu": best.map { .string($0.name) } ?? .null,
                "openblas_coretype": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { .string($0) } ?? .null,
            ]),
            "libraries": .object(libraries),
            "optional": .object([
                "sonic-pi-samples": optional(samples, "real CC0 recordings for concord synth (synthesised sounds otherwise)"),
                "espeak-ng": optional(espeak, "spoken narrations (concord synth --speak)"),
                "ffmpeg": optional(ffmpeg, "the ffmpeg CLI: the tests and concord bench decode compare against it"),
            ]),
        ]
    }

    func printText(_ r: [String: JSONValue]) {
        guard case .object(let cpu)? = r["cpu"], case .object(let blas)? = r["blas"], case .object(let libraries)? = r["libraries"],
              case .object(let optional)? = r["optional"] else { return }
        print("CPU         \(cpu["model_name"]?.text ?? "") (\(cpu["vendor"]?.text ?? "") family \(cpu["family"]?.text ?? "") model \(cpu["model"]?.text ?? ""), \(cpu["processors"]?.text ?? "") logical processors)")
        print("  features  \(cpu["vector_features"]?.text ?? "")")
        print("threads     \(r["threads"]?.text ?? "") (--threads N to change)")
        print("BLAS        \(blas["library"]?.text ?? "")")
        print("  kernels   \(blas["why"]?.text ?? "")")
        print("  in build  \(blas["kernel_sets_in_library"]?.text ?? "")")
        print("  best      \(blas["best_for_cpu"]?.text ?? "-") (for this CPU, among the kernel sets of this build)")
        print("FFTW        \(libraries["fftw"]?.text ?? "")")
        print("FFmpeg      \(libraries["ffmpeg"]?.text ?? "") (" + ["libavformat", "libavcodec", "libavutil", "libswscale", "libswresample"]
            .map { "\($0) \(libraries[$0]?.text ?? "")" }.joined(separator: ", ") + ")")
        print("libsndfile  \(libraries["libsndfile"]?.text ?? "")")
        print("optional packages:")
        for name in ["sonic-pi-samples", "espeak-ng", "ffmpeg"] {
            guard case .object(let o)? = optional[name] else { continue }
            let installed = o["installed"] == .bool(true)
            print("  " + name.padding(toLength: 18, withPad: " ", startingAt: 0) + (installed ? "installed  " : "missing    ") + (o["for"]?.text ?? ""))
        }
    }

    // MARK: - --check-blas

    /// Runs the sgemm probe in a child process with `OPENBLAS_CORETYPE` = `core`; its product and GFLOP/s.
    func probe(_ core: String, in folder: String) throws -> (core: String, gflops: Double, product: [Float]) {
        let out = folder + "/\(core).npy"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["env", "--sgemm-probe", out, "--threads", String(Threads.count)]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = core
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let ran = object["core"] as? String, let gflops = object["gflops"] as? Double else {
            throw ValidationError("the sgemm probe with OPENBLAS_CORETYPE=\(core) failed (status \(process.terminationStatus))")
        }
        return (ran, gflops, try NPY.read(Float.self, from: out).values)
    }

    func runCheck() throws {
        guard CPUInfo.current()?.isX86 ?? false else {
            throw ValidationError("--check-blas compares with OpenBLAS's generic x86-64 kernels (Prescott), and this CPU is not x86-64")
        }
        let folder = NSTemporaryDirectory() + "concord-blas-check-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let generic = try probe("Prescott", in: folder)
        let chosen = try probe(BLASKernels.current, in: folder)
        var largest: Float = 0, difference: Float = 0
        for (a, b) in zip(generic.product, chosen.product) {
            largest = max(largest, abs(a))
            difference = max(difference, abs(a - b))
        }
        let relative = Double(difference / max(largest, .leastNormalMagnitude))
        let speedup = chosen.gflops / generic.gflops
        let (m, n, k) = BLASKernels.probeShape
        if json {
            try printJSON(["shape": .array([m, n, k].map { .number(Double($0)) }),
                           "generic": .object(["core": .string(generic.core), "gflops": .number(generic.gflops)]),
                           "chosen": .object(["core": .string(chosen.core), "gflops": .number(chosen.gflops)]),
                           "speedup": .number(speedup), "max_relative_difference": .number(relative),
                           "threads": .number(Double(Threads.count))] as [String: JSONValue])
        } else {
            print("sgemm \(m)x\(n)x\(k) (r2plus1d-tiny stage4.spatial2 forward at batch 16), \(Threads.count) thread(s), median of 5:")
            print("  " + pad(generic.core, 16) + String(format: "%7.1f GFLOP/s         (generic SSE3 kernels)", generic.gflops))
            print("  " + pad(chosen.core, 16) + String(format: "%7.1f GFLOP/s  %5.2fx  (in use)", chosen.gflops, speedup))
            print(String(format: "  largest difference %.2e of the largest value (float rounding is about 1e-6)", relative))
        }
    }
}

extension JSONValue {
    /// The value as one line of text (arrays space-separated).
    var text: String {
        switch self {
        case .string(let s): return s
        case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
        case .bool(let b): return String(b)
        case .array(let a): return a.map(\.text).joined(separator: " ")
        case .object: return "{…}"
        case .null: return "-"
        }
    }
}
