import AudioFeatures
import Corpora
import Foundation
import Media
import Pipeline
import TensorCore
import Testing
import TestSupport

struct ClipCacheTests {
    static let corpus = repositoryRoot + "/corpora/sounding-objects"

    func prepared() throws -> (cache: ClipCache, directory: String) {
        let out = makeTemporaryDirectory("cache") + "/cache"
        try ClipCache.prepare(corpus: Corpus(path: Self.corpus), out: out, shardBytes: 4 << 20)
        return (try ClipCache(directory: out), out)
    }

    func view(_ loader: ClipLoader, _ m: Modality, video: Int, start: Double, seed: UInt64 = 3) throws -> [Float] {
        var rng = SeededRandom(seed: seed)
        var out = [Float](repeating: 0, count: loader.clipShape(m).reduce(1, *))
        try out.withUnsafeMutableBufferPointer { try loader.load(m, video: video, start: start, rng: &rng, into: $0.baseAddress!) }
        return out
    }

    /// Views read from the cache equal the decoded ones: video clips (augmented alike from one
    /// seed) exactly when the clip starts on the cache's 0.12 s frame grid. Audio: the cache
    /// holds the whole file's decode, so a window's samples differ from a seek-and-decode of
    /// the window (`AudioReader.read(start:duration:)` is off the whole-file decode by about
    /// 1e-3 of full scale, most in the window's first 0.1 s — a known inaccuracy of the windowed
    /// read, which the ffmpeg CLI's seek does not have; the cache equals the CLI's whole-file
    /// decode). The log of quiet bands magnifies it: the views agree to a mean |Δ| of 0.01–0.10
    /// in log-mel units; the cached log-mel is exactly the whole file's.
    @Test func cachedViewsEqualDecodedViews() throws {
        let (cache, directory) = try prepared()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Set(cache.manifest.entries.map(\.shard)).count > 1, "small shards: the corpus spans several")
        let videos = cache.videos(split: nil)
        let start = 0.12 * 7
        for (video, audio) in [(VideoAugmentation.strong, AudioAugmentation.standard), (.none, .none)] {
            let decoding = ClipLoader(videos: videos, geometry: .default, video: video, audio: audio)
            let caching = ClipLoader(videos: videos, geometry: .default, video: video, audio: audio, cache: cache)
            for v in [0, videos.count - 1] {
                #expect(try view(decoding, .video, video: v, start: start) == view(caching, .video, video: v, start: start))
                let a = try view(decoding, .audio, video: v, start: start), b = try view(caching, .audio, video: v, start: start)
                let mean = zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Float(a.count)
                #expect(mean < 0.15, "video \(v), \(audio == .none ? "cached log-mel" : "from cached samples"): mean |Δ| \(mean)")
            }
        }
        let loader = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none, cache: cache)
        let whole = try LogMelExtractor(.default).compute(AudioReader(path: videos[0].path, rate: 16000).readAll(), sampleRate: 16000)
        let first = 84 * 64  // 0.84 s at a 10 ms hop
        #expect(try view(loader, .audio, video: 0, start: start) == Array(whole[first..<(first + 96 * 64)]))
    }

    /// The cache is on the files' timeline too: in files whose audio or video starts 0.4 s
    /// late (flash and click at one instant, each stream where the file puts it), a cached view
    /// shows the flash in the same frame and hears the click in the same log-mel frame as the
    /// view decoded from the file.
    @Test func cacheAgreesWithTheFileOnLateStreams() throws {
        let root = makeTemporaryDirectory("late-corpus")
        let files = [("mp4", "libx264", "aac", 0.0, 0.4), ("mkv", "libx264", "libmp3lame", 0.4, 0.0)]
        var lines: [String] = []
        for (k, f) in files.enumerated() {
            let made = try FFmpegCLI.flashAndClick(f.0, video: f.1, audio: f.2, videoDelay: f.3, audioDelay: f.4)
            try FileManager.default.moveItem(atPath: made, toPath: root + "/late\(k).\(f.0)")
            lines.append(#"{"id":"late\#(k)","media":"late\#(k).\#(f.0)","split":"train"}"#)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/manifest.jsonl", atomically: true, encoding: .utf8)
        let out = root + "/cache"
        try ClipCache.prepare(corpus: Corpus(path: root), out: out)
        let cache = try ClipCache(directory: out)
        let videos = cache.videos(split: nil)
        let decoding = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none)
        let caching = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none, cache: cache)
        for (v, f) in files.enumerated() {
            let flash = FFmpegCLI.flashAndClickTime + f.3, click = FFmpegCLI.flashAndClickTime + f.4
            // A clip on the cache's frame grid that holds both.
            let start = 0.12 * (min(flash, click) / 0.12 - 1).rounded(.down)
            for (m, what) in [(Modality.video, "flash"), (.audio, "click")] {
                let a = try view(decoding, m, video: v, start: start), b = try view(caching, m, video: v, start: start)
                // Video views are [channels, time, height, width]: frames of channel 0; audio
                // views [1, time, bands]. The onset: the first frame louder than halfway.
                let step = m == .video ? 112 * 112 : 64
                let count = m == .video ? 8 : 96
                func loudest(_ x: [Float]) -> Int {
                    let sums = (0..<count).map { x[($0 * step)..<(($0 + 1) * step)].reduce(0, +) }
                    let half = (sums.min()! + sums.max()!) / 2
                    return sums.firstIndex { $0 > half }!
                }
                let (fromFile, fromCache) = (loudest(a), loudest(b))
                #expect(fromFile == fromCache, "\(f.0) \(what): frame \(fromFile) decoded, \(fromCache) cached")
                let expected = m == .video ? ((flash - start) / 0.12).rounded(.up) : (click - start) / 0.01
                #expect(abs(Double(fromCache) - expected) <= (m == .video ? 1 : 4), "\(f.0) \(what) in frame \(fromCache), expected about \(expected)")
            }
        }
    }

    /// A flipped byte in a shard is caught by the checksum and a truncated shard by its length:
    /// the view fails with the shard's path and the reason, and the video can be skipped.
    @Test func corruptOrTruncatedShardsAreReportedByName() throws {
        let (cache, directory) = try prepared()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = cache.manifest.entries[0], last = cache.manifest.entries.last!
        let shardPath = directory + "/" + first.shard
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: shardPath))
        try handle.seek(toOffset: UInt64(first.frames!.offset + 1000))
        let byte = try handle.read(upToCount: 1)!
        try handle.seek(toOffset: UInt64(first.frames!.offset + 1000))
        try handle.write(contentsOf: Data([byte[0] ^ 0x55]))
        try handle.close()
        let lastShard = directory + "/" + last.shard
        let size = try FileManager.default.attributesOfItem(atPath: lastShard)[.size] as! Int
        truncate(lastShard, off_t(size - 100))

        let reopened = try ClipCache(directory: directory)
        let videos = reopened.videos(split: nil)
        let loader = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none, cache: reopened)
        for (v, shard, reason) in [(0, shardPath, "checksum"), (videos.count - 1, lastShard, "truncated")] {
            do {
                _ = try view(loader, .audio, video: v, start: 0.5)
                Issue.record("video \(v) loaded from a damaged shard")
            } catch let e as ViewLoadError {
                #expect(e.description.contains(shard) && e.description.contains(reason), "\(e)")
            }
        }
        if videos.count > 2 { _ = try view(loader, .video, video: 1, start: 0.5) }  // an intact entry still reads
    }

    /// A `cache.json` whose sizes are impossible (huge or negative offsets, zero dimensions,
    /// a shard outside the cache) is refused when the cache opens, naming the entry (issue 24).
    @Test func impossibleSizesInTheManifestAreErrors() throws {
        let (_, directory) = try prepared()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cache.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("offset", { e in var f = e["frames"] as! [String: Any]; f["offset"] = Int.max - 10; e["frames"] = f }),
            ("offset", { e in var f = e["frames"] as! [String: Any]; f["offset"] = -64; e["frames"] = f }),
            ("frames of", { e in e["width"] = 0 }),
            ("do not fit", { e in e["frameCount"] = 1 << 40 }),
            ("log-mel frames", { e in e["melFrames"] = 0 }),
            ("not a file in the cache", { e in e["shard"] = "../../etc/passwd" }),
        ]
        for (mention, edit) in edits {
            var changed = json
            var entries = changed["entries"] as! [[String: Any]]
            edit(&entries[0])
            changed["entries"] = entries
            try JSONSerialization.data(withJSONObject: changed).write(to: URL(fileURLWithPath: path))
            do {
                _ = try ClipCache(directory: directory)
                Issue.record("\(mention): accepted")
            } catch {
                #expect("\(error)".contains(path) && "\(error)".contains(mention), "\(error)")
            }
        }
        try original.write(to: URL(fileURLWithPath: path))
        _ = try ClipCache(directory: directory)
    }

    @Test func aMissingOrForeignCacheIsAClearError() throws {
        #expect(throws: ClipCacheError.self) { try ClipCache(directory: "/nonexistent/cache") }
        let dir = NSTemporaryDirectory() + "concord-notcache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{\"format\": \"other\"}".utf8).write(to: URL(fileURLWithPath: dir + "/cache.json"))
        do {
            _ = try ClipCache(directory: dir)
            Issue.record("a foreign cache.json opened")
        } catch let e as ClipCacheError {
            #expect(e.description.contains(dir + "/cache.json"))
        }
    }

    /// The standard check value, and on longer inputs (every length mod 8, pieces continued)
    /// the byte-at-a-time definition.
    @Test func crc32IsZlibs() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        func definition(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b {
                c ^= UInt32(x)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return ~c
        }
        var rng = SeededRandom(seed: 9)
        for n in [0, 1, 7, 8, 9, 63, 1000, 4099] {
            let data = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(data.withUnsafeBytes { CRC32.checksum($0) } == definition(data), "\(n) bytes")
            let half = n / 3
            let continued = data[half...].withUnsafeBytes { rest in
                CRC32.checksum(rest, continuing: data[..<half].withUnsafeBytes { CRC32.checksum($0) })
            }
            #expect(continued == definition(data), "\(n) bytes in two pieces")
        }
    }
}
