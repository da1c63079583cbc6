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
