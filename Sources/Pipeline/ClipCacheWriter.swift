import AudioFeatures
import Corpora
import Foundation
import Media
import TensorCore

extension ClipCache {
    /// What `prepare` reports as it goes.
    public enum PrepareEvent: Sendable {
        /// Videos done (cached or left out) of the total.
        case progress(done: Int, total: Int)
        /// A video left out: file and reason.
        case problem(file: String, reason: String)
        /// Something the user should know that is not about one video.
        case notice(String)
    }

    /// Decodes every usable video of `corpus` (one split, or all) into a cache at `out`:
    /// frames every `geometry.frameSpacing` seconds at the decode size (short side
    /// `geometry.shortSide`), 16 kHz mono audio and its log-mel under `frontEnd`. Videos that
    /// fail to decode are reported and left out. `workers` videos are decoded at once; shards
    /// hold about `shardBytes` each. The manifest is written last, atomically, so an
    /// interrupted run leaves no cache that opens.
    @discardableResult
    public static func prepare(corpus: Corpus, split: String? = nil, geometry: ClipGeometry = .default,
                               frontEnd: FrontEnd = .default, out: String, workers: Int = 2, shardBytes: Int = 256 << 20,
                               report: (PrepareEvent) -> Void = { _ in }) throws -> Manifest {
        let manifestPath = (out as NSString).appendingPathComponent("cache.json")
        guard !FileManager.default.fileExists(atPath: manifestPath) else { throw ClipCacheError.exists(out) }
        let lock = try FolderLock(folder: out, purpose: "concord prepare (writing a clip cache)")
        defer { lock.release() }
        if let previous = lock.tookOverFrom { report(.notice("\(out): took over the lock left by \(previous), which is no longer running")) }
        let (videos, problems) = SampledVideo.load(corpus: corpus, split: split, needs: [], geometry: geometry)
        var manifest = Manifest(corpus: corpus.root, geometry: geometry, frontEnd: frontEnd, entries: [],
                                problems: problems.map { [$0.file, $0.problem] })
        for p in problems { report(.problem(file: p.file, reason: p.problem)) }
        let splits = Dictionary(corpus.entries.map { ($0.id, $0.split) }, uniquingKeysWith: { a, _ in a })
        var shard = try ShardWriter(directory: out, index: 0)
        let total = videos.count + problems.count
        report(.progress(done: problems.count, total: total))
        for first in stride(from: 0, to: videos.count, by: max(1, workers)) {
            let group = Array(videos[first..<min(first + max(1, workers), videos.count)])
            let decoded = decodeConcurrently(group, geometry: geometry, frontEnd: frontEnd)
            for (k, (video, result)) in zip(group, decoded).enumerated() {
                switch result {
                case .failure(let error):
                    let reason = "\(error)".replacingOccurrences(of: video.path + ": ", with: "")
                    manifest.problems.append([video.path, reason])
                    report(.problem(file: video.path, reason: reason))
                case .success(let d):
                    if shard.offset > 0 && shard.offset + d.bytes > shardBytes {
                        try shard.close()
                        shard = try ShardWriter(directory: out, index: shard.index + 1)
                    }
                    var entry = Entry(id: video.id, path: video.path, split: splits[video.id], labels: video.labels,
                                      duration: video.duration, shard: shard.name, frames: nil, frameCount: d.frameCount,
                                      width: d.width, height: d.height, audio: nil, logMel: nil, melFrames: d.melFrames,
                                      bytes: (try? FileManager.default.attributesOfItem(atPath: video.path))?[.size] as? Int)
                    entry.frames = try d.pixels.map { p in try p.withUnsafeBytes { try shard.append($0) } }
                    entry.audio = try d.samples.map { s in try s.withUnsafeBytes { try shard.append($0) } }
                    entry.logMel = try d.logMel.map { m in try m.withUnsafeBytes { try shard.append($0) } }
                    manifest.entries.append(entry)
                }
                report(.progress(done: problems.count + first + k + 1, total: total))
            }
        }
        try shard.close()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(manifest), to: manifestPath)
        return manifest
    }

    /// One video's decoded arrays.
    struct Decoded: Sendable {
        var pixels: [UInt8]?
        var frameCount = 0, width = 0, height = 0
        var samples: [Float]?
        var logMel: [Float]?
        var melFrames = 0
        var bytes: Int { (pixels?.count ?? 0) + 4 * ((samples?.count ?? 0) + (logMel?.count ?? 0)) }
    }

    static func decodeConcurrently(_ videos: [SampledVideo], geometry: ClipGeometry, frontEnd: FrontEnd) -> [Result<Decoded, Error>] {
        let results = ResultSlots<Decoded>(count: videos.count)
        DispatchQueue.concurrentPerform(iterations: videos.count) { i in
            results[i] = Result { try decode(videos[i], geometry: geometry, frontEnd: frontEnd) }
        }
        return results.values
    }

    /// The frames on the `frameSpacing` grid from time 0, the audio and its log-mel.
    static func decode(_ video: SampledVideo, geometry: ClipGeometry, frontEnd: FrontEnd) throws -> Decoded {
        var d = Decoded()
        if video.hasVideo {
            let reader = try VideoReader(path: video.path, threads: 1)
            // Frames strictly inside the stream: k · spacing < its end on the file's timeline.
            let count = max(1, Int(((reader.endTime - 1e-3) / geometry.frameSpacing).rounded(.down)) + 1)
            let frames = try reader.frames(at: (0..<count).map { Double($0) * geometry.frameSpacing }, geometry: geometry.decodeGeometry)
            (d.pixels, d.frameCount, d.width, d.height) = (frames.pixels, frames.count, frames.width, frames.height)
        }
        if video.hasAudio {
            let samples = try AudioReader(path: video.path, rate: geometry.sampleRate).readAll()
            let mel = try LogMelExtractor(frontEnd).compute(samples, sampleRate: geometry.sampleRate, threads: 1)
            (d.samples, d.logMel, d.melFrames) = (samples, mel, mel.count / frontEnd.bands)
        }
        return d
    }
}

/// Appends arrays to one shard file, each at a multiple of 64 bytes.
struct ShardWriter {
    let index: Int
    let name: String
    let handle: FileHandle
    private(set) var offset = 0

    init(directory: String, index: Int) throws {
        self.index = index
        name = String(format: "shard-%03d.bin", index)
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ClipCacheError.unwritable(path) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws -> ClipCache.Span {
        let padding = (64 - offset % 64) % 64
        if padding > 0 { try handle.write(contentsOf: Data(count: padding)) }
        offset += padding
        let span = ClipCache.Span(offset: offset, length: bytes.count, crc32: CRC32.checksum(bytes))
        try handle.write(contentsOf: Data(bytes))
        offset += bytes.count
        return span
    }

    func close() throws {
        try handle.synchronize()
        try handle.close()
    }
}

/// Slots that concurrent workers fill, one each.
final class ResultSlots<T>: @unchecked Sendable {
    private var slots: [Result<T, Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    subscript(i: Int) -> Result<T, Error>? {
        get { lock.lock(); defer { lock.unlock() }; return slots[i] }
        set { lock.lock(); slots[i] = newValue; lock.unlock() }
    }
    var values: [Result<T, Error>] { slots.map { $0! } }
}
