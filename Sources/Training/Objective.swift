import Encoders
import NN
import Objectives
import Pipeline
import TensorCore

/// A training objective: the views it asks the sampler for, its head, and its loss on a batch.
/// The trainer never knows which method it runs.
public protocol TrainingObjective {
    var spec: ExampleSpec { get }
    /// The default video augmentation (`strong` for the video-only methods).
    var videoAugmentation: VideoAugmentation { get }
    func makeHead(videoWidth: Int, audioWidth: Int, rng: inout SeededRandom) -> Module
    /// The loss and named metrics (e.g. avc's accuracy).
    func loss(_ e: Encodings, head: Module, batch: Batch) -> (Tensor, [String: Double])
    /// The modalities this objective maps into one joint space (for retrieval), and the
    /// L2-normalised embedding `[B, D]` of encoder outputs `[B, width]` of one of them there.
    var jointModalities: [Modality] { get }
    func embed(_ modality: Modality, _ encoded: Tensor, head: Module) -> Tensor
}

extension TrainingObjective {
    var jointModalities: [Modality] { [] }
    func embed(_ modality: Modality, _ encoded: Tensor, head: Module) -> Tensor {
        preconditionFailure("this objective has no joint space")
    }
}

func objective(for c: TrainConfig.Objective) -> TrainingObjective {
    switch c.name {
    case "avnce": AVNCETraining(temperature: c.temperature ?? 0.07, localize: c.localize)
    case "avc": AVCTraining(negatives: c.negatives, inBatch: c.negativesFrom == "batch")
    case "milnce": MILNCETraining(candidates: c.candidates, window: c.window, temperature: c.temperature ?? 0.1, normalize: c.normalize)
    case "nce": MILNCETraining(candidates: 1, window: c.window, temperature: c.temperature ?? 0.1, normalize: c.normalize)
    default: RhoSimCLRTraining(rho: c.rho, temperature: c.temperature ?? 0.1)
    }
}

/// `avnce`: symmetric InfoNCE between projected video and audio of the same time; with
/// `localize`, the time-averaged feature map is projected per location (1x1 convolution,
/// per-location L2 normalisation) and matched by its best location (EZ-VSL).
struct AVNCETraining: TrainingObjective {
    var temperature: Float
    var localize: Bool
    var spec: ExampleSpec { ExampleSpec(views: [ViewRequest(.video), ViewRequest(.audio)]) }
    var videoAugmentation: VideoAugmentation { .light }

    final class Head: Module {
        let video: Module, audio: ProjectionHead
        init(video: Module, audio: ProjectionHead) { (self.video, self.audio) = (video, audio) }
        override var children: [(String, Module)] { [("video", video), ("audio", audio)] }
    }

    func makeHead(videoWidth: Int, audioWidth: Int, rng: inout SeededRandom) -> Module {
        let video: Module = localize ? Conv2d(videoWidth, 128, kernel: (1, 1), bias: true, rng: &rng) : ProjectionHead(input: videoWidth, rng: &rng)
        return Head(video: video, audio: ProjectionHead(input: audioWidth, rng: &rng))
    }

    func loss(_ e: Encodings, head: Module, batch: Batch) -> (Tensor, [String: Double]) {
        let h = head as! Head
        let a = h.audio(e.audio)
        if localize {
            let map = e.videoFeatures.mean(axes: [2])  // [B, C, 7, 7], averaged over time
            let projected = (h.video as! Conv2d)(map)  // [B, 128, 7, 7]
            let (b, d) = (projected.shape[0], projected.shape[1])
            let locations = projected.reshaped([b, d, projected.shape[2] * projected.shape[3]]).l2Normalized(axis: 1)
            return (LocalizedInfoNCE(temperature: temperature)(locations: locations, audio: a), [:])
        }
        return (SymmetricInfoNCE(temperature: temperature)(video: (h.video as! ProjectionHead)(e.video), audio: a), [:])
    }

    var jointModalities: [Modality] { localize ? [] : [.video, .audio] }

    func embed(_ modality: Modality, _ encoded: Tensor, head: Module) -> Tensor {
        let h = head as! Head
        return modality == .audio ? h.audio(encoded) : (h.video as! ProjectionHead)(encoded)
    }
}

/// `avc`: does this audio belong with this video? A fusion head and cross-entropy. Negatives
/// come from an extra audio view that the sampler takes from another video for a share of the
/// examples, or (`inBatch`) from the batch itself: every clip is paired with its own audio and
/// with the audio of the next example of another video, `2B` balanced pairs.
struct AVCTraining: TrainingObjective {
    var negatives: Double
    var inBatch = false
    var spec: ExampleSpec {
        ExampleSpec(views: [ViewRequest(.video), ViewRequest(.audio, otherVideoProbability: inBatch ? 0 : negatives)])
    }
    var videoAugmentation: VideoAugmentation { .light }

    func makeHead(videoWidth: Int, audioWidth: Int, rng: inout SeededRandom) -> Module {
        AVCHead(inputs: videoWidth + audioWidth, rng: &rng)
    }

    func loss(_ e: Encodings, head: Module, batch: Batch) -> (Tensor, [String: Double]) {
        var (video, audio, corresponds) = (e.video, e.audio, batch.corresponds)
        if inBatch {
            let partners = batch.otherVideoPartners
            let paired = partners.indices.filter { partners[$0] != nil }
            video = concat([video, video.indexSelect(axis: 0, paired)], axis: 0)
            audio = concat([audio, audio.indexSelect(axis: 0, paired.map { partners[$0]! })], axis: 0)
            corresponds = [Int](repeating: 1, count: batch.videos.count) + [Int](repeating: 0, count: paired.count)
        }
        let logits = (head as! AVCHead)(video: video, audio: audio)
        let objective = CorrespondenceLoss()
        return (objective(logits: logits, corresponds: corresponds),
                ["avc_accuracy": objective.accuracy(logits: logits, corresponds: corresponds)])
    }
}

/// `rho-simclr`: ρ clips of one video drawn with CVRL's interval distribution, strong
/// augmentation per clip, InfoNCE over all ρ·B clips. ρ = 1 is two augmentations of one clip.
struct RhoSimCLRTraining: TrainingObjective {
    var rho: Int
    var temperature: Float
    var spec: ExampleSpec {
        rho == 1 ? ExampleSpec(views: [ViewRequest(.video), ViewRequest(.video)])
                 : ExampleSpec(timing: .cvrl(count: rho), views: (0..<rho).map { ViewRequest(.video, clip: $0) })
    }
    var videoAugmentation: VideoAugmentation { .strong }

    func makeHead(videoWidth: Int, audioWidth: Int, rng: inout SeededRandom) -> Module {
        ProjectionHead(input: videoWidth, rng: &rng)
    }

    func loss(_ e: Encodings, head: Module, batch: Batch) -> (Tensor, [String: Double]) {
        (MultiClipInfoNCE(clipsPerVideo: max(rho, 2), temperature: temperature)((head as! ProjectionHead)(e.video)), [:])
    }
}

/// `milnce` (and `nce`, its single-positive baseline): a clip against its K nearest narrations
/// (MIL-NCE, Miech et al. 2020). The video embedding is a linear map of the pooled features to
/// the text encoder's 256 dimensions; both are L2-normalised and the scores divided by τ
/// (`normalize: false`: raw dot products, as the paper).
///
/// NOTE: normalising with a temperature (τ 0.1) keeps the scores in a range where SGD at the
/// other objectives' learning rates is stable, so `milnce` and `avnce` can share one config.
/// For retrieval the embeddings are always normalised (cosine).
struct MILNCETraining: TrainingObjective {
    var candidates: Int
    var window: Double
    var temperature: Float
    var normalize: Bool
    var spec: ExampleSpec {
        ExampleSpec(views: [ViewRequest(.video)] + (0..<candidates).map { ViewRequest.narration($0, window: window) })
    }
    var videoAugmentation: VideoAugmentation { .light }

    func makeHead(videoWidth: Int, audioWidth: Int, rng: inout SeededRandom) -> Module {
        Linear(videoWidth, 256, rng: &rng)
    }

    func loss(_ e: Encodings, head: Module, batch: Batch) -> (Tensor, [String: Double]) {
        let rawVideo = (head as! Linear)(e.video)
        // The text stream holds every text view of the merged spec; this objective's are the
        // first `candidates` of each example's.
        let rawText = e.text(first: candidates)
        let (video, text) = normalize ? (rawVideo.l2Normalized(axis: 1), rawText.l2Normalized(axis: 1)) : (rawVideo, rawText)
        return (MILNCE(temperature: temperature)(video: video, text: text), [:])
    }

    var jointModalities: [Modality] { [.video, .text] }

    func embed(_ modality: Modality, _ encoded: Tensor, head: Module) -> Tensor {
        modality == .text ? encoded.l2Normalized(axis: 1) : (head as! Linear)(encoded).l2Normalized(axis: 1)
    }
}
