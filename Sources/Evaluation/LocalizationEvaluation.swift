import Corpora
import Foundation
import Synthesis

/// `eval localization`: the protocols of `LocalizationMetrics` over the moments of a corpus
/// split (`LocalizationTruth`), for the checkpoint and for three baselines on the same frames:
/// a centred Gaussian prior, a uniform map, and the same architecture at its random
/// initialisation.
public enum LocalizationEvaluation {
    /// The figures of one predictor on the frames where something visible sounds.
    public struct Figures: Codable, Sendable {
        public var frames = 0
        /// LVS/EZ-VSL: share of frames with cIoU ≥ 0.5, the AUC of that share over thresholds, the mean cIoU.
        public var ciou50 = 0.0, auc = 0.0, meanCiou = 0.0
        /// Pointing game (tolerance 15/224 of the short side), and mean pixel AP.
        public var pointing = 0.0, pixelAP = 0.0
        /// On the frames with a silent object on screen too: how often the maximum is on (within
        /// the tolerance of) the sounding object, and how often on a silent one instead.
        public var distractorFrames = 0, pointsAtSounding = 0.0, pointsAtSilent = 0.0
    }

    /// SLAVC's extended protocol: every moment, positive when something visible sounds; the
    /// confidence is the heatmap's maximum (the best-matching location's cosine similarity).
    public struct Detection: Codable, Sendable {
        public var positives = 0, negatives = 0
        public var ap = 0.0, maxF1 = 0.0
    }

    public struct Result: Codable, Sendable {
        public var split: String?
        public var videos: Int
        public var moments: Int
        public var protocolDescription: String
        public var model: Figures
        public var baselines: [String: Figures]
        public var detection: Detection
        public var detectionBaselines: [String: Detection]
        public var problems: [String]
    }

    static let baselineNames = ["centred-prior", "uniform", "random-init"]
    static let protocolText = """
    Frames: the moments of each video's ground truth (sounding-photos: early in each sound; sounding-objects: every second). \
    Heatmaps at the file's frame size (bilinear, pixel centres aligned). LVS/EZ-VSL: min-max normalised, foreground at or above the \
    upper median, cIoU = sum(P*G) / (sum(G) + sum(P*[G=0])); ciou50 = share with cIoU >= 0.5, auc over thresholds 0:0.05:1, \
    mean cIoU. Pointing: the maximum within 15/224 of the short side of a sounding pixel (ties: share of the maxima that hit). \
    Pixel AP: average precision of the map against the mask, mean over frames. Detection (SLAVC extended): positives are moments \
    where something visible sounds, negatives off-screen or silent moments; confidence = the map's maximum; AP and max-F1. \
    Baselines on the same frames: centred Gaussian (sigma a quarter of each side), uniform map, same architecture at random init.
    """

    /// Runs the protocol on `split` of `corpus` (nil: every video); `random` is the same
    /// architecture at its initialisation. A video that cannot be read is reported in
    /// `problems` and skipped.
    public static func run(localizer: Localizer, random: Localizer, corpus: Corpus, split: String?,
                           progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let entries = split.map { corpus.split($0) } ?? corpus.entries
        guard !entries.isEmpty else { throw EvaluationError.missing("\(corpus.root): no video in split '\(split ?? "any")'") }
        var accumulators = [String: Accumulator]()
        for name in ["model"] + baselineNames { accumulators[name] = Accumulator() }
        var problems: [String] = []
        var videos = 0, momentCount = 0
        for (i, entry) in entries.enumerated() {
            defer { progress?(i + 1, entries.count) }
            do {
                let moments = try LocalizationTruth.moments(corpus: corpus, entry: entry)
                guard !moments.isEmpty else { continue }
                let file = corpus.resolve(entry.media)
                let times = moments.map(\.time)
                let trained = try localizer.heatmaps(file: file, times: times)
                let untrained = try random.heatmaps(file: file, times: times)
                guard trained.width == moments[0].width, trained.height == moments[0].height else {
                    problems.append("\(file): frames are \(trained.width)x\(trained.height) but the ground truth is \(moments[0].width)x\(moments[0].height)")
                    continue
                }
                let prior = LocalizationMetrics.centredPrior(width: trained.width, height: trained.height)
                let uniform = [Float](repeating: 1, count: trained.width * trained.height)
                for (k, m) in moments.enumerated() {
                    accumulators["model"]!.add(trained.maps[k], m)
                    accumulators["random-init"]!.add(untrained.maps[k], m)
                    accumulators["centred-prior"]!.add(prior, m)
                    accumulators["uniform"]!.add(uniform, m)
                }
                videos += 1
                momentCount += moments.count
            } catch {
                problems.append("\(error)")
            }
        }
        guard videos > 0 else { throw EvaluationError.missing("\(corpus.root): no video of split '\(split ?? "any")' could be evaluated: \(problems.prefix(3).joined(separator: "; "))") }
        return Result(split: split, videos: videos, moments: momentCount, protocolDescription: protocolText,
                      model: accumulators["model"]!.figures, baselines: Dictionary(uniqueKeysWithValues: baselineNames.map { ($0, accumulators[$0]!.figures) }),
                      detection: accumulators["model"]!.detection,
                      detectionBaselines: Dictionary(uniqueKeysWithValues: baselineNames.map { ($0, accumulators[$0]!.detection) }),
                      problems: problems)
    }

    /// One predictor's per-frame measures.
    struct Accumulator {
        var cious: [Double] = [], pointing: [Double] = [], ap: [Double] = []
        var onSounding: [Double] = [], onSilent: [Double] = []
        var confidences: [Float] = [], positive: [Bool] = []

        mutating func add(_ map: [Float], _ m: LocalizationMoment) {
            confidences.append(map.max() ?? 0)
            positive.append(m.visibleSounding)
            guard m.visibleSounding else { return }
            let tolerance = 15.0 / 224.0 * Double(min(m.width, m.height))
            cious.append(LocalizationMetrics.cIoU(foreground: LocalizationMetrics.foreground(map), truth: m.sounding.map { $0 ? 1 : 0 }))
            let hit = LocalizationMetrics.pointing(map: map, mask: m.sounding, width: m.width, height: m.height, tolerance: tolerance)
            pointing.append(hit)
            ap.append(LocalizationMetrics.averagePrecision(scores: map, labels: m.sounding))
            if m.hasDistractor {
                onSounding.append(hit)
                onSilent.append(LocalizationMetrics.pointing(map: map, mask: m.silent, width: m.width, height: m.height, tolerance: tolerance))
            }
        }

        func mean(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.reduce(0, +) / Double(x.count) }

        var figures: Figures {
            var f = Figures()
            f.frames = cious.count
            f.ciou50 = mean(cious.map { $0 >= 0.5 ? 1 : 0 })
            f.auc = LocalizationMetrics.auc(cious)
            f.meanCiou = mean(cious)
            f.pointing = mean(pointing)
            f.pixelAP = mean(ap)
            f.distractorFrames = onSounding.count
            f.pointsAtSounding = mean(onSounding)
            f.pointsAtSilent = mean(onSilent)
            return f
        }

        var detection: Detection {
            var d = Detection()
            d.positives = positive.filter { $0 }.count
            d.negatives = positive.count - d.positives
            if d.negatives > 0 && d.positives > 0 {
                d.ap = LocalizationMetrics.averagePrecision(scores: confidences, labels: positive)
                d.maxF1 = LocalizationMetrics.maxF1(scores: confidences, labels: positive)
            }
            return d
        }
    }
}
