import Foundation

/// What the processor is and which instruction sets it offers, as Linux reports them in
/// `/proc/cpuinfo`.
///
/// NOTE: the kernel lists an instruction set only when both the CPU (CPUID) and the operating
/// system enable it: AVX-512 appears only where the OS saves the ZMM registers (XCR0), so these
/// flags are what a program may actually execute, which raw CPUID bits alone do not say.
public struct CPUInfo: Sendable, Equatable, Codable {
    /// CPUID vendor string: "GenuineIntel", "AuthenticAMD", "HygonGenuine", … ("" where the
    /// file has none, as on ARM).
    public var vendor: String
    public var family: Int
    public var model: Int
    /// The marketing name ("model name"), or the ARM part number where there is none.
    public var modelName: String
    /// Feature flags: x86 `flags` (`avx2`, `fma`, `avx512f`, `avx512_bf16`, `amx_tile`, …) or ARM `Features`.
    public var flags: Set<String>
    /// Logical processors listed in the file.
    public var processors: Int

    public init(vendor: String, family: Int, model: Int, modelName: String, flags: Set<String>, processors: Int) {
        self.vendor = vendor
        self.family = family
        self.model = model
        self.modelName = modelName
        self.flags = flags
        self.processors = processors
    }

    /// Parses the text of `/proc/cpuinfo` (the first processor's block describes the CPU).
    /// Returns nil when the text lists no processor.
    public init?(cpuinfo text: String) {
        var fields: [String: String] = [:]
        var processors = 0
        var firstBlockDone = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                if !fields.isEmpty { firstBlockDone = true }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "processor" { processors += 1 }
            if !firstBlockDone && fields[key] == nil { fields[key] = value }
        }
        guard processors > 0 else { return nil }
        let flagText = fields["flags"] ?? fields["Features"] ?? ""
        self.init(vendor: fields["vendor_id"] ?? "",
                  family: Int(fields["cpu family"] ?? "") ?? 0,
                  model: Int(fields["model"] ?? "") ?? 0,
                  modelName: fields["model name"] ?? fields["CPU part"].map { "part \($0)" } ?? "",
                  flags: Set(flagText.split(separator: " ").map(String.init)),
                  processors: processors)
    }

    /// This machine's CPU (nil where `/proc/cpuinfo` cannot be read: not Linux).
    public static func current() -> CPUInfo? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        return CPUInfo(cpuinfo: text)
    }

    /// True for an x86-64 processor (every one has SSE2; ARM lists `asimd` instead).
    public var isX86: Bool { flags.contains("sse2") }

    /// The vector instruction sets that matter for the kernels, in the order users read them.
    public var vectorFeatures: [String] {
        let known = ["sse3", "ssse3", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
                     "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve", "sve2"]
        // /proc/cpuinfo spells SSE3 "pni" (Prescott New Instructions).
        return known.filter { $0 == "sse3" ? flags.contains("pni") : flags.contains($0) }
    }
}
