import Foundation

/// The measures of sound-source localisation, on one heatmap and one ground-truth mask of the
/// same frame size (`map: [height * width]`, rows top to bottom; `mask: [height * width]`).
///
/// - LVS / EZ-VSL (Chen et al. 2021; Mo & Morgado 2022), as their evaluation code computes it
///   (but for the upsampling's alignment: `upsampled`): the heatmap min-max normalised (left as it is when constant), foreground = pixels at or
///   above the value at index ⌊N/2⌋ of the sorted map (the upper median), and
///   cIoU = Σ(P·G) / (ΣG + Σ(P·[G = 0])). Over frames: the share with cIoU ≥ 0.5 (EZ-VSL's
///   "CIoU", LVS's AP50), the area under that share over thresholds 0, 0.05, …, 1
///   (trapezoids, as `sklearn.metrics.auc`), and the mean cIoU.
///   NOTE: the foreground is always half the frame, so an object covering a fraction f < 1/2
///   of it scores at most 2f (a third of the frame: 0.67; a tenth: 0.2).
/// - Pointing game (Zhang et al. 2016, TorchRay's definition): a hit when the heatmap's maximum
///   lies within `tolerance` pixels of a ground-truth pixel (TorchRay: 15 at 224, i.e. 15/224
///   of the short side). NOTE: where several pixels share the maximum (a flat map), the score is
///   the share of them that hit — the expected score of picking one at random — instead of
///   TorchRay's first-in-row-order, which would reward a corner.
/// - Pixel average precision (as DenseAV reports): the heatmap's values as scores of the mask's
///   pixels, AP as `sklearn.metrics.average_precision_score` (Σ (R_k − R_{k−1}) P_k over
///   distinct thresholds).
public enum LocalizationMetrics {
    /// Min-max normalised: (x − min) / (max − min); a constant map is returned unchanged.
    public static func normalised(_ map: [Float]) -> [Float] {
        guard let lo = map.min(), let hi = map.max(), hi > lo else { return map }
        return map.map { ($0 - lo) / (hi - lo) }
    }

    /// The LVS/EZ-VSL foreground: normalised values at or above the upper median.
    public static func foreground(_ map: [Float]) -> [Bool] {
        precondition(!map.isEmpty, "LocalizationMetrics.foreground: an empty map")
        let n = normalised(map)
        let threshold = n.sorted()[n.count / 2]
        return n.map { $0 >= threshold }
    }

    /// cIoU of a foreground against the ground truth (weights 0…1; a binary mask is 0 or 1).
    public static func cIoU(foreground p: [Bool], truth g: [Float]) -> Double {
        precondition(p.count == g.count, "LocalizationMetrics.cIoU: \(p.count) pixels against \(g.count)")
        var hit = 0.0, truth = 0.0, spill = 0.0
        for i in p.indices {
            truth += Double(g[i])
            if p[i] { hit += Double(g[i]); if g[i] == 0 { spill += 1 } }
        }
        let denominator = truth + spill
        return denominator > 0 ? hit / denominator : 0
    }

    /// The share of values ≥ t for t = 0, 0.05, …, 1 (21 thresholds).
    public static func successCurve(_ cious: [Double]) -> [Double] {
        (0...20).map { i in
            let t = 0.05 * Double(i)
            return cious.isEmpty ? 0 : Double(cious.filter { $0 >= t }.count) / Double(cious.count)
        }
    }

    /// Area under `successCurve` over [0, 1] by trapezoids.
    public static func auc(_ cious: [Double]) -> Double {
        let s = successCurve(cious)
        var area = 0.0
        for k in 1..<s.count { area += 0.05 * (s[k] + s[k - 1]) / 2 }
        return area
    }

    /// The pointing game's score of one frame: the share of the map's maximal pixels that lie
    /// within `tolerance` pixels (Euclidean, pixel centres) of a mask pixel; 0 for an empty mask.
    public static func pointing(map: [Float], mask: [Bool], width: Int, height: Int, tolerance: Double) -> Double {
        precondition(map.count == width * height && mask.count == map.count, "LocalizationMetrics.pointing: sizes disagree")
        guard let top = map.max(), mask.contains(true) else { return 0 }
        let r = Int(tolerance.rounded(.down))
        let r2 = tolerance * tolerance
        var maxima = 0, hits = 0
        for y in 0..<height {
            for x in 0..<width where map[y * width + x] == top {
                maxima += 1
                search: for dy in -r...r {
                    let yy = y + dy
                    guard yy >= 0, yy < height else { continue }
                    for dx in -r...r where Double(dx * dx + dy * dy) <= r2 {
                        let xx = x + dx
                        if xx >= 0, xx < width, mask[yy * width + xx] { hits += 1; break search }
                    }
                }
            }
        }
        return Double(hits) / Double(maxima)
    }

    /// Precision and recall with the threshold at each distinct score, from the highest down
    /// (ties enter together); empty with no positive.
    static func precisionRecall(scores: [Float], labels: [Bool]) -> [(precision: Double, recall: Double)] {
        precondition(scores.count == labels.count, "LocalizationMetrics: \(scores.count) scores, \(labels.count) labels")
        let positives = labels.filter { $0 }.count
        guard positives > 0 else { return [] }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points: [(precision: Double, recall: Double)] = []
        var tp = 0, seen = 0, k = 0
        while k < order.count {
            let value = scores[order[k]]
            while k < order.count && scores[order[k]] == value {
                if labels[order[k]] { tp += 1 }
                seen += 1
                k += 1
            }
            points.append((Double(tp) / Double(seen), Double(tp) / Double(positives)))
        }
        return points
    }

    /// Average precision of `scores` ranking the `labels` (sklearn's definition: distinct
    /// thresholds from the highest down, Σ (R_k − R_{k−1}) P_k); 0 with no positive.
    public static func averagePrecision(scores: [Float], labels: [Bool]) -> Double {
        var ap = 0.0, lastRecall = 0.0
        for p in precisionRecall(scores: scores, labels: labels) {
            ap += (p.recall - lastRecall) * p.precision
            lastRecall = p.recall
        }
        return ap
    }

    /// The best F1 over thresholds at the distinct scores (SLAVC's max-F1); 0 with no positive.
    public static func maxF1(scores: [Float], labels: [Bool]) -> Double {
        precisionRecall(scores: scores, labels: labels).reduce(0) { best, p in
            p.precision + p.recall > 0 ? max(best, 2 * p.precision * p.recall / (p.precision + p.recall)) : best
        }
    }

    /// Bilinear upsampling of `map: [h, w]` to `[height, width]` with pixel centres aligned
    /// (PyTorch's `interpolate(mode="bilinear", align_corners=False)`): coarse cell (i, j)
    /// covers the frame's rows and columns in proportion, its value at the cell's centre, and
    /// values beyond the outer centres are held.
    /// NOTE: LVS and EZ-VSL upsample their 7x7 maps with `align_corners=True`, which puts the
    /// outer cells' values on the frame's edge: a shift of half a cell (16 of 224 pixels). On the
    /// coarser grids of small clips (4x5) that would move every edge cell by a tenth of the frame
    /// and pull the maximum to the border, so Concord places the cells where they are.
    public static func upsampled(_ map: [Float], h: Int, w: Int, height: Int, width: Int) -> [Float] {
        precondition(map.count == h * w && h > 0 && w > 0, "LocalizationMetrics.upsampled: \(map.count) values for \(h)x\(w)")
        func taps(_ n: Int, _ coarse: Int) -> [(Int, Int, Float)] {
            (0..<n).map { o in
                let s = max((Double(o) + 0.5) * Double(coarse) / Double(n) - 0.5, 0)
                let s0 = min(Int(s), coarse - 1), s1 = min(s0 + 1, coarse - 1)
                return (s0, s1, Float(s - Double(s0)))
            }
        }
        let (ys, xs) = (taps(height, h), taps(width, w))
        var out = [Float](repeating: 0, count: height * width)
        for (y, (y0, y1, ty)) in ys.enumerated() {
            for (x, (x0, x1, tx)) in xs.enumerated() {
                let top = map[y0 * w + x0] + (map[y0 * w + x1] - map[y0 * w + x0]) * tx
                let bottom = map[y1 * w + x0] + (map[y1 * w + x1] - map[y1 * w + x0]) * tx
                out[y * width + x] = top + (bottom - top) * ty
            }
        }
        return out
    }

    /// The centred Gaussian prior: exp(−(dx² / 2σx² + dy² / 2σy²)) with σ a quarter of each side,
    /// scaled so its maximum is exactly 1 at every frame size (a prior says nothing about whether
    /// anything sounds, so its detection confidence must not vary with the frame).
    public static func centredPrior(width: Int, height: Int) -> [Float] {
        let (cx, cy) = (Double(width) / 2, Double(height) / 2)
        let (sx, sy) = (Double(width) / 4, Double(height) / 4)
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                out[y * width + x] = Float(exp(-(dx * dx / (2 * sx * sx) + dy * dy / (2 * sy * sy))))
            }
        }
        let top = out.max() ?? 1
        return out.map { $0 / top }
    }
}
