import Encoders
import NN
import Objectives
import Pipeline
import TensorCore

/// `avnce`: symmetric InfoNCE between the projected video and audio of the same time (the
/// audio–video contrast of MMV and AVID; `docs/methods.md#avnce`).
///
/// Views: one video clip `[B, 3, T, H, W]` and the audio log-mel of the same window
/// `[B, 1, 96, 64]`. Head: a projection MLP per modality to 128 dimensions, L2-normalised.
/// Loss: InfoNCE over the `B × B` scores, both directions, temperature τ.
///
/// With `localize` (EZ-VSL, Mo & Morgado 2022): the video encoder's time-averaged feature
/// map `[B, C, 7, 7]` is projected per location by a 1x1 convolution to `[B, 128, 49]`,
/// L2-normalised per location, and a clip matches an audio by its best location; the
/// per-location scores with the clip's own audio are the heatmap (`LocalizedInfoNCE`).
public struct AVNCE: Method {
    public struct Options: Codable, Equatable, Sendable {
        /// InfoNCE temperature τ.
        public var temperature: Float = 0.07
        /// Match the best of the 7x7 locations (heatmaps) instead of the pooled clip.
        public var localize: Bool = false
        /// With `localize`: the clip's picture as a whole (its mean location) is one more
        /// negative for its own sound (LVS's hard negative; `LocalizedInfoNCE`).
        public var backgroundNegative: Bool = false
        /// With `localize`: also contrast clips shown in pairs side by side (Mix and Localize, Hu,
        /// Chen & Owens, CVPR 2022, with two clips): each clip's sound against the locations of
        /// its own half of the pair's picture, so a location has to say what is there rather
        /// than what the whole picture holds. Doubles the video encoder's work.
        public var mix: Bool = false
        /// With `localize`: each clip shrunk to a random scale in [0.5, 1] and pasted at a random
        /// place over the next clip of the batch (CutMix's box, Yun et al., ICCV 2019, used as
        /// LVS and Mix and Localize use mixtures): the sound must match a location inside the box,
        /// wherever the box is, so no fixed location (a border, say) can answer for the picture.
        public var paste: Bool = false
        public init() {}
    }

    public static let name = "avnce"
    public static let summary = "symmetric InfoNCE between a clip and its sound (localize: true for EZ-VSL heatmaps)"
    public static var defaultOptions: Options { Options() }
    public let options: Options

    public init(options: Options) throws {
        guard options.temperature > 0, options.temperature.isFinite else {
            throw MethodError.invalid(Self.name, "temperature", "must be a positive number (got \(options.temperature))")
        }
        guard !options.backgroundNegative || options.localize else {
            throw MethodError.invalid(Self.name, "background_negative", "needs localize: true (it is a negative among the locations)")
        }
        guard !options.paste || options.localize else {
            throw MethodError.invalid(Self.name, "paste", "needs localize: true (it contrasts locations)")
        }
        guard !options.mix || options.localize else {
            throw MethodError.invalid(Self.name, "mix", "needs localize: true (it contrasts locations)")
        }
        self.options = options
    }

    public final class Head: Module {
        /// The pooled clip's projection (nil with `localize`).
        public let video: ProjectionHead?
        /// The per-location 1x1 projection of the feature map (with `localize`).
        public let locations: Conv2d?
        public let audio: ProjectionHead
        init(video: ProjectionHead?, locations: Conv2d?, audio: ProjectionHead) {
            (self.video, self.locations, self.audio) = (video, locations, audio)
        }
        // NOTE: both variants store the video projection as `heads.avnce.video.*`.
        public override var children: [(String, Module)] {
            (video.map { [("video", $0 as Module)] } ?? locations.map { [("video", $0 as Module)] } ?? []) + [("audio", audio)]
        }
    }

    public var spec: ExampleSpec { ExampleSpec(views: [ViewRequest(.video), ViewRequest(.audio)]) }
    public var videoAugmentation: VideoAugmentation { .light }

    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> Head {
        if options.localize {
            let conv = Conv2d(widths.video, 128, kernel: (1, 1), bias: true, rng: &rng)
            return Head(video: nil, locations: conv, audio: ProjectionHead(input: widths.audio, rng: &rng))
        }
        let video = ProjectionHead(input: widths.video, rng: &rng)
        return Head(video: video, locations: nil, audio: ProjectionHead(input: widths.audio, rng: &rng))
    }

    public func loss(_ e: Encodings, head: Head, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        let a = head.audio(e.audio)
        if let locations = head.locations {
            let objective = LocalizedInfoNCE(temperature: options.temperature, backgroundNegative: options.backgroundNegative)
            let video = batch.stream(.video)
            if options.paste, video.shape[0] >= 2 {
                // NOTE: the pasted views replace the plain ones (at scale 1 a view is the plain clip).
                let (input, boxes) = Self.pasted(video, step: batch.step)
                let map = locations(e.model.featureMap(.video, input).mean(axes: [2]))  // [B, 128, h, w]
                let (b, d, gh, gw) = (map.shape[0], map.shape[1], map.shape[2], map.shape[3])
                let within = Tensor(shape: [b, gh * gw], data: Self.inside(boxes, gridHeight: gh, gridWidth: gw,
                                                                              height: input.shape[3], width: input.shape[4]))
                return (objective(locations: map.reshaped([b, d, gh * gw]).l2Normalized(axis: 1), audio: a, within: within), [:])
            }
            let projected = locations(e.videoFeatures.mean(axes: [2]))  // [B, 128, 7, 7], averaged over time
            let (b, d) = (projected.shape[0], projected.shape[1])
            let perLocation = projected.reshaped([b, d, projected.shape[2] * projected.shape[3]]).l2Normalized(axis: 1)
            let plain = objective(locations: perLocation, audio: a)
            guard options.mix, b >= 4 else { return (plain, [:]) }
            let (halves, rows) = Self.halves(locations(e.pairedVideoFeatures.mean(axes: [2])).l2Normalized(axis: 1))
            let mixed = objective(locations: halves, audio: rows < b ? a.indexSelect(axis: 0, Array(0..<rows)) : a)
            return ((plain + mixed) * 0.5, ["loss/plain": Double(plain.item), "loss/mixed": Double(mixed.item)])
        }
        guard let video = head.video else { preconditionFailure("avnce: a head without a video projection") }
        return (SymmetricInfoNCE(temperature: options.temperature)(video: video(e.video), audio: a), [:])
    }

    /// Clip i (of `x: [B, C, T, H, W]`) shrunk by a scale drawn from [0.5, 1] (bilinear) and
    /// pasted at a random place over clip (i + 1) mod B; the boxes (x0, y0, x1, y1) in pixels.
    /// Draws from a generator seeded by the step, so a resumed run sees the same views.
    public static func pasted(_ x: Tensor, step: Int) -> (Tensor, [(Double, Double, Double, Double)]) {
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        var rng = SeededRandom(seed: UInt64(max(step, 0)), stream: 0x9A57E)
        let plane = h * w, clipSize = c * t * plane
        var out = [Float](repeating: 0, count: x.count)
        var boxes: [(Double, Double, Double, Double)] = []
        let src = x.data
        for i in 0..<b {
            let s = rng.uniform(0.5, 1.0)
            let (pw, ph) = (max(1, Int((Double(w) * s).rounded())), max(1, Int((Double(h) * s).rounded())))
            let (x0, y0) = (rng.int(0...(w - pw)), rng.int(0...(h - ph)))
            boxes.append((Double(x0), Double(y0), Double(x0 + pw), Double(y0 + ph)))
            let (own, under) = (i * clipSize, ((i + 1) % b) * clipSize)
            for k in 0..<clipSize { out[i * clipSize + k] = src[under + k] }
            let (sx, sy) = (Double(w) / Double(pw), Double(h) / Double(ph))
            for ct in 0..<(c * t) {
                let base = own + ct * plane, dst = i * clipSize + ct * plane
                for y in 0..<ph {
                    let fy = min(max((Double(y) + 0.5) * sy - 0.5, 0), Double(h - 1))
                    let (y1, ty) = (Int(fy), Float(fy - Double(Int(fy))))
                    let y2 = min(y1 + 1, h - 1)
                    for xx in 0..<pw {
                        let fx = min(max((Double(xx) + 0.5) * sx - 0.5, 0), Double(w - 1))
                        let (x1, tx) = (Int(fx), Float(fx - Double(Int(fx))))
                        let x2 = min(x1 + 1, w - 1)
                        let top = src[base + y1 * w + x1] + (src[base + y1 * w + x2] - src[base + y1 * w + x1]) * tx
                        let bottom = src[base + y2 * w + x1] + (src[base + y2 * w + x2] - src[base + y2 * w + x1]) * tx
                        out[dst + (y0 + y) * w + x0 + xx] = top + (bottom - top) * ty
                    }
                }
            }
        }
        return (Tensor(shape: x.shape, data: out), boxes)
    }

    /// For each box, 0 at the grid locations whose centre lies inside it and −10⁴ elsewhere
    /// (`[boxes.count * gridHeight * gridWidth]`); the location nearest the box's centre is
    /// always inside.
    public static func inside(_ boxes: [(Double, Double, Double, Double)], gridHeight gh: Int, gridWidth gw: Int,
                              height: Int, width: Int) -> [Float] {
        var out: [Float] = []
        for (x0, y0, x1, y1) in boxes {
            let (cellW, cellH) = (Double(width) / Double(gw), Double(height) / Double(gh))
            let nearest = (min(gh - 1, Int((y0 + y1) / 2 / cellH)), min(gw - 1, Int((x0 + x1) / 2 / cellW)))
            for r in 0..<gh {
                for col in 0..<gw {
                    let (cx, cy) = ((Double(col) + 0.5) * cellW, (Double(r) + 0.5) * cellH)
                    let isInside = (cx >= x0 && cx < x1 && cy >= y0 && cy < y1) || (r, col) == nearest
                    out.append(isInside ? 0 : -10_000)
                }
            }
        }
        return out
    }

    /// The locations of each half of side-by-side pairs: `paired: [P, D, h, w']` → `[2P, D, L]`
    /// (row 2k the left half of pair k, row 2k + 1 the right), and 2P. Columns whose 16-pixel
    /// cell straddles the seam (the middle one of an odd width) belong to neither half.
    public static func halves(_ paired: Tensor) -> (Tensor, Int) {
        let (p, d, h, w) = (paired.shape[0], paired.shape[1], paired.shape[2], paired.shape[3])
        let side = w / 2
        let left = paired.indexSelect(axis: 3, Array(0..<side)), right = paired.indexSelect(axis: 3, Array((w - side)..<w))
        let both = concat([left.reshaped([p, 1, d, h * side]), right.reshaped([p, 1, d, h * side])], axis: 1)
        return (both.reshaped([2 * p, d, h * side]), 2 * p)
    }

    public var jointModalities: [Modality] { options.localize ? [] : [.video, .audio] }

    public func embed(_ modality: Modality, _ encoded: Tensor, head: Head) -> Tensor {
        guard modality == .video else { return head.audio(encoded) }
        guard let video = head.video else { preconditionFailure("avnce: the localisation variant has no pooled video embedding") }
        return video(encoded)
    }
}
