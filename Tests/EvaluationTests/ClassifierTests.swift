import Evaluation
import Foundation
import TensorCore
import Testing
import TestSupport

/// The probes on features whose answer is known.
struct ClassifierTests {
    /// Three classes around three centres; `spread` decides how separable they are.
    func clustered(_ perClass: Int, spread: Float, seed: UInt64) -> VideoFeatures {
        var rng = SeededRandom(seed: seed)
        let centres: [[Float]] = [[4, 0, 0, 1], [0, 4, 0, 1], [0, 0, 4, 1]]
        var f = VideoFeatures(ids: [], labels: [], values: [], dimension: 4)
        for (c, centre) in centres.enumerated() {
            for i in 0..<perClass {
                f.ids.append("\(c)-\(i)")
                f.labels.append("class\(c)")
                f.values += centre.map { $0 + spread * Float(rng.normal()) }
            }
        }
        return f
    }

    @Test func separableClassesAreFoundAndShuffledLabelsAreNot() {
        let (train, test) = (clustered(20, spread: 0.5, seed: 1), clustered(10, spread: 0.5, seed: 2))
        #expect(linearProbeAccuracy(train: train, test: test).accuracy == 1)
        #expect(knnAccuracy(train: train, test: test, k: 5) == 1)
        // Training labels unrelated to the features: the probes fall to about chance (1/3).
        var shuffled = train
        var rng = SeededRandom(seed: 3)
        shuffled.labels = rng.shuffled(train.labels)
        #expect(linearProbeAccuracy(train: shuffled, test: test).accuracy < 0.7)
        #expect(knnAccuracy(train: shuffled, test: test, k: 5) < 0.7)
    }

    @Test func knnWeighsCloserNeighboursMore() {
        // One very close neighbour of class b against two far ones of class a: with a low
        // temperature the close one wins, as exp(cos/τ) weighting intends.
        let train = VideoFeatures(ids: ["a1", "a2", "b"], labels: ["a", "a", "b"],
                                  values: [1, 1, 1, 1.2, 0.1, 1], dimension: 2)
        let test = VideoFeatures(ids: ["q"], labels: ["b"], values: [0.1, 1], dimension: 2)
        #expect(knnAccuracy(train: train, test: test, k: 3, temperature: 0.07) == 1)
        #expect(knnAccuracy(train: train, test: test, k: 3, temperature: 100) == 0)
    }
}

/// `eval sync`'s calibrated threshold, on hand-worked cases.
@Suite struct SyncThresholdTests {
    /// In sync 0.9, 0.4, 0.6; shifted 0.1, 0.5, 0.3. Sorted: 0.1 s, 0.3 s, 0.4 i, 0.5 s, 0.6 i,
    /// 0.9 i. Calling all "in sync" gets 3 right; a threshold between 0.3 and 0.4 gets 5 (only
    /// 0.5 shifted is wrong), between 0.5 and 0.6 also 5 but later: the first best is kept.
    @Test func theBestThresholdOfAHandWorkedCase() {
        let labelled: [(score: Float, inSync: Bool)] = [(0.9, true), (0.1, false), (0.4, true), (0.5, false), (0.6, true), (0.3, false)]
        let best = SyncEvaluation.bestThreshold(labelled)
        #expect(abs(best.threshold - 0.35) < 1e-6 && best.pairs == 3 && abs(best.accuracy - 5.0 / 6) < 1e-12, "\(best)")
    }

    /// Tied scores move together: one in-sync and one shifted pair at the same score cannot
    /// be split, so 1 of 2 is the best (a threshold below both).
    @Test func tiesAreNotSplit() {
        let best = SyncEvaluation.bestThreshold([(1, true), (1, false)])
        #expect(best.accuracy == 0.5 && best.threshold < 1, "\(best)")
        #expect(SyncEvaluation.bestThreshold([]).pairs == 0)
    }
}
