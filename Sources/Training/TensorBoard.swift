import Foundation
import Models

/// TensorBoard event files: scalars a run logs (`events.out.tfevents.<time>.<host>` in its
/// `out` folder), written and read without TensorFlow.
///
/// The format, as TensorBoard's `event_accumulator` reads it: a sequence of TFRecords —
/// `length: UInt64 LE`, `masked_crc32c(length bytes): UInt32 LE`, `data`, `masked_crc32c(data)` —
/// each holding one `tensorflow.Event` protocol buffer. The first event carries only
/// `file_version = "brain.Event:2"`; each later one a `wall_time`, a `step` and a `Summary`
/// of `Value { tag, simple_value }`. A resumed run writes a `SessionLog { status: START }` at
/// its first step, which tells TensorBoard to drop the earlier file's events from that step
/// on (the steps that are run again), as `metrics.jsonl` is truncated.
public enum TensorBoard {
    /// Field numbers of `tensorflow.Event`, `Summary`, `Summary.Value` and `SessionLog`.
    enum Field {
        static let wallTime = 1, step = 2, fileVersion = 3, summary = 5, sessionLog = 6
        static let summaryValue = 1, tag = 1, simpleValue = 2
        static let sessionStatus = 1
    }

    static let fileVersion = "brain.Event:2"
    static let filePrefix = "events.out.tfevents."

    /// The event files in `folder`, oldest first (by the time in their names, then by name).
    public static func eventFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(filePrefix) }
            .sorted { a, b in
                let ta = Int(a.dropFirst(filePrefix.count).prefix { $0.isNumber }) ?? 0
                let tb = Int(b.dropFirst(filePrefix.count).prefix { $0.isNumber }) ?? 0
                return ta != tb ? ta < tb : a < b
            }
            .map { (folder as NSString).appendingPathComponent($0) }
    }
}

/// Appends scalar events to a new event file in a folder.
public final class EventFileWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates `folder/events.out.tfevents.<seconds>.<host>[.<suffix>]` and writes its version event.
    public init(folder: String, suffix: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        var name = TensorBoard.filePrefix + "\(Int(Date().timeIntervalSince1970)).\(host)"
        if let suffix { name += "." + suffix }
        // Two writers in one second (a resumed run, an evaluation) must not share a file.
        var candidate = (folder as NSString).appendingPathComponent(name)
        var n = 1
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = (folder as NSString).appendingPathComponent(name + ".\(n)")
            n += 1
        }
        path = candidate
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var event = Protobuf()
        event.double(TensorBoard.Field.wallTime, Date().timeIntervalSince1970)
        event.bytes(TensorBoard.Field.fileVersion, Data(TensorBoard.fileVersion.utf8))
        try write(record: event.data)
    }

    deinit { try? handle.close() }

    /// One event at `step` holding every scalar of `values` (tags sorted, so files are reproducible).
    public func scalars(_ values: [String: Double], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var summary = Protobuf()
        for (tag, value) in values.sorted(by: { $0.key < $1.key }) {
            var v = Protobuf()
            v.bytes(TensorBoard.Field.tag, Data(tag.utf8))
            v.float(TensorBoard.Field.simpleValue, Float(value))
            summary.bytes(TensorBoard.Field.summaryValue, v.data)
        }
        var event = Protobuf()
        event.double(TensorBoard.Field.wallTime, wallTime)
        event.varint(TensorBoard.Field.step, UInt64(bitPattern: Int64(step)))
        event.bytes(TensorBoard.Field.summary, summary.data)
        try write(record: event.data)
    }

    /// A `SessionLog START` at `step`: readers drop earlier events at `step` and later.
    public func restart(at step: Int) throws {
        var log = Protobuf()
        log.varint(TensorBoard.Field.sessionStatus, 1)
        var event = Protobuf()
        event.double(TensorBoard.Field.wallTime, Date().timeIntervalSince1970)
        event.varint(TensorBoard.Field.step, UInt64(bitPattern: Int64(step)))
        event.bytes(TensorBoard.Field.sessionLog, log.data)
        try write(record: event.data)
    }

    func write(record data: Data) throws {
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        var out = lengthBytes
        out.append(littleEndian: CRC32C.masked(lengthBytes))
        out.append(data)
        out.append(littleEndian: CRC32C.masked(data))
        try handle.write(contentsOf: out)
    }
}

/// One scalar read back from an event file.
public struct ScalarEvent: Equatable, Sendable {
    public var step: Int
    public var wallTime: Double
    public var tag: String
    public var value: Float
}

public enum EventFileError: Error, CustomStringConvertible {
    case corrupt(path: String, offset: Int, problem: String)
    public var description: String {
        switch self {
        case .corrupt(let path, let offset, let problem): "\(path): not a TensorBoard event file at byte \(offset) (\(problem))"
        }
    }
}

/// Reads the scalars of event files, checking every record's checksums.
public enum EventFileReader {
    /// The scalars of one file, in file order, and the steps at which a session restarted.
    public static func read(path: String) throws -> (scalars: [ScalarEvent], restarts: [Int]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var scalars: [ScalarEvent] = [], restarts: [Int] = []
        var offset = 0
        func fail(_ problem: String) -> EventFileError { .corrupt(path: path, offset: offset, problem: problem) }
        while offset < data.count {
            guard offset + 12 <= data.count else { throw fail("truncated record header") }
            let lengthBytes = data.subdata(in: offset..<offset + 8)
            let length = Int(lengthBytes.littleEndianInteger(UInt64.self))
            guard data.subdata(in: offset + 8..<offset + 12).littleEndianInteger(UInt32.self) == CRC32C.masked(lengthBytes) else {
                throw fail("length checksum mismatch")
            }
            guard length >= 0, offset + 16 + length <= data.count else { throw fail("truncated record") }
            let record = data.subdata(in: offset + 12..<offset + 12 + length)
            guard data.subdata(in: offset + 12 + length..<offset + 16 + length).littleEndianInteger(UInt32.self) == CRC32C.masked(record) else {
                throw fail("data checksum mismatch")
            }
            var wallTime = 0.0, step = 0
            var values: [(String, Float)] = [], restart = false
            guard let fields = Protobuf.fields(record) else { throw fail("bad protocol buffer") }
            for f in fields {
                switch (f.number, f.value) {
                case (TensorBoard.Field.wallTime, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
                case (TensorBoard.Field.step, .varint(let v)): step = Int(Int64(bitPattern: v))
                case (TensorBoard.Field.summary, .bytes(let summary)):
                    for s in Protobuf.fields(summary) ?? [] {
                        guard s.number == TensorBoard.Field.summaryValue, case .bytes(let value) = s.value else { continue }
                        var tag: String?, simple: Float?
                        for v in Protobuf.fields(value) ?? [] {
                            if v.number == TensorBoard.Field.tag, case .bytes(let t) = v.value { tag = String(decoding: t, as: UTF8.self) }
                            if v.number == TensorBoard.Field.simpleValue, case .fixed32(let bits) = v.value { simple = Float(bitPattern: bits) }
                        }
                        if let tag, let simple { values.append((tag, simple)) }
                    }
                case (TensorBoard.Field.sessionLog, .bytes(let log)):
                    restart = (Protobuf.fields(log) ?? []).contains { $0.number == TensorBoard.Field.sessionStatus && $0.value == .varint(1) }
                default: break
                }
            }
            if restart { restarts.append(step) }
            scalars += values.map { ScalarEvent(step: step, wallTime: wallTime, tag: $0.0, value: $0.1) }
            offset += 16 + length
        }
        return (scalars, restarts)
    }

    /// Every scalar of a run folder's event files as TensorBoard shows them: files in time
    /// order, a session restart at step s dropping the events before it at step ≥ s. Per tag,
    /// sorted by step.
    public static func scalars(folder: String) throws -> [String: [ScalarEvent]] {
        var all: [ScalarEvent] = []
        for path in TensorBoard.eventFiles(in: folder) {
            let (scalars, restarts) = try read(path: path)
            for s in restarts { all.removeAll { $0.step >= s } }
            all += scalars
        }
        return Dictionary(grouping: all, by: \.tag).mapValues { $0.sorted { $0.step < $1.step } }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), masked as TFRecord files do.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    /// `((crc >> 15) | (crc << 17)) + 0xa282ead8`, TFRecord's masking.
    public static func masked(_ data: Data) -> UInt32 {
        let c = checksum(data)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}

/// The few protocol-buffer wire types an event needs.
struct Protobuf {
    var data = Data()

    enum Value: Equatable { case varint(UInt64), fixed64(UInt64), bytes(Data), fixed32(UInt32) }

    mutating func key(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }
    mutating func appendVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { data.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        data.append(UInt8(v))
    }
    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); appendVarint(v) }
    mutating func double(_ field: Int, _ v: Double) { key(field, 1); data.append(littleEndian: v.bitPattern) }
    mutating func float(_ field: Int, _ v: Float) { key(field, 5); data.append(littleEndian: v.bitPattern) }
    mutating func bytes(_ field: Int, _ v: Data) { key(field, 2); appendVarint(UInt64(v.count)); data.append(v) }

    /// The top-level fields of a message, or nil when it is malformed.
    static func fields(_ message: Data) -> [(number: Int, value: Value)]? {
        let bytes = [UInt8](message)
        var i = 0, out: [(Int, Value)] = []
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        func fixed(_ n: Int) -> UInt64? {
            guard i + n <= bytes.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < bytes.count {
            guard let key = varint() else { return nil }
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: guard let v = varint() else { return nil }; out.append((number, .varint(v)))
            case 1: guard let v = fixed(8) else { return nil }; out.append((number, .fixed64(v)))
            case 2:
                guard let n = varint(), n <= UInt64(bytes.count - i) else { return nil }
                out.append((number, .bytes(Data(bytes[i..<i + Int(n)])))); i += Int(n)
            case 5: guard let v = fixed(4) else { return nil }; out.append((number, .fixed32(UInt32(v))))
            default: return nil
            }
        }
        return out
    }
}

extension Data {
    mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    func littleEndianInteger<T: FixedWidthInteger>(_: T.Type) -> T {
        var v: T = 0
        for (k, b) in enumerated() where k < MemoryLayout<T>.size { v |= T(b) << (8 * k) }
        return v
    }
}
