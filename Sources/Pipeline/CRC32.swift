/// CRC-32 (the IEEE 802.3 / zlib polynomial, reflected, 0xEDB88320), for the clip cache's
/// checksums: `CRC32.checksum(bytes) == zlib.crc32(bytes)`.
///
/// NOTE: "slicing by 8": eight tables let each step fold eight bytes with eight lookups and
/// no dependency between them, about four times the byte-at-a-time rate (a cache's checksums
/// are checked on the loader threads the first time each video is read).
public enum CRC32 {
    /// `table[k · 256 + b]`: the CRC of byte b followed by k zero bytes.
    static let table: [UInt32] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][n] = c
        }
        for k in 1..<8 { for n in 0..<256 { t[k][n] = (t[k - 1][n] >> 8) ^ t[0][Int(t[k - 1][n] & 0xFF)] } }
        return t.flatMap { $0 }
    }()

    /// The checksum of `bytes`, continuing from `previous` (the checksum of what came before).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var c = ~previous
        table.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            if let base = bytes.baseAddress {
                while i + 8 <= n {
                    let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
                    let lo = UInt32(truncatingIfNeeded: word) ^ c, hi = UInt32(truncatingIfNeeded: word >> 32)
                    c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                        ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                        ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                        ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                    i += 8
                }
                while i < n {
                    c = t[Int((c ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                    i += 1
                }
            }
        }
        return ~c
    }
}
