import Foundation

/// An error reading or writing a safetensors file; names the file and the problem.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, reason: String)
    case unsupportedType(String, tensor: String, dtype: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): not a readable safetensors file: \(reason)"
        case .unsupportedType(let path, let name, let dtype): return "\(path): tensor '\(name)' has dtype \(dtype), which Concord does not read"
        }
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each name to `{dtype, shape, data_offsets}` (plus a `__metadata__` string map), then
/// the raw little-endian data.
public struct SafeTensorsFile: Sendable {
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        /// The raw bytes.
        public var bytes: Data
    }

    public var entries: [String: Entry]
    public var metadata: [String: String]

    public init(entries: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
    }

    /// Float32 tensors by name (F32 stored as is; F64, F16 are not converted).
    public mutating func set(_ name: String, _ tensor: Tensor) {
        let bytes = tensor.data.withUnsafeBufferPointer { Data(buffer: $0) }
        entries[name] = Entry(dtype: "F32", shape: tensor.shape, bytes: bytes)
    }

    /// A tensor stored as IEEE half precision (F16), rounded to nearest; `tensor(_:)` widens
    /// it back to Float32. NOTE: F16 keeps 11 significant bits (relative error ≤ 2^-11 ≈ 4.9e-4)
    /// and its range ends at 65504; values beyond it become infinite, so callers check
    /// `isFinite` of the result where weights could be that large.
    public mutating func set(_ name: String, float16 tensor: Tensor) {
        let halves = tensor.data.map { Float16($0) }
        entries[name] = Entry(dtype: "F16", shape: tensor.shape, bytes: halves.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// Int64 values (for counters such as BatchNorm's `num_batches_tracked`).
    public mutating func set(_ name: String, int64 values: [Int64], shape: [Int]) {
        entries[name] = Entry(dtype: "I64", shape: shape, bytes: values.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// The tensor `name` as Float32 (from F32, or converted from F64/F16/BF16/I64/I32); nil when absent.
    public func tensor(_ name: String) -> Tensor? {
        guard let e = entries[name] else { return nil }
        let values: [Float]
        switch e.dtype {
        case "F32": values = e.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        case "F64": values = e.bytes.withUnsafeBytes { $0.bindMemory(to: Double.self).map { Float($0) } }
        case "F16": values = e.bytes.withUnsafeBytes { $0.bindMemory(to: Float16.self).map { Float($0) } }
        case "BF16": values = e.bytes.withUnsafeBytes { $0.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) } }
        case "I64": values = e.bytes.withUnsafeBytes { $0.bindMemory(to: Int64.self).map { Float($0) } }
        case "I32": values = e.bytes.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Float($0) } }
        default: return nil
        }
        return Tensor(shape: e.shape, data: values)
    }

    /// The encoded file.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        var body = Data()
        for name in entries.keys.sorted() {
            let e = entries[name]!
            header[name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [offset, offset + e.bytes.count]]
            body.append(e.bytes)
            offset += e.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad so the data starts 8-byte aligned
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    /// Writes atomically: a temporary file in the same folder, then a rename, so a half-written
    /// file never replaces a good one.
    public func write(to path: String) throws {
        try writeAtomically(encoded(), to: path)
    }

    /// Reads and checks a file: header length, JSON, every entry's dtype, shape and byte range.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.unreadable(path, reason: "missing or unreadable")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "(data)") throws {
        func fail(_ reason: String) -> SafeTensorsError { .unreadable(path, reason: reason) }
        guard data.count >= 8 else { throw fail("shorter than its 8-byte header length") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard n <= UInt64(data.count - 8), n < 100_000_000 else { throw fail("the header length (\(n)) runs past the end of the file (truncated?)") }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let start = data.startIndex + 8 + Int(n)
        let available = data.count - 8 - Int(n)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let sizes = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ is not a map of strings") }
                metadata = m
                continue
            }
            guard let e = value as? [String: Any], let dtype = e["dtype"] as? String, let shape = e["shape"] as? [Int],
                  let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let size = sizes[dtype] else { throw fail("entry '\(name)' has unknown dtype \(dtype)") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= available else {
                throw fail("entry '\(name)': bytes \(offsets) lie outside the \(available) data bytes (truncated?)")
            }
            guard let count = elementCount(shape), !count.multipliedReportingOverflow(by: size).overflow else {
                throw fail("entry '\(name)': the shape \(shape) holds more values than can be addressed")
            }
            guard offsets[1] - offsets[0] == count * size else {
                throw fail("entry '\(name)': \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, bytes: data.subdata(in: (start + offsets[0])..<(start + offsets[1])))
        }
        self.entries = entries
        self.metadata = metadata
    }
}
