import AudioFeatures
import Foundation
import Media
import TensorCore
import Text

/// A failure to read one view, naming the file.
public struct ViewLoadError: Error, CustomStringConvertible {
    public var video: Int
    public var path: String
    public var underlying: String
    /// The video had already failed and been reported; it was not read again.
    public var alreadyReported = false
    public var description: String { "\(path): \(underlying)" }
}

/// Decodes (or reads from a clip cache) and augments the views of examples into batch buffers.
public struct ClipLoader: Sendable {
    public let videos: [SampledVideo]
    public let geometry: ClipGeometry
    public var videoAugmentation: VideoAugmentation
    public var audioAugmentation: AudioAugmentation
    /// Where clips are read from instead of decoding, for the videos it holds.
    public let cache: ClipCache?
    /// Token ids of text views.
    public let vocabulary: Vocabulary?
    let extractor: LogMelExtractor

    public init(videos: [SampledVideo], geometry: ClipGeometry, video: VideoAugmentation, audio: AudioAugmentation,
                frontEnd: FrontEnd = .default, cache: ClipCache? = nil, vocabulary: Vocabulary? = nil) {
        (self.videos, self.geometry, self.videoAugmentation, self.audioAugmentation) = (videos, geometry, video, audio)
        self.cache = cache
        self.vocabulary = vocabulary
        extractor = LogMelExtractor(frontEnd)
    }

    /// Writes the ids of the `nearest`-th narration to the centre of the clip at `start`
    /// (within ±`window` s) into `out` (`maxTokens` values, ids as floats).
    public func loadText(video v: Int, start: Double, nearest: Int, window: Double, into out: UnsafeMutablePointer<Float>) throws {
        guard let vocabulary else { preconditionFailure("ClipLoader: text views need a vocabulary") }
        let lines = videos[v].narrations(near: start + geometry.duration / 2, window: window, count: nearest + 1)
        guard let line = lines.last else {
            throw ViewLoadError(video: v, path: videos[v].path, underlying: "no narration to read a text view from")
        }
        for (i, id) in vocabulary.ids(line.text).enumerated() { out[i] = Float(id) }
    }

    /// Values of one clip of a modality: video `[3, frames, size, size]`, audio `[1, melFrames, bands]`.
    public func clipShape(_ m: Modality) -> [Int] {
        switch m {
        case .video: [3, geometry.frames, geometry.size, geometry.size]
        case .audio: [1, geometry.melFrames, extractor.frontEnd.bands]
        case .text: [vocabulary?.tokenizer.maxTokens ?? Tokenizer().maxTokens]
        }
    }

    /// Writes one view into `out` (clipShape values); a text view is the nearest narration.
    public func load(_ modality: Modality, video v: Int, start: Double, rng: inout SeededRandom,
                     into out: UnsafeMutablePointer<Float>) throws {
        if modality == .text { return try loadText(video: v, start: start, nearest: 0, window: ViewRequest(.text).window, into: out) }
        let path = videos[v].path
        do {
            if let cache, let (index, entry) = cache.entry(id: videos[v].id) {
                try loadCached(modality, cache: cache, entry: index, entry, start: start, rng: &rng, into: out)
                return
            }
            switch modality {
            case .video:
                let reader = try VideoReader(path: path, threads: 1)
                let frames = try reader.frames(at: geometry.frameTimes(start: start), geometry: geometry.decodeGeometry)
                videoAugmentation.apply(frames: frames.pixels, count: frames.count, width: frames.width, height: frames.height,
                                        geometry: geometry, rng: &rng, into: out)
            case .audio:
                let reader = try AudioReader(path: path, rate: geometry.sampleRate)
                try audioView(samples: reader.read(start: start, duration: geometry.duration), rng: &rng, into: out)
            case .text:
                preconditionFailure("ClipLoader: text views are read by loadText")
            }
        } catch let error as ClipCacheError {
            throw ViewLoadError(video: v, path: path, underlying: "\(error)")
        } catch {
            throw ViewLoadError(video: v, path: path, underlying: "\(error)".replacingOccurrences(of: path + ": ", with: ""))
        }
    }

    /// Audio views `[starts.count, 1, melFrames, bands]` of one video at many starts (each
    /// within the video), from one read of the span they cover: what offset search scores
    /// (dozens of windows a few hops apart) without decoding each.
    public func loadAudioViews(video v: Int, starts: [Double], rng: inout SeededRandom, into out: UnsafeMutablePointer<Float>) throws {
        guard let lo = starts.min(), let hi = starts.max() else { return }
        let path = videos[v].path
        let rate = Double(geometry.sampleRate)
        let samples: [Float]
        do {
            if let cache, let (index, _) = cache.entry(id: videos[v].id) {
                let first = Int((lo * rate).rounded())
                let count = Int(((hi - lo) * rate).rounded()) + geometry.samples
                samples = try cache.withBytes(entry: index, \.audio) { raw in
                    let all = raw.bindMemory(to: Float.self)
                    let available = max(0, min(count, all.count - first))
                    return Array(all[first..<(first + available)]) + [Float](repeating: 0, count: count - available)
                }
            } else {
                // Windows past the end of the audio (a track that ends before the video) read silence there.
                let reader = try AudioReader(path: path, rate: geometry.sampleRate)
                let wanted = hi - lo + geometry.duration
                let available = min(wanted, reader.endTime - lo)
                let read = available > 0.01 ? try reader.read(start: lo, duration: available) : []
                samples = read + [Float](repeating: 0, count: max(0, Int((wanted * rate).rounded()) - read.count))
            }
        } catch let error as ClipCacheError {
            throw ViewLoadError(video: v, path: path, underlying: "\(error)")
        } catch {
            throw ViewLoadError(video: v, path: path, underlying: "\(error)".replacingOccurrences(of: path + ": ", with: ""))
        }
        let size = clipShape(.audio).reduce(1, *)
        for (k, s) in starts.enumerated() {
            let first = Int(((s - lo) * rate).rounded())
            let available = max(0, min(geometry.samples, samples.count - first))
            let window = Array(samples[first..<(first + available)]) + [Float](repeating: 0, count: geometry.samples - available)
            try audioView(samples: window, rng: &rng, into: out + k * size)
        }
    }

    /// A view from the cache: the cached frames nearest the clip's frame times (the cache
    /// holds one every `frameSpacing` seconds, so a clip's frames are within half of that of
    /// its times); the audio window's samples, or — without gain augmentation — the cached
    /// log-mel frames of the window.
    ///
    /// NOTE: cached log-mel frames at a window's first and last few frames see the audio
    /// beyond the window (computed over the whole file), where a decoded window is padded.
    func loadCached(_ modality: Modality, cache: ClipCache, entry index: Int, _ entry: ClipCache.Entry, start: Double,
                    rng: inout SeededRandom, into out: UnsafeMutablePointer<Float>) throws {
        switch modality {
        case .video:
            let frameBytes = entry.width * entry.height * 3
            let pixels = try cache.withBytes(entry: index, \.frames) { raw in
                [UInt8](unsafeUninitializedCapacity: geometry.frames * frameBytes) { buffer, initialized in
                    for (j, t) in geometry.frameTimes(start: start).enumerated() {
                        let k = min(entry.frameCount - 1, max(0, Int((t / geometry.frameSpacing).rounded())))
                        UnsafeMutableRawPointer(buffer.baseAddress! + j * frameBytes)
                            .copyMemory(from: raw.baseAddress! + k * frameBytes, byteCount: frameBytes)
                    }
                    initialized = geometry.frames * frameBytes
                }
            }
            videoAugmentation.apply(frames: pixels, count: geometry.frames, width: entry.width, height: entry.height,
                                    geometry: geometry, rng: &rng, into: out)
        case .audio where audioAugmentation.gainDecibels == 0:
            let bands = extractor.frontEnd.bands
            let first = Int((start * Double(geometry.sampleRate) / Double(extractor.frontEnd.hop)).rounded())
            let frames = max(0, min(geometry.melFrames, entry.melFrames - first))
            guard frames > 0 else { throw ClipCacheError.malformed(entry.shard, "\(entry.id): no log-mel frames at \(start) s") }
            try cache.withBytes(entry: index, \.logMel) { raw in
                let mel = raw.bindMemory(to: Float.self)
                out.update(from: mel.baseAddress! + first * bands, count: frames * bands)
            }
            padMel(out, frames: frames, bands: bands)
            audioAugmentation.mask(out, frames: geometry.melFrames, bands: bands, rng: &rng)
        case .text:
            preconditionFailure("ClipLoader: text views are read by loadText")
        case .audio:
            let first = Int((start * Double(geometry.sampleRate)).rounded())
            let samples = try cache.withBytes(entry: index, \.audio) { raw in
                let all = raw.bindMemory(to: Float.self)
                let available = max(0, min(geometry.samples, all.count - first))
                return Array(all[first..<(first + available)]) + [Float](repeating: 0, count: geometry.samples - available)
            }
            try audioView(samples: samples, rng: &rng, into: out)
        }
    }

    /// The audio view of a window's samples: gain, log-mel cut (or padded) to `melFrames`, masks.
    func audioView(samples: [Float], rng: inout SeededRandom, into out: UnsafeMutablePointer<Float>) throws {
        var samples = samples
        audioAugmentation.gain(&samples, rng: &rng)
        let mel = try extractor.compute(samples, sampleRate: geometry.sampleRate, threads: 1)
        let bands = extractor.frontEnd.bands
        let frames = min(geometry.melFrames, mel.count / bands)
        mel.withUnsafeBufferPointer { m in out.update(from: m.baseAddress!, count: frames * bands) }
        padMel(out, frames: frames, bands: bands)
        audioAugmentation.mask(out, frames: geometry.melFrames, bands: bands, rng: &rng)
    }

    /// A short window: the frames past `frames` repeat the last one.
    func padMel(_ out: UnsafeMutablePointer<Float>, frames: Int, bands: Int) {
        for t in frames..<geometry.melFrames { (out + t * bands).update(from: out + (frames - 1) * bands, count: bands) }
    }
}
