import Foundation

/// NumPy's `.npz`: a ZIP archive of `.npy` members (`numpy.savez`, stored without compression).
/// Compressed archives (`numpy.savez_compressed`) are refused with a clear error.
public enum NPZ {
    /// An array of any supported dtype: its descriptor, shape and raw `.npy` bytes.
    public struct Member: Sendable {
        public var name: String
        public var npy: Data
    }

    /// Writes Float32 arrays by name (member files `name.npy`), atomically.
    public static func write(_ arrays: [(String, [Float], [Int])], to path: String) throws {
        try writeAtomically(archive(arrays.map { Member(name: $0.0, npy: NPY.encode($0.1, shape: $0.2)) }), to: path)
    }

    /// Reads every Float32 member: name (without `.npy`) → (values, shape).
    public static func read(_ path: String) throws -> [String: (values: [Float], shape: [Int])] {
        var out: [String: ([Float], [Int])] = [:]
        for m in try members(path) {
            out[m.name] = try NPY.decode(Float.self, from: m.npy, path: "\(path) (member \(m.name))")
        }
        return out
    }

    /// The `.npy` members of an archive.
    public static func members(_ path: String) throws -> [Member] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ArrayFileError.unreadable(path, reason: "missing or unreadable") }
        let bytes = [UInt8](data)
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        // The end-of-central-directory record: signature 0x06054b50 within the last 64 KiB + 22 bytes.
        guard bytes.count >= 22, let end = stride(from: bytes.count - 22, through: Swift.max(0, bytes.count - 65_557), by: -1)
            .first(where: { u32($0) == 0x0605_4B50 }) else {
            throw ArrayFileError.unreadable(path, reason: "not a ZIP archive (no end-of-central-directory record; truncated?)")
        }
        let count = u16(end + 10)
        var p = u32(end + 16)
        var members: [Member] = []
        for _ in 0..<count {
            guard p + 46 <= bytes.count, u32(p) == 0x0201_4B50 else { throw ArrayFileError.unreadable(path, reason: "corrupt central directory") }
            let method = u16(p + 10), size = u32(p + 20), nameLength = u16(p + 28)
            let extra = u16(p + 30), comment = u16(p + 32), local = u32(p + 42)
            guard p + 46 + nameLength <= bytes.count else { throw ArrayFileError.unreadable(path, reason: "corrupt central directory") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            guard method == 0 else {
                throw ArrayFileError.unreadable(path, reason: "member \(name) is compressed (method \(method)); write it with numpy.savez, not savez_compressed")
            }
            guard local + 30 <= bytes.count, u32(local) == 0x0403_4B50 else { throw ArrayFileError.unreadable(path, reason: "corrupt local header of \(name)") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard start + size <= bytes.count else { throw ArrayFileError.unreadable(path, reason: "member \(name) runs past the end (truncated?)") }
            members.append(Member(name: name.hasSuffix(".npy") ? String(name.dropLast(4)) : name, npy: Data(bytes[start..<(start + size)])))
            p += 46 + nameLength + extra + comment
        }
        return members
    }

    /// A stored (uncompressed) ZIP archive of `name.npy` members.
    static func archive(_ members: [Member]) -> Data {
        var out = Data(), central = Data()
        func put16(_ d: inout Data, _ v: Int) { d.append(UInt8(v & 0xFF)); d.append(UInt8((v >> 8) & 0xFF)) }
        func put32(_ d: inout Data, _ v: Int) { put16(&d, v & 0xFFFF); put16(&d, (v >> 16) & 0xFFFF) }
        for m in members {
            let name = Array((m.name + ".npy").utf8)
            let crc = Int(crc32(m.npy))
            let offset = out.count
            put32(&out, 0x0403_4B50); put16(&out, 20); put16(&out, 0); put16(&out, 0); put16(&out, 0); put16(&out, 0x21)
            put32(&out, crc); put32(&out, m.npy.count); put32(&out, m.npy.count); put16(&out, name.count); put16(&out, 0)
            out.append(contentsOf: name)
            out.append(m.npy)
            put32(&central, 0x0201_4B50); put16(&central, 20); put16(&central, 20); put16(&central, 0); put16(&central, 0)
            put16(&central, 0); put16(&central, 0x21); put32(&central, crc); put32(&central, m.npy.count); put32(&central, m.npy.count)
            put16(&central, name.count); put16(&central, 0); put16(&central, 0); put16(&central, 0); put16(&central, 0)
            put32(&central, 0); put32(&central, offset)
            central.append(contentsOf: name)
        }
        let centralOffset = out.count
        out.append(central)
        put32(&out, 0x0605_4B50); put16(&out, 0); put16(&out, 0); put16(&out, members.count); put16(&out, members.count)
        put32(&out, central.count); put32(&out, centralOffset); put16(&out, 0)
        return out
    }

    /// CRC-32 (IEEE 802.3), as ZIP requires.
    static func crc32(_ data: Data) -> UInt32 {
        let table: [UInt32] = (0..<256).map { i -> UInt32 in
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            return c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
