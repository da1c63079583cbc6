import AudioFeatures
import Foundation
import Media
import Pipeline
import TensorCore
import Text
import Models

/// Builds an embedding index (`concord embed`): every video in sliding windows for each
/// modality of each joint space of the checkpoint, and its narration lines. The index is saved
/// every `saveEvery` videos and at the end; run again on the same folder, it continues where it
/// stopped and adds videos it has not embedded yet, refusing an index made by another
/// checkpoint or with another window.
public struct IndexBuilder {
    public var checkpointPath: String
    public var length: Double
    public var stride: Double
    public var saveEvery = 25
    /// Windows embedded at once.
    public var batch = 8

    public init(checkpoint: String, length: Double = 0.96, stride: Double = 0.96) {
        (checkpointPath, self.length, self.stride) = (checkpoint, length, stride)
    }

    public enum Event: Sendable {
        case progress(done: Int, total: Int)
        case skipped(file: String, reason: String)
        case saved(videos: Int)
        /// Something the user should know that is not about one video.
        case notice(String)
    }

    /// Embeds `videos` (with their narrations) into `out`.
    @discardableResult
    public func build(videos: [SampledVideo], out: String, report: (Event) -> Void = { _ in }) throws -> IndexMetadata {
        precondition(length > 0 && stride > 0, "IndexBuilder: length and stride must be positive")
        let (model, checkpoint) = try loadModel(checkpoint: checkpointPath, randomInit: false)
        let crc = try fileCRC32(checkpointPath)
        var geometry = checkpoint.config.clip
        let audioGeometry = geometry
        geometry.frameSpacing = length / Double(geometry.frames)
        geometry.duration = length
        let spaces = model.jointSpaces
        guard !spaces.isEmpty else {
            throw IndexError.noTable("\(checkpointPath): the checkpoint has no joint space to search in (train avnce, milnce or nce)")
        }
        var tableNames: [String] = []
        for (space, modalities) in spaces { for m in modalities { tableNames.append("\(m.rawValue).\(space)") } }

        let lock = try FolderLock(folder: out, purpose: "concord embed (writing an index)")
        defer { lock.release() }
        if let previous = lock.tookOverFrom { report(.notice("\(out): took over the lock left by \(previous), which is no longer running")) }
        var state = try State.resume(out: out, crc: crc, checkpoint: checkpointPath, length: length, stride: stride,
                                     geometry: geometry, tables: tableNames)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let todo = videos.filter { !state.metadata.videos.contains($0.path) }
        let videoLoader = ClipLoader(videos: todo, geometry: geometry, video: .none, audio: .none)
        let audioLoader = ClipLoader(videos: todo, geometry: audioGeometry, video: .none, audio: .none)
        report(.progress(done: 0, total: todo.count))
        for (v, video) in todo.enumerated() {
            do {
                try embed(video: v, of: todo, model: model, spaces: spaces, videoLoader: videoLoader, audioLoader: audioLoader,
                          audioOffset: (length - audioGeometry.duration) / 2, into: &state)
            } catch {
                report(.skipped(file: video.path, reason: "\(error)".replacingOccurrences(of: video.path + ": ", with: "")))
            }
            state.metadata.videos.append(video.path)
            report(.progress(done: v + 1, total: todo.count))
            if (v + 1) % saveEvery == 0 {
                try state.save(out: out)
                report(.saved(videos: state.metadata.videos.count))
            }
        }
        try state.save(out: out)
        return state.metadata
    }

    /// One video's windows (each modality of each space) and narration lines, appended to `state`.
    func embed(video v: Int, of videos: [SampledVideo], model: TrainModel, spaces: [(space: String, modalities: [Modality])],
               videoLoader: ClipLoader, audioLoader: ClipLoader, audioOffset: Double, into state: inout State) throws {
        let video = videos[v]
        let last = video.duration - length - 0.02
        guard last >= 0 else { throw IndexError.badQuery("\(video.path): \(video.duration) s is shorter than one \(length) s window") }
        let starts = Array(Swift.stride(from: 0, through: last, by: stride))
        var rows: [String: [Float]] = [:]
        for first in Swift.stride(from: 0, to: starts.count, by: batch) {
            let chunk = Array(starts[first..<min(first + batch, starts.count)])
            for (m, loader, offset) in [(Modality.video, videoLoader, 0.0), (.audio, audioLoader, audioOffset)]
            where spaces.contains(where: { $0.modalities.contains(m) }) {
                let shape = loader.clipShape(m), size = shape.reduce(1, *)
                var values = [Float](repeating: 0, count: chunk.count * size)
                var rng = SeededRandom(seed: 0)
                for (i, s) in chunk.enumerated() {
                    try values.withUnsafeMutableBufferPointer {
                        try loader.load(m, video: v, start: max(0, s + offset), rng: &rng, into: $0.baseAddress! + i * size)
                    }
                }
                let input = Tensor(shape: [chunk.count] + shape, data: values)
                for (space, modalities) in spaces where modalities.contains(m) {
                    rows["\(m.rawValue).\(space)", default: []] += model.embed(m, input, space: space).data
                }
            }
        }
        var lines: [SubtitleSegment] = []
        if let vocabulary = model.vocabulary, spaces.contains(where: { $0.modalities.contains(.text) }), !video.narrations.isEmpty {
            lines = video.narrations
            let ids = Tensor(shape: [lines.count, vocabulary.tokenizer.maxTokens], data: lines.flatMap { vocabulary.ids($0.text).map(Float.init) })
            for (space, modalities) in spaces where modalities.contains(.text) {
                rows["text.\(space)", default: []] += model.embed(.text, ids, space: space).data
            }
        }
        // Only now, when every part of the video is embedded, does it join the index.
        for (table, values) in rows { state.rows[table, default: []] += values }
        state.windows += starts.map { Segment(video: video.id, path: video.path, start: $0, end: $0 + length, modality: "window") }
        state.narrations += lines.map { Segment(video: video.id, path: video.path, start: $0.start, end: $0.end, modality: "text", text: $0.text) }
    }

    /// What is built so far.
    struct State {
        var metadata: IndexMetadata
        var windows: [Segment] = []
        var narrations: [Segment] = []
        var rows: [String: [Float]] = [:]

        /// The index already at `out` (when its checkpoint and window match), or an empty one.
        static func resume(out: String, crc: UInt32, checkpoint: String, length: Double, stride: Double, geometry: ClipGeometry,
                           tables: [String]) throws -> State {
            let fresh = IndexMetadata(checkpoint: checkpoint, checkpointCRC32: crc, frontEnd: .default, geometry: geometry,
                                      length: length, stride: stride, tables: [:], videos: [])
            guard FileManager.default.fileExists(atPath: EmbeddingIndex.path(out, "index.json")) else { return State(metadata: fresh) }
            let index = try EmbeddingIndex(directory: out)
            guard index.metadata.checkpointCRC32 == crc else {
                throw IndexError.otherCheckpoint(out, "made from another checkpoint (\(index.metadata.checkpoint)) than \(checkpoint); "
                                                 + "embed into a new folder")
            }
            guard index.metadata.length == length && index.metadata.stride == stride else {
                throw IndexError.otherCheckpoint(out, "made with windows of \(index.metadata.length) s every \(index.metadata.stride) s, "
                                                 + "not \(length) s every \(stride) s")
            }
            var state = State(metadata: index.metadata, windows: try index.windows.all(), narrations: try index.narrations.all())
            for table in index.metadata.tables.keys {
                state.rows[table] = try index.withMatrix(table) { p, rows, dim in Array(UnsafeBufferPointer(start: p, count: rows * dim)) }
            }
            return state
        }

        /// Writes the tables and segments as new files of the next generation, then the
        /// metadata that names them (atomically), then removes the files of other generations:
        /// a stop or a full disk before the switch leaves the previous index whole and its
        /// tables in agreement.
        mutating func save(out: String) throws {
            var next = metadata
            next.generation = (metadata.generation ?? 0) + 1
            for (table, values) in rows {
                let rowCount = table.hasPrefix("text.") ? narrations.count : windows.count
                let dim = rowCount == 0 ? 0 : values.count / rowCount
                try writeAtomically(NPY.encode(values, shape: [rowCount, dim]), to: EmbeddingIndex.path(out, next.fileName(table, "npy")))
                next.tables[table] = [rowCount, dim]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for (name, segments) in [("windows", windows), ("narrations", narrations)] {
                let text = try segments.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
                try writeAtomically(Data(text.utf8), to: EmbeddingIndex.path(out, next.fileName(name, "jsonl")))
            }
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try writeAtomically(try encoder.encode(next), to: EmbeddingIndex.path(out, "index.json"))
            metadata = next
            Self.removeOtherGenerations(out: out, keeping: next)
        }

        /// Removes the table and segment files of `out` that `metadata` does not name (earlier
        /// generations, a save stopped before its switch, the unnumbered files of an old index).
        static func removeOtherGenerations(out: String, keeping metadata: IndexMetadata) {
            let current = Set(metadata.tables.keys.map { metadata.fileName($0, "npy") }
                              + ["windows", "narrations"].map { metadata.fileName($0, "jsonl") })
            let bases = Set(metadata.tables.keys).union(["windows", "narrations"])
            for file in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] where !current.contains(file) {
                let parts = file.split(separator: ".").map(String.init)
                guard let ext = parts.last, ext == "npy" || ext == "jsonl", parts.count >= 2 else { continue }
                var stem = parts.dropLast()
                if let g = stem.last, g.hasPrefix("g"), Int(g.dropFirst()) != nil { stem = stem.dropLast() }
                if bases.contains(stem.joined(separator: ".")) { try? FileManager.default.removeItem(atPath: EmbeddingIndex.path(out, file)) }
            }
        }
    }
}

/// The CRC-32 of a file's bytes (read in 4 MB pieces).
func fileCRC32(_ path: String) throws -> UInt32 {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw IndexError.missing(path) }
    defer { try? handle.close() }
    var crc: UInt32 = 0
    while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        crc = chunk.withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
    }
    return crc
}
