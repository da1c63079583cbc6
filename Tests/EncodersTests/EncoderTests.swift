import Encoders
import Foundation
import NN
import TensorCore
import TestSupport
import Testing

/// The encoder presets against `peers/models.py` (`Fixtures/encoders.safetensors`, made by
/// `make_fixtures.py`): the same parameter and buffer names and shapes, and — with every
/// entry filled by the same formula on both sides — the same eval-mode outputs.
@Suite struct EncoderTests {
    static let fixtures: SafeTensorsFile = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/encoders.safetensors").path
        return try! SafeTensorsFile(path: path)
    }()

    /// The fixture script's `formula`, entry by entry in sorted-name order.
    static func fill(_ model: Module) {
        let tensors = Dictionary(uniqueKeysWithValues: model.namedParameters() + model.namedBuffers())
        let names = (Array(tensors.keys) + model.namedCounters().map(\.0)).sorted()
        var counters = SafeTensorsFile()
        for (k, name) in names.enumerated() {
            guard let t = tensors[name] else { counters.set(name, int64: [3], shape: []); continue }
            let n = t.count
            let values: [Float] = (0..<n).map { i in
                let s = sin(0.1 * Double(i) + 0.7 * Double(k))
                if name.hasSuffix("running_var") { return Float(1 + 0.5 * abs(s)) }
                if name.hasSuffix("running_mean") { return Float(0.05 * s) }
                if t.rank == 1 { return Float(name.hasSuffix("weight") ? 1 + 0.1 * s : 0.1 * s) }
                return Float(s * (3 / Double(n / t.shape[0])).squareRoot())
            }
            t.update { $0 = values }
        }
        _ = try? model.load(counters, strict: false)  // the int64 counters, as the script's fill_(3)
    }

    static func signal(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<n).map { Float(0.5 * sin(0.05 * Double($0))) })
    }

    func expectSameNames(_ model: Module, _ key: String) throws {
        let json = try #require(Self.fixtures.metadata["\(key).names"])
        let expected = try JSONDecoder().decode([String: [Int]].self, from: Data(json.utf8))
        var ours: [String: [Int]] = [:]
        for (n, t) in model.namedParameters() + model.namedBuffers() { ours[n] = t.shape }
        for (n, _) in model.namedCounters() { ours[n] = [] }
        #expect(Set(ours.keys) == Set(expected.keys), "\(key): only Concord \(Set(ours.keys).subtracting(expected.keys).sorted()); only PyTorch \(Set(expected.keys).subtracting(ours.keys).sorted())")
        for (n, s) in expected where ours[n] != nil { #expect(ours[n] == s, "\(key) \(n): \(ours[n]!) vs \(s)") }
    }

    func expectOutput(_ got: Tensor, _ key: String) {
        let expected = Self.fixtures.tensor(key)!
        let problems = closeness(got, expected, rtol: 1e-3, atol: 1e-4)
        #expect(problems.isEmpty, "\(key): \(problems)")
    }

    /// Checks the names, fills the weights by the formula and switches to evaluation.
    func prepared<M: Module>(_ model: M, _ key: String) throws -> M {
        try expectSameNames(model, key)
        Self.fill(model)
        model.eval()
        return model
    }

    @Test func vggishTiny() throws {
        var rng = SeededRandom(seed: 0)
        let model = try prepared(VGGishTiny(rng: &rng), "vggish")
        expectOutput(Autograd.withoutGradients { model(Self.signal([2, 1, 96, 64])) }, "vggish.output")
    }

    @Test func r2plus1dTiny() throws {
        var rng = SeededRandom(seed: 0)
        let model = try prepared(R2Plus1DTiny(rng: &rng), "r2plus1d")
        let features = Autograd.withoutGradients { model.features(Self.signal([1, 3, 8, 112, 112])) }
        #expect(features.shape == [1, 256, 2, 7, 7])
        expectOutput(features, "r2plus1d.features")
        expectOutput(features.globalAveragePooled(), "r2plus1d.output")
    }

    @Test func resnetTiny() throws {
        var rng = SeededRandom(seed: 0)
        let model = try prepared(ResNetTiny(rng: &rng), "resnet")
        expectOutput(Autograd.withoutGradients { model(Self.signal([1, 3, 112, 112])) }, "resnet.output")
    }
}

@Suite struct NarrationAndHeadTests {
    let outer = EncoderTests()

    @Test func wordPool() throws {
        var rng = SeededRandom(seed: 0)
        let model = WordPool(rng: &rng)
        try outer.expectSameNames(model, "wordpool")
        EncoderTests.fill(model)
        let ids = [5, 17, 0, 9999, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 1, 2, 0]
        outer.expectOutput(model(ids, batch: 3), "wordpool.output")
        // Gradients reach the embedding rows of the tokens used, and nothing is NaN for the empty row.
        model(ids, batch: 3).sum().backward()
        #expect(model.embedding.weight.grad!.data.allSatisfy { $0.isFinite })
    }

    @Test func projectionAndAVCHeads() throws {
        var rng = SeededRandom(seed: 0)
        let projection = try outer.prepared(ProjectionHead(rng: &rng), "projection")
        outer.expectOutput(projection(EncoderTests.signal([4, 256])), "projection.output")
        let avc = try outer.prepared(AVCHead(rng: &rng), "avc")
        outer.expectOutput(avc(video: EncoderTests.signal([3, 256]), audio: EncoderTests.signal([3, 256]) * -0.5), "avc.output")
    }
}

@Suite struct VitTinyMAETests {
    @Test func namesOutputsAndLossMatchPyTorch() throws {
        let outer = EncoderTests()
        var rng = SeededRandom(seed: 0)
        let mae = try outer.prepared(VitTinyMAE(rng: &rng), "mae")
        var mask = [Bool](repeating: false, count: 2 * 196)
        for (b, (multiplier, offset)) in [(10, 3), (5, 1)].enumerated() {
            for i in 0..<44 {
                let s = (multiplier * i + offset) % 49
                for t in 0..<4 { mask[b * 196 + t * 49 + s] = true }
            }
        }
        let x = EncoderTests.signal([2, 3, 8, 112, 112])
        let prediction = Autograd.withoutGradients { mae(x, mask: mask) }
        #expect(prediction.shape == [2, 176, 1536])
        outer.expectOutput(prediction.slice(axis: 1, 0..<4), "mae.output_first_tokens")
        let stats = EncoderTests.fixtures.tensor("mae.output_stats")!.data
        let sum = prediction.data.reduce(0, +), absSum = prediction.data.reduce(0) { $0 + abs($1) }
        #expect(abs(sum - stats[0]) <= 1e-3 * abs(stats[1]) && abs(absSum - stats[1]) <= 1e-3 * stats[1], "\(sum), \(absSum) vs \(stats)")
        let loss = Autograd.withoutGradients { mae.loss(x, mask: mask) }
        #expect(abs(loss.item - EncoderTests.fixtures.tensor("mae.loss")!.item) <= 1e-3 * abs(loss.item), "loss \(loss.item)")
    }

    @Test func tubeMaskMasksTheSamePositionsInEveryTimeStep() {
        var rng = SeededRandom(seed: 3)
        let mask = VitTinyMAE.tubeMask(batch: 2, rng: &rng)
        #expect(mask.count == 392)
        for b in 0..<2 {
            #expect(mask[(b * 196)..<(b * 196 + 196)].filter { $0 }.count == 176)
            for s in 0..<49 { #expect(Set((0..<4).map { mask[b * 196 + $0 * 49 + s] }).count == 1) }
        }
    }
}

/// The avc fusion head learns a correspondence it is given: video and audio features that
/// carry the same one of 8 class codes (plus noise and a shared offset, as pooled ReLU
/// features have) against pairs whose audio code is another class's.
@Suite struct AVCHeadLearningTests {
    @Test func learnsWhichCodesBelongTogether() {
        var rng = SeededRandom(seed: 1)
        let head = AVCHead(inputs: 32, rng: &rng)
        let optimizer = AdamW(head.parameters, learningRate: 1e-2, weightDecay: 0)
        func features(_ code: Int) -> [Float] {
            (0..<16).map { i in (i % 8 == code ? 1 : 0) + 0.5 + 0.2 * Float(rng.normal()) }
        }
        var accuracies: [Double] = []
        for _ in 0..<300 {
            var v: [Float] = [], a: [Float] = [], labels: [Int] = []
            for i in 0..<64 {
                let c = Int(rng.next() % 8)
                let positive = i % 2 == 0
                v += features(c)
                a += features(positive ? c : (c + 1 + Int(rng.next() % 7)) % 8)
                labels.append(positive ? 1 : 0)
            }
            head.zeroGrad()
            let logits = head(video: Tensor(shape: [64, 16], data: v), audio: Tensor(shape: [64, 16], data: a))
            crossEntropy(logits, targets: labels).backward()
            optimizer.step()
            accuracies.append(Double(zip(logits.argmax(axis: 1), labels).filter { $0 == $1 }.count) / 64)
        }
        let last = accuracies.suffix(50).reduce(0, +) / 50
        print("avc head on class codes: accuracy over the last 50 steps \(last)")
        #expect(last > 0.9)
    }
}
