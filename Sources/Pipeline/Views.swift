/// What an objective asks the sampler for, per example (`docs/design.md`: the objective declares
/// its views; the sampler, encoders and trainer serve every method alike).
public enum Modality: String, Codable, Sendable, CaseIterable {
    case video, audio
    /// A narration near the clip, as token ids.
    case text
}

/// How the clip times of one example are drawn.
public enum ClipTiming: Codable, Equatable, Sendable {
    /// One time, uniform over the video.
    case single
    /// `count` clips of one video; the span between the first and the last is drawn from the
    /// CVRL distribution `p(t) ∝ T − t` (Qian et al., CVPR 2021), the others between them.
    case cvrl(count: Int)
    /// Clips at fixed offsets (seconds) from a uniform anchor time (e.g. audio shifted for sync).
    case offsets([Double])

    public var clips: Int {
        switch self {
        case .single: 1
        case .cvrl(let n): n
        case .offsets(let o): o.count + 1
        }
    }
}

/// One view of an example: a modality at one of the example's clip times, optionally taken
/// from another video (an easy negative) with the given probability.
public struct ViewRequest: Codable, Equatable, Sendable {
    public var modality: Modality
    /// Which of the example's clip times (0 ..< timing.clips).
    public var clip: Int
    /// The probability that this view comes from another video at a random time (avc's
    /// negatives); the view's plan then names the other video.
    public var otherVideoProbability: Double
    /// Text views: which narration, by nearness to the clip's centre (0 = the nearest), among
    /// those within `window` seconds of it.
    public var nearest: Int = 0
    public var window: Double = 5
    /// A hard negative for synchronisation: with `shift.probability` (from batch
    /// `shift.fromBatch` on) the view is read from the anchor video at its clip time moved by a
    /// drawn offset; those examples are taken from the share `otherVideoProbability` would
    /// otherwise take from other videos.
    public var shift: TimeShift? = nil

    public init(_ modality: Modality, clip: Int = 0, otherVideoProbability: Double = 0) {
        self.modality = modality
        self.clip = clip
        self.otherVideoProbability = otherVideoProbability
    }

    /// The `nearest`-th narration to clip `clip`'s centre within ±`window` seconds.
    public static func narration(_ nearest: Int, clip: Int = 0, window: Double = 5) -> ViewRequest {
        var r = ViewRequest(.text, clip: clip)
        (r.nearest, r.window) = (nearest, window)
        return r
    }
}

/// How a view's time is moved for a hard synchronisation negative: by ±[minimum, maximum]
/// seconds (sign and size uniform), kept inside the video.
public struct TimeShift: Codable, Equatable, Sendable {
    /// The share of examples shifted (of all examples, once `fromBatch` is reached).
    public var probability: Double
    public var minimum: Double
    public var maximum: Double
    /// Batches before this one draw no shifted views (a curriculum: easy negatives first).
    public var fromBatch: Int

    public init(probability: Double, minimum: Double, maximum: Double, fromBatch: Int = 0) {
        precondition(minimum > 0 && maximum >= minimum, "TimeShift: need 0 < minimum ≤ maximum")
        (self.probability, self.minimum, self.maximum, self.fromBatch) = (probability, minimum, maximum, fromBatch)
    }
}

/// Everything the sampler must deliver for one example.
public struct ExampleSpec: Codable, Equatable, Sendable {
    public var timing: ClipTiming
    public var views: [ViewRequest]

    public init(timing: ClipTiming = .single, views: [ViewRequest]) {
        self.timing = timing
        self.views = views
    }

    /// Views of one modality, in order (each becomes a row of that modality's stream).
    public func views(of modality: Modality) -> [ViewRequest] { views.filter { $0.modality == modality } }

    /// The union of two objectives' needs, when they can share examples (the same timing);
    /// views asked for by both are delivered once.
    public func merged(with other: ExampleSpec) -> ExampleSpec? {
        guard timing == other.timing else { return nil }
        var views = self.views
        for v in other.views where !views.contains(v) { views.append(v) }
        return ExampleSpec(timing: timing, views: views)
    }
}
