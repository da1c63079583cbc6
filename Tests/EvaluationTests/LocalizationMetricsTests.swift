import Evaluation
import Testing

/// The localisation measures on small maps and masks whose answers are worked out by hand.
struct LocalizationMetricsTests {
    @Test func foregroundIsTheUpperMedianOfTheNormalisedMap() {
        // 2x2: normalised 0, 1/3, 2/3, 1; index 4 / 2 = 2 of the sorted values is 2/3.
        #expect(LocalizationMetrics.foreground([4, 1, 3, 2]) == [true, false, true, false])
        // A constant map is left as it is, so every pixel is at the threshold: the whole frame.
        #expect(LocalizationMetrics.foreground([5, 5, 5, 5]) == [true, true, true, true])
        // An odd count: 5 values, index 2 (the median itself) and above.
        #expect(LocalizationMetrics.foreground([0, 10, 20, 30, 40]) == [false, false, true, true, true])
    }

    @Test func ciouWeighsTheTruthAndCountsSpillOutsideIt() {
        // Hit 1, truth 2, foreground outside the truth 1: 1 / 3.
        #expect(abs(LocalizationMetrics.cIoU(foreground: [true, true, false, false], truth: [1, 0, 1, 0]) - 1.0 / 3) < 1e-12)
        // Weighted truth (mean of annotators): hit 0.5, truth 1.5, spill 1: 0.5 / 2.5.
        #expect(abs(LocalizationMetrics.cIoU(foreground: [true, true, false, false], truth: [0.5, 0, 1, 0]) - 0.2) < 1e-12)
        // The whole frame as foreground against a quarter-frame object: 1 / 4.
        #expect(LocalizationMetrics.cIoU(foreground: [true, true, true, true], truth: [1, 0, 0, 0]) == 0.25)
    }

    @Test func aucIsTheTrapezoidAreaOfTheSuccessCurve() {
        // cIoUs 1 and 0: the share is 1 at t = 0 and 0.5 at every t > 0.
        let curve = LocalizationMetrics.successCurve([1, 0])
        #expect(curve.count == 21 && curve[0] == 1 && curve[1...].allSatisfy { $0 == 0.5 })
        #expect(abs(LocalizationMetrics.auc([1, 0]) - (0.05 * 0.75 + 19 * 0.05 * 0.5)) < 1e-12)
        #expect(abs(LocalizationMetrics.auc([1, 1, 1]) - 1) < 1e-12)
    }

    @Test func pointingUsesTheRadiusAndSharesTies() {
        // 5x5, maximum at (0, 0), one mask pixel at (2, 0): 2 pixels away.
        var map = [Float](repeating: 0, count: 25)
        map[0] = 1
        var mask = [Bool](repeating: false, count: 25)
        mask[2] = true
        #expect(LocalizationMetrics.pointing(map: map, mask: mask, width: 5, height: 5, tolerance: 2) == 1)
        #expect(LocalizationMetrics.pointing(map: map, mask: mask, width: 5, height: 5, tolerance: 1.9) == 0)
        // Diagonal: (1, 1) from (0, 0) is sqrt 2 away.
        mask = [Bool](repeating: false, count: 25)
        mask[6] = true
        #expect(LocalizationMetrics.pointing(map: map, mask: mask, width: 5, height: 5, tolerance: 1.5) == 1)
        #expect(LocalizationMetrics.pointing(map: map, mask: mask, width: 5, height: 5, tolerance: 1.4) == 0)
        // A flat map: every pixel is a maximum; with tolerance 0 one of 25 hits.
        #expect(LocalizationMetrics.pointing(map: [Float](repeating: 3, count: 25), mask: mask, width: 5, height: 5, tolerance: 0) == 1.0 / 25)
        // No ground truth: no hit.
        #expect(LocalizationMetrics.pointing(map: map, mask: [Bool](repeating: false, count: 25), width: 5, height: 5, tolerance: 9) == 0)
    }

    @Test func averagePrecisionAndMaxF1FollowSklearn() {
        // Ranked T F T F: precision 1 at recall 0.5, 2/3 at recall 1 → (1 + 2/3) / 2.
        let scores: [Float] = [0.9, 0.8, 0.7, 0.6], labels = [true, false, true, false]
        #expect(abs(LocalizationMetrics.averagePrecision(scores: scores, labels: labels) - 5.0 / 6) < 1e-12)
        // F1 at each cut: 2/3, 1/2, 4/5, 2/3.
        #expect(abs(LocalizationMetrics.maxF1(scores: scores, labels: labels) - 0.8) < 1e-12)
        // All scores tied: one threshold, precision = the share of positives.
        #expect(LocalizationMetrics.averagePrecision(scores: [1, 1, 1, 1], labels: [true, false, false, false]) == 0.25)
        #expect(abs(LocalizationMetrics.maxF1(scores: [1, 1, 1, 1], labels: [true, false, false, false]) - 0.4) < 1e-12)
        // A perfect ranking.
        #expect(LocalizationMetrics.averagePrecision(scores: [3, 2, 1], labels: [true, true, false]) == 1)
        #expect(LocalizationMetrics.averagePrecision(scores: [3, 2, 1], labels: [false, false, false]) == 0)
    }

    @Test func upsamplingAlignsPixelCentres() {
        // 1x2 → 1x4 (PyTorch align_corners=False): source positions -0.25, 0.25, 0.75, 1.25,
        // clamped at the ends: 0, 0.25, 0.75, 1 of the way from the first value to the second.
        #expect(LocalizationMetrics.upsampled([0, 4], h: 1, w: 2, height: 1, width: 4) == [0, 1, 3, 4])
        // 2x2 → 4x4: the same along both axes; the centre of each quadrant's outer pixel holds its cell's value.
        let up = LocalizationMetrics.upsampled([0, 4, 8, 12], h: 2, w: 2, height: 4, width: 4)
        #expect(up[0] == 0 && up[3] == 4 && up[12] == 8 && up[15] == 12 && up[5] == 3 && up[6] == 5)
        // Same size: unchanged.
        #expect(LocalizationMetrics.upsampled([1, 2, 3, 4, 5, 6], h: 2, w: 3, height: 2, width: 3) == [1, 2, 3, 4, 5, 6])
        // The prior peaks in the middle and falls towards the corners.
        let prior = LocalizationMetrics.centredPrior(width: 5, height: 5)
        #expect(prior[12] == prior.max() && prior[0] < prior[12] / 2)
    }
}
