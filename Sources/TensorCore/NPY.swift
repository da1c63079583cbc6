import Foundation

/// Element types NumPy `.npy` files can hold here, with their dtype descriptors.
public protocol NPYElement: Sendable {
    static var npyDescriptor: String { get }
}
extension UInt8: NPYElement { public static var npyDescriptor: String { "|u1" } }
extension Float: NPYElement { public static var npyDescriptor: String { "<f4" } }
extension Double: NPYElement { public static var npyDescriptor: String { "<f8" } }
extension Int32: NPYElement { public static var npyDescriptor: String { "<i4" } }
extension Int64: NPYElement { public static var npyDescriptor: String { "<i8" } }

/// An error reading or writing an array file; names the file and the problem.
public enum ArrayFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, reason: String)
    case writeFailed(String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): not a readable .npy file: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot be written: \(reason)"
        }
    }
}

/// NumPy's `.npy` format (version 1.0, little-endian, C order).
public enum NPY {
    /// The bytes of an `.npy` file holding `values` with `shape`.
    public static func encode<T: NPYElement>(_ values: [T], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "NPY.encode: shape \(shape) does not hold \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(T.npyDescriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that magic (6) + version (2) + length (2) + header + newline is a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let n = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        data.append(header.data(using: .ascii)!)
        values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * MemoryLayout<T>.stride)) }
        return data
    }

    /// Writes an `.npy` file atomically (a temporary file, then a rename).
    public static func write<T: NPYElement>(_ values: [T], shape: [Int], to path: String) throws {
        try writeAtomically(encode(values, shape: shape), to: path)
    }

    /// Reads an `.npy` file whose dtype is `T`; returns the values and the shape.
    public static func read<T: NPYElement>(_ type: T.Type, from path: String) throws -> (values: [T], shape: [Int]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArrayFileError.unreadable(path, reason: "missing or unreadable")
        }
        return try decode(type, from: data, path: path)
    }

    /// Decodes the bytes of an `.npy` file (an `.npz` member, say); `path` names it in errors.
    public static func decode<T: NPYElement>(_ type: T.Type, from data: Data, path: String) throws -> (values: [T], shape: [Int]) {
        let (descr, shape, offset) = try parseHeader(data, path: path)
        guard descr == T.npyDescriptor else {
            throw ArrayFileError.unreadable(path, reason: "dtype is \(descr), expected \(T.npyDescriptor)")
        }
        let count = shape.reduce(1, *)
        guard data.count - offset >= count * MemoryLayout<T>.stride else {
            throw ArrayFileError.unreadable(path, reason: "truncated: \(data.count - offset) bytes of data for shape \(shape)")
        }
        let values = [T](unsafeUninitializedCapacity: count) { buf, n in
            data.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * MemoryLayout<T>.stride)]))
            }
            n = count
        }
        return (values, shape)
    }

    /// The dtype descriptor and shape stored in an `.npy` file's header.
    public static func header(path: String) throws -> (descr: String, shape: [Int]) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArrayFileError.unreadable(path, reason: "missing or unreadable") }
        defer { try? handle.close() }
        let head = handle.readData(ofLength: 65536 + 12)
        return try header(of: head, path: path)
    }

    /// The dtype descriptor and shape in the header of `.npy` bytes.
    public static func header(of data: Data, path: String) throws -> (descr: String, shape: [Int]) {
        let (d, s, _) = try parseHeader(data, path: path)
        return (d, s)
    }

    /// A float32 `.npy` file mapped into memory (not read): its bytes, shape and where the
    /// values start. Throws, naming the file, when it is not float32 or shorter than its shape.
    public static func mapFloat32(path: String) throws -> (data: Data, shape: [Int], offset: Int) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ArrayFileError.unreadable(path, reason: "cannot open (\(error.localizedDescription))")
        }
        let (descr, shape, offset) = try parseHeader(data, path: path)
        guard descr == Float.npyDescriptor else { throw ArrayFileError.unreadable(path, reason: "holds \(descr), not float32") }
        guard data.count >= offset + 4 * shape.reduce(1, *) else {
            throw ArrayFileError.unreadable(path, reason: "truncated: \(data.count - offset) bytes of values for shape \(shape)")
        }
        return (data, shape, offset)
    }

    static func parseHeader(_ data: Data, path: String) throws -> (String, [Int], Int) {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw ArrayFileError.unreadable(path, reason: "bad magic")
        }
        let major = bytes[6]
        guard major == 1 || bytes.count >= 12 else { throw ArrayFileError.unreadable(path, reason: "truncated header") }
        let (length, start): (Int, Int) = major == 1
            ? (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
            : (Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24, 12)
        guard data.count >= start + length,
              let header = String(data: data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + length)), encoding: .ascii) else {
            throw ArrayFileError.unreadable(path, reason: "truncated header")
        }
        guard !header.contains("'fortran_order': True") else { throw ArrayFileError.unreadable(path, reason: "Fortran order is not supported") }
        guard let d0 = header.range(of: "'descr': '"), let d1 = header[d0.upperBound...].firstIndex(of: "'"),
              let s0 = header.range(of: "'shape': ("), let s1 = header[s0.upperBound...].firstIndex(of: ")") else {
            throw ArrayFileError.unreadable(path, reason: "malformed header")
        }
        let descr = String(header[d0.upperBound..<d1])
        var shape: [Int] = []
        for part in header[s0.upperBound..<s1].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }  // the trailing comma of a 1-tuple
            guard let n = Int(text), n >= 0 else { throw ArrayFileError.unreadable(path, reason: "bad dimension '\(text)' in the shape") }
            shape.append(n)
        }
        guard let count = elementCount(shape), count.multipliedReportingOverflow(by: 16).overflow == false else {
            throw ArrayFileError.unreadable(path, reason: "the shape \(shape) holds more values than can be addressed")
        }
        return (descr, shape, start + length)
    }
}

/// The number of elements of `shape`, or nil when a dimension is negative or the product
/// overflows: for counts that come from a file's header.
public func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        count = product
    }
    return count
}
