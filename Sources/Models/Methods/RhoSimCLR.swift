import Encoders
import NN
import Objectives
import Pipeline
import TensorCore

/// `rho-simclr`: ρ clips of one video (Feichtenhofer et al. 2021, with CVRL's temporal
/// sampling; `docs/methods.md#rho-simclr`), video only.
///
/// Views: ρ clips `[B·ρ, 3, T, H, W]` whose span is drawn from CVRL's `p(t) ∝ T − t`, each
/// strongly augmented (ρ = 1: two augmentations of one clip). Head: a projection MLP to 128
/// dimensions, L2-normalised. Loss: InfoNCE over all ρ·B clips (the other clips of one video
/// are the positives).
public struct RhoSimCLR: Method {
    public struct Options: Codable, Equatable, Sendable {
        /// Clips per video (1 = two augmentations of one clip).
        public var rho: Int = 2
        /// InfoNCE temperature τ.
        public var temperature: Float = 0.1
        public init() {}
    }

    public static let name = "rho-simclr"
    public static let summary = "rho clips of one video against the other videos' (video only)"
    public static var defaultOptions: Options { Options() }
    public let options: Options

    public init(options: Options) throws {
        guard (1...16).contains(options.rho) else {
            throw MethodError.invalid(Self.name, "rho", "must be between 1 and 16 (got \(options.rho))")
        }
        guard options.temperature > 0, options.temperature.isFinite else {
            throw MethodError.invalid(Self.name, "temperature", "must be a positive number (got \(options.temperature))")
        }
        self.options = options
    }

    public var spec: ExampleSpec {
        let rho = options.rho
        return rho == 1 ? ExampleSpec(views: [ViewRequest(.video), ViewRequest(.video)])
                        : ExampleSpec(timing: .cvrl(count: rho), views: (0..<rho).map { ViewRequest(.video, clip: $0) })
    }
    public var videoAugmentation: VideoAugmentation { .strong }

    public func makeHead(_ widths: EncoderWidths, rng: inout SeededRandom) -> ProjectionHead {
        ProjectionHead(input: widths.video, rng: &rng)
    }

    public func loss(_ e: Encodings, head: ProjectionHead, batch: Batch) -> (loss: Tensor, metrics: [String: Double]) {
        (MultiClipInfoNCE(clipsPerVideo: max(options.rho, 2), temperature: options.temperature)(head(e.video)), [:])
    }
}
