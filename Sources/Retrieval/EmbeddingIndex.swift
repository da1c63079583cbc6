import AudioFeatures
import Foundation
import Pipeline
import TensorCore

/// One row of an index table: a window of a video (video, audio) or a narration line (text).
public struct Segment: Codable, Equatable, Sendable {
    public var video: String
    public var path: String
    public var start: Double
    public var end: Double
    public var modality: String
    public var text: String?

    public init(video: String, path: String, start: Double, end: Double, modality: String, text: String? = nil) {
        (self.video, self.path, self.start, self.end, self.modality, self.text) = (video, path, start, end, modality, text)
    }
}

/// `INDEX/index.json`: what made the index and what it holds.
public struct IndexMetadata: Codable, Equatable, Sendable {
    public var format = "concord-index"
    public var version = 1
    /// The checkpoint the embeddings come from, and the CRC-32 of its bytes.
    public var checkpoint: String
    public var checkpointCRC32: UInt32
    public var frontEnd: FrontEnd
    public var geometry: ClipGeometry
    /// Window length and stride, seconds.
    public var length: Double
    public var stride: Double
    /// Tables by name (`<modality>.<space>`): rows and dimension.
    public var tables: [String: [Int]]
    /// Media files embedded so far, in order.
    public var videos: [String]
    /// Which files are the index: each save writes its tables and segments as new files
    /// `NAME.gN.npy` / `NAME.gN.jsonl` beside the old ones, then this file, so a stop or a full
    /// disk between two tables leaves the previous index whole (nil: an index from before
    /// generations, with files `NAME.npy` / `NAME.jsonl`).
    public var generation: Int?

    /// The file name of table or segment list `base` (`video.avnce`, `windows`) with extension `ext`.
    public func fileName(_ base: String, _ ext: String) -> String {
        generation.map { "\(base).g\($0).\(ext)" } ?? "\(base).\(ext)"
    }

    enum CodingKeys: String, CodingKey {
        case format, version, checkpoint, geometry, length, stride, tables, videos, generation
        case checkpointCRC32 = "checkpoint_crc32"
        case frontEnd = "front_end"
    }
}

/// An embedding index (`concord embed`): per table `<modality>.<space>` an `.npy` matrix of
/// L2-normalised embeddings `[rows, dim]` (memory-mapped when searched) and the rows' segments
/// (`windows` for video and audio tables, `narrations` for text tables, JSON lines), each file
/// named with the index's generation (`IndexMetadata.fileName`).
public final class EmbeddingIndex: @unchecked Sendable {
    public let directory: String
    public let metadata: IndexMetadata
    public let windows: SegmentTable
    public let narrations: SegmentTable
    private var mapped: [String: (data: Data, shape: [Int], offset: Int)] = [:]
    private let lock = NSLock()

    public static func path(_ directory: String, _ file: String) -> String { (directory as NSString).appendingPathComponent(file) }

    /// Opens an index; throws, naming the file, when a file is missing or malformed.
    public init(directory: String) throws {
        self.directory = directory
        let metaPath = Self.path(directory, "index.json")
        guard let data = FileManager.default.contents(atPath: metaPath) else { throw IndexError.missing(metaPath) }
        do { metadata = try JSONDecoder().decode(IndexMetadata.self, from: data) } catch {
            throw IndexError.malformed(metaPath, "not a Concord index (\(error))")
        }
        guard metadata.format == "concord-index" && metadata.version == 1 else {
            throw IndexError.malformed(metaPath, "not a version 1 Concord index")
        }
        windows = try SegmentTable(path: Self.path(directory, metadata.fileName("windows", "jsonl")))
        narrations = try SegmentTable(path: Self.path(directory, metadata.fileName("narrations", "jsonl")))
        for (name, shape) in metadata.tables {
            // NOTE: a table's name becomes a file name: one that could leave the folder is refused.
            guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), name != ".." else {
                throw IndexError.malformed(metaPath, "the table name '\(name)' is not a file name in the index")
            }
            let rows = name.hasPrefix("text.") ? narrations.count : windows.count
            guard shape.first == rows else {
                throw IndexError.malformed(tablePath(name), "\(shape.first ?? 0) rows in the metadata for \(rows) segments")
            }
        }
    }

    /// The `.npy` file of table `name` (`video.avnce`).
    public func tablePath(_ name: String) -> String { Self.path(directory, metadata.fileName(name, "npy")) }

    /// The segments of a table's rows.
    public func segments(_ table: String) -> SegmentTable { table.hasPrefix("text.") ? narrations : windows }

    /// Runs `body` on a table's mapped matrix `[rows, dim]`.
    public func withMatrix<T>(_ table: String, _ body: (UnsafePointer<Float>, _ rows: Int, _ dim: Int) throws -> T) throws -> T {
        let path = tablePath(table)
        lock.lock()
        let m: (data: Data, shape: [Int], offset: Int)
        if let cached = mapped[table] { m = cached } else {
            do { m = try NPY.mapFloat32(path: path) } catch { lock.unlock(); throw error }
            mapped[table] = m
        }
        lock.unlock()
        guard m.shape.count == 2, m.shape == metadata.tables[table] else {
            throw IndexError.malformed(path, "shape \(m.shape), the metadata says \(metadata.tables[table] ?? [])")
        }
        return try m.data.withUnsafeBytes { raw in
            try body((raw.baseAddress! + m.offset).assumingMemoryBound(to: Float.self), m.shape[0], m.shape[1])
        }
    }
}

/// A JSON-lines file of segments, decoded a line at a time when asked: opening one finds the
/// line starts only, so a search over a large index decodes just the rows it returns.
public final class SegmentTable: @unchecked Sendable {
    public let path: String
    private let data: Data
    private let starts: [Int]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw IndexError.missing(path) }
        self.path = path
        self.data = data
        var starts: [Int] = []
        data.withUnsafeBytes { raw in
            var lineStart = 0
            for (i, byte) in raw.enumerated() where byte == UInt8(ascii: "\n") {
                if i > lineStart { starts.append(lineStart) }
                lineStart = i + 1
            }
            if lineStart < raw.count { starts.append(lineStart) }
        }
        self.starts = starts
        if let last = starts.last { _ = try segment(starts.count - 1, at: last) }  // a cut last line shows at once
    }

    public var count: Int { starts.count }

    /// Row `i`'s segment; a malformed line is an error naming the file.
    public func at(_ i: Int) throws -> Segment { try segment(i, at: starts[i]) }

    /// Every segment, in row order.
    public func all() throws -> [Segment] { try starts.indices.map { try segment($0, at: starts[$0]) } }

    func segment(_ i: Int, at start: Int) throws -> Segment {
        let end = i + 1 < starts.count ? starts[i + 1] : data.count
        do {
            return try JSONDecoder().decode(Segment.self, from: data.subdata(in: start..<end))
        } catch {
            throw IndexError.malformed(path, "line \(i + 1) is not a segment (a truncated file?)")
        }
    }
}

public enum IndexError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String, String)
    case otherCheckpoint(String, String)
    case noTable(String)
    case badQuery(String)

    public var description: String {
        switch self {
        case .missing(let p): "\(p): missing (make the index with concord embed)"
        case .malformed(let p, let why): "\(p): \(why)"
        case .otherCheckpoint(let index, let why): "\(index): \(why)"
        case .noTable(let why): why
        case .badQuery(let why): why
        }
    }
}
