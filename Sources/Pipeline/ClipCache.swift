import AudioFeatures
import Corpora
import Foundation
import TensorCore

/// A clip cache (`concord prepare CORPUS --out CACHE`): each video's frames at the clip
/// geometry's rate (one every `frameSpacing` seconds) and decode size as RGB24 bytes, its
/// 16 kHz mono audio as Float32 and the audio's log-mel, in memory-mapped shard files, with a
/// JSON manifest (`cache.json`) that records the geometry, the front-end and a CRC-32 of every
/// array. Training reads clips from it instead of decoding.
///
/// Layout: `CACHE/cache.json` and `CACHE/shard-NNN.bin` (raw little-endian arrays, each
/// starting at a multiple of 64 bytes; a video never spans two shards).
public final class ClipCache: @unchecked Sendable {
    /// Where one array lies in a shard.
    public struct Span: Codable, Equatable, Sendable {
        public var offset: Int
        /// Bytes.
        public var length: Int
        public var crc32: UInt32
    }

    /// One video of the cache.
    public struct Entry: Codable, Equatable, Sendable {
        public var id: String
        public var path: String
        public var split: String?
        public var labels: [String: String]
        public var duration: Double
        public var shard: String
        /// `[frameCount, height, width, 3]` bytes; frame k shows time k · frameSpacing.
        public var frames: Span?
        public var frameCount: Int
        public var width: Int
        public var height: Int
        /// 16 kHz mono Float32 samples from time 0.
        public var audio: Span?
        /// `[melFrames, bands]` Float32, the front-end over the whole audio.
        public var logMel: Span?
        public var melFrames: Int
        /// The media file's size in bytes when it was cached (absent in caches made before it
        /// was recorded): how `check(against:split:)` tells another corpus's file of the same name.
        public var bytes: Int?
    }

    /// `cache.json`.
    public struct Manifest: Codable, Equatable, Sendable {
        public var format = "concord-clip-cache"
        public var version = 1
        public var corpus: String
        public var geometry: ClipGeometry
        public var frontEnd: FrontEnd
        public var entries: [Entry]
        /// Videos left out when the cache was made: file and reason.
        public var problems: [[String]]
    }

    public let directory: String
    public let manifest: Manifest
    private let lock = NSLock()
    private var shards: [String: Data] = [:]
    private var verified = Set<Int>()
    private var corrupt: [Int: String] = [:]

    /// Opens a cache made by `prepare` (the shards are mapped when first read).
    public init(directory: String) throws {
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent("cache.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ClipCacheError.missing(path) }
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ClipCacheError.malformed(path, "\(error)")
        }
        guard manifest.format == "concord-clip-cache" && manifest.version == 1 else {
            throw ClipCacheError.malformed(path, "not a version 1 Concord clip cache (format \(manifest.format), version \(manifest.version))")
        }
        for e in manifest.entries { try Self.check(e, bands: manifest.frontEnd.bands, path: path) }
        index = Dictionary(manifest.entries.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// An entry's sizes must describe its arrays (a damaged or hand-edited `cache.json` is an
    /// error naming the entry, not a read past a shard): every product is overflow-checked.
    static func check(_ e: Entry, bands: Int, path: String) throws {
        func bad(_ why: String) -> ClipCacheError { .malformed(path, "entry '\(e.id)': \(why)") }
        guard !e.shard.isEmpty, !e.shard.contains("/"), e.shard != "..", e.shard != "." else { throw bad("the shard name '\(e.shard)' is not a file in the cache") }
        guard e.duration.isFinite, e.duration >= 0 else { throw bad("duration \(e.duration)") }
        for (name, span, expected) in [("frames", e.frames, elementCount([e.frameCount, e.height, e.width, 3])),
                                       ("audio", e.audio, nil as Int?), ("log-mel", e.logMel, elementCount([e.melFrames, bands, 4]))] {
            guard let span else { continue }
            guard span.offset >= 0, span.length >= 0, !span.offset.addingReportingOverflow(span.length).overflow else {
                throw bad("\(name) at offset \(span.offset), \(span.length) bytes")
            }
            if name == "frames" {
                guard e.frameCount >= 1, e.width >= 1, e.height >= 1 else { throw bad("\(e.frameCount) frames of \(e.width)x\(e.height)") }
            }
            if name == "audio" { guard span.length % 4 == 0 else { throw bad("audio of \(span.length) bytes is not float32 samples") } }
            if name == "log-mel" { guard e.melFrames >= 1 else { throw bad("\(e.melFrames) log-mel frames") } }
            if name != "audio" {
                guard let expected, expected == span.length else { throw bad("\(name) of \(span.length) bytes do not fit the sizes it states") }
            }
        }
    }

    /// The cached videos of a split (nil: all) as the sampler's videos, in the cache's order.
    public func videos(split: String?) -> [SampledVideo] {
        manifest.entries.filter { split == nil || $0.split == split }.map {
            SampledVideo(id: $0.id, path: $0.path, duration: $0.duration, hasVideo: $0.frames != nil, hasAudio: $0.audio != nil,
                         labels: $0.labels)
        }
    }

    /// Refuses a cache that does not hold `corpus`'s videos of `split` (nil: every split) as
    /// they are now: made from another corpus, before the splits changed, before videos were
    /// added, or from files that have changed size since. Videos `prepare` left out (its
    /// recorded problems) are not asked for.
    public func check(against corpus: Corpus, split: String?) throws {
        let wanted = corpus.entries.filter { split == nil || $0.split == split }
        let cached = Dictionary(manifest.entries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let leftOut = Set(manifest.problems.compactMap(\.first))
        let corpusIDs = Set(wanted.map(\.id))
        func listed(_ ids: [String]) -> String { ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", …" : "") }
        let where_ = split.map { "split '\($0)'" } ?? "the corpus"
        var differences: [String] = []
        let missing = wanted.filter { cached[$0.id] == nil && !leftOut.contains(corpus.resolve($0.media)) }.map(\.id)
        if !missing.isEmpty { differences.append("\(missing.count) video(s) of \(where_) are not in the cache (\(listed(missing)))") }
        // A cached video of the split that the corpus now puts in another split has changed
        // split; one the corpus does not hold at all is extra.
        let splitNow = Dictionary(corpus.entries.map { ($0.id, $0.split) }, uniquingKeysWith: { a, _ in a })
        var changed: [String] = []
        var extra: [String] = []
        for c in manifest.entries where (split == nil || c.split == split) && !corpusIDs.contains(c.id) {
            if let now = splitNow[c.id] { changed.append("\(c.id) (split \(c.split ?? "") → \(now))") } else { extra.append(c.id) }
        }
        if !extra.isEmpty { differences.append("\(extra.count) cached video(s) of \(where_) are not in the corpus (\(listed(extra)))") }
        for e in wanted {
            guard let c = cached[e.id] else { continue }
            if c.split != nil && c.split != e.split { changed.append("\(e.id) (split \(c.split ?? "") → \(e.split))"); continue }
            let path = corpus.resolve(e.media)
            if (c.path as NSString).lastPathComponent != (path as NSString).lastPathComponent {
                changed.append("\(e.id) (file \((c.path as NSString).lastPathComponent) → \((path as NSString).lastPathComponent))"); continue
            }
            if let bytes = c.bytes, let now = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, now != bytes {
                changed.append("\(e.id) (\(bytes) bytes cached, \(now) now)")
            }
        }
        if !changed.isEmpty { differences.append("\(changed.count) video(s) differ (\(listed(changed)))") }
        guard differences.isEmpty else {
            throw ClipCacheError.stale(directory, "does not match the corpus \(corpus.root): " + differences.joined(separator: "; ")
                                       + " (made from another corpus or before it changed: make it again with concord prepare)")
        }
    }

    /// The entry of a video id.
    public func entry(id: String) -> (index: Int, entry: Entry)? {
        guard let i = index[id] else { return nil }
        return (i, manifest.entries[i])
    }

    private let index: [String: Int]

    /// Runs `body` on the bytes of one array of entry `i`, after checking the entry's
    /// checksums the first time it is read. Throws, naming the shard, when a shard is missing,
    /// too short or its bytes do not match the checksum.
    public func withBytes<T>(entry i: Int, _ span: KeyPath<Entry, Span?>, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let e = manifest.entries[i]
        guard let s = e[keyPath: span] else { throw ClipCacheError.malformed(e.shard, "\(e.id) has no such stream in the cache") }
        let data = try shardData(e.shard)
        try verify(entry: i, data: data)
        return try data.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[s.offset..<(s.offset + s.length)])) }
    }

    private func shardData(_ name: String) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if let d = shards[name] { return d }
        let path = (directory as NSString).appendingPathComponent(name)
        guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw ClipCacheError.missing(path) }
        shards[name] = d
        return d
    }

    private func verify(entry i: Int, data: Data) throws {
        lock.lock()
        let done = verified.contains(i), failure = corrupt[i]
        lock.unlock()
        if let failure { throw ClipCacheError.corrupt(failure) }
        if done { return }
        let e = manifest.entries[i]
        let path = (directory as NSString).appendingPathComponent(e.shard)
        var problem: String?
        for (name, span) in [("frames", e.frames), ("audio", e.audio), ("log-mel", e.logMel)] {
            guard let span else { continue }
            guard span.offset >= 0, span.offset + span.length <= data.count else {
                problem = "\(path): \(e.id)'s \(name) lie past the end of the shard (\(data.count) bytes); the cache is truncated"
                break
            }
            let crc = data.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[span.offset..<(span.offset + span.length)])) }
            if crc != span.crc32 {
                problem = "\(path): \(e.id)'s \(name) do not match their checksum; the cache is corrupt (make it again with concord prepare)"
                break
            }
        }
        lock.lock()
        if let problem { corrupt[i] = problem } else { verified.insert(i) }
        lock.unlock()
        if let problem { throw ClipCacheError.corrupt(problem) }
    }
}

public enum ClipCacheError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String, String)
    case corrupt(String)
    case geometryMismatch(String, String)
    case exists(String)
    case unwritable(String)
    case stale(String, String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path): not found (make the cache with concord prepare CORPUS --out CACHE)"
        case .malformed(let path, let reason): "\(path): \(reason)"
        case .corrupt(let reason): reason
        case .geometryMismatch(let path, let reason): "\(path): \(reason)"
        case .exists(let path): "\(path): a clip cache is already there (choose another --out, or remove it first)"
        case .unwritable(let path): "\(path): cannot be created"
        case .stale(let path, let reason): "\(path): \(reason)"
        }
    }
}
