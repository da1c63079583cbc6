import Corpora
import Foundation
import NN
import Pipeline
import TensorCore
import Models

/// Top-1 accuracy of a logistic-regression probe (`eval linear`): features standardised with
/// the training split's mean and std, one linear layer, softmax cross-entropy with a small
/// L2 penalty, full-batch AdamW. Returns the accuracy on the test features.
public func linearProbeAccuracy(train: VideoFeatures, test: VideoFeatures, steps: Int = 500, learningRate: Float = 0.01,
                                weightDecay: Float = 1e-3, seed: UInt64 = 0) -> (accuracy: Double, classes: [String]) {
    let classes = Array(Set(train.labels)).sorted()
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    let d = train.dimension
    var mean = [Float](repeating: 0, count: d), std = [Float](repeating: 0, count: d)
    for i in 0..<train.count { for (j, v) in train.row(i).enumerated() { mean[j] += v / Float(train.count) } }
    for i in 0..<train.count { for (j, v) in train.row(i).enumerated() { std[j] += (v - mean[j]) * (v - mean[j]) / Float(train.count) } }
    std = std.map { max($0.squareRoot(), 1e-6) }
    func standardised(_ f: VideoFeatures) -> Tensor {
        Tensor(shape: [f.count, d], data: f.values.enumerated().map { ($1 - mean[$0 % d]) / std[$0 % d] })
    }
    let x = standardised(train), targets = train.labels.map { index[$0]! }
    var rng = SeededRandom(seed: seed)
    let layer = Linear(d, classes.count, rng: &rng)
    let optimizer = AdamW(layer.parameters, learningRate: learningRate, weightDecay: weightDecay)
    for _ in 0..<steps {
        layer.zeroGrad()
        crossEntropy(layer(x), targets: targets).backward()
        optimizer.step()
    }
    let predicted = Autograd.withoutGradients { layer(standardised(test)).argmax(axis: 1) }
    let correct = zip(predicted, test.labels).filter { index[$1] == $0 }.count
    return (Double(correct) / Double(max(test.count, 1)), classes)
}

/// Top-1 accuracy of weighted cosine kNN (`eval knn`): each test video's `k` most similar
/// training videos vote with weight `exp(cos / temperature)`.
public func knnAccuracy(train: VideoFeatures, test: VideoFeatures, k: Int = 20, temperature: Float = 0.07) -> Double {
    func normalised(_ f: VideoFeatures) -> Tensor { Tensor(shape: [f.count, f.dimension], data: f.values).l2Normalized(axis: 1) }
    let similarities = matmul(normalised(test), normalised(train), transposeB: true)  // [test, train]
    var correct = 0
    for i in 0..<test.count {
        let row = Array(similarities.data[(i * train.count)..<((i + 1) * train.count)])
        let nearest = row.indices.sorted { row[$0] > row[$1] }.prefix(k)
        var votes: [String: Float] = [:]
        for j in nearest { votes[train.labels[j], default: 0] += Foundation.exp(row[j] / temperature) }
        if votes.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key == test.labels[i] { correct += 1 }
    }
    return Double(correct) / Double(max(test.count, 1))
}

/// A probe's outcome on one encoder.
public struct ProbeResult: Sendable {
    public var accuracy: Double
    public var trainVideos: Int
    public var testVideos: Int
    public var classes: Int
}

public enum Probe: String, Sendable {
    case linear, knn
}

/// Extracts the frozen features of both splits with `modality`'s encoder and runs the probe.
public func probeAccuracy(_ probe: Probe, model: TrainModel, modality: Modality, corpus: Corpus, trainSplit: String, testSplit: String,
                          label: String, clips: Int, geometry: ClipGeometry, k: Int = 20, seed: UInt64 = 0,
                          progress: (_ split: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in })
    throws -> (ProbeResult, [CorpusProblem]) {
    let (train, p1) = try VideoFeatures.extract(model: model, modality: modality, corpus: corpus, split: trainSplit, labelKey: label,
                                                clips: clips, geometry: geometry) { progress(trainSplit, $0, $1) }
    let (test, p2) = try VideoFeatures.extract(model: model, modality: modality, corpus: corpus, split: testSplit, labelKey: label,
                                               clips: clips, geometry: geometry) { progress(testSplit, $0, $1) }
    guard train.count > 0, test.count > 0 else {
        throw EvaluationError.missing("\(corpus.root): no videos labelled '\(label)' in split '\(train.count == 0 ? trainSplit : testSplit)'")
    }
    let accuracy = probe == .knn ? knnAccuracy(train: train, test: test, k: k) : linearProbeAccuracy(train: train, test: test, seed: seed).accuracy
    return (ProbeResult(accuracy: accuracy, trainVideos: train.count, testVideos: test.count, classes: Set(train.labels).count), p1 + p2)
}
