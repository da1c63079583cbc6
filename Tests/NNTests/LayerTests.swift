import Foundation
import NN
import TensorCore
import TestSupport
import Testing

/// Layers and optimizers against PyTorch (`Fixtures/layers.safetensors`, made by
/// `make_fixtures.py`). Loading each layer's state from PyTorch's state_dict also checks that
/// the parameter and buffer names are PyTorch's.
@Suite struct LayerTests {
    static let fixtures: SafeTensorsFile = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/layers.safetensors").path
        return try! SafeTensorsFile(path: path)
    }()

    /// The state_dict of case `name` (its own tensors, without inputs, outputs and gradients).
    static func state(_ name: String) -> SafeTensorsFile {
        var file = SafeTensorsFile()
        let skip = ["input", "up", "output", "grad.", "after."]
        for (key, entry) in fixtures.entries where key.hasPrefix(name + ".") {
            let local = String(key.dropFirst(name.count + 1))
            if skip.contains(where: { local.hasPrefix($0) }) { continue }
            file.entries[local] = entry
        }
        return file
    }

    func check(_ name: String, _ module: Module, training: Bool = true, _ forward: (Tensor) -> Tensor) throws {
        try module.load(Self.state(name), strict: true, path: name)
        module.train(training)
        let f = Self.fixtures
        let x = try #require(f.tensor("\(name).input"))
        let input = Tensor(shape: x.shape, data: x.data, requiresGrad: true)
        let y = forward(input)
        #expect(closeness(y, f.tensor("\(name).output")!).isEmpty, "\(name) output: \(closeness(y, f.tensor("\(name).output")!))")
        (y * f.tensor("\(name).up")!).sum().backward()
        #expect(closeness(input.grad!, f.tensor("\(name).grad.input")!).isEmpty, "\(name) input gradient")
        for (pname, p) in module.namedParameters() {
            let expected = try #require(f.tensor("\(name).grad.\(pname)"), "\(name): no gradient for \(pname) in the fixture")
            let got = p.grad ?? Tensor.zeros(p.shape)
            #expect(closeness(got, expected).isEmpty, "\(name) gradient of \(pname): \(closeness(got, expected))")
        }
    }

    @Test func linear() throws {
        var rng = SeededRandom(seed: 0)
        let l = Linear(5, 3, rng: &rng)
        try check("linear", l) { l($0) }
    }

    @Test func convolutions() throws {
        var rng = SeededRandom(seed: 0)
        let c3 = Conv3d(3, 4, kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1), rng: &rng)
        try check("conv3d", c3) { c3($0) }
        let c2 = Conv2d(2, 3, kernel: (3, 3), padding: (1, 1), bias: true, rng: &rng)
        try check("conv2d", c2) { c2($0) }
    }

    @Test func batchNormTrainingAndEvaluation() throws {
        let bn1 = BatchNorm(6, dimensions: 1)
        try check("bn1d", bn1) { bn1($0) }
        #expect(closeness(bn1.runningMean, Self.fixtures.tensor("bn1d.after.running_mean")!).isEmpty)
        #expect(closeness(bn1.runningVar, Self.fixtures.tensor("bn1d.after.running_var")!).isEmpty)
        #expect(bn1.batchesTracked == 1)
        let bn3 = BatchNorm(3, dimensions: 3)
        try check("bn3d_eval", bn3, training: false) { bn3($0) }
        #expect(bn3.batchesTracked == 5)
    }

    @Test func layerNormAndTransformerBlock() throws {
        let ln = LayerNorm(8)
        try check("layernorm", ln) { ln($0) }
        var rng = SeededRandom(seed: 0)
        let block = TransformerBlock(12, heads: 3, rng: &rng)
        try check("block", block) { block($0) }
    }

    @Test func loadingReportsMissingUnexpectedAndMisshapedTensors() throws {
        var rng = SeededRandom(seed: 0)
        let l = Linear(5, 3, rng: &rng)
        var state = Self.state("linear")
        state.entries["extra.weight"] = state.entries["weight"]
        state.entries["bias"] = nil
        do {
            try l.load(state, strict: true, path: "ckpt.safetensors")
            Issue.record("strict loading must refuse")
        } catch let e as LoadError {
            #expect(e.description.contains("ckpt.safetensors"))
            #expect(e.report.missing == ["bias"] && e.report.unexpected == ["extra.weight"])
        }
        let before = l.weight.data
        #expect(before != Self.state("linear").tensor("weight")!.data, "strict failure changed nothing")
        let report = try l.load(state, strict: false)
        #expect(report.missing == ["bias"])
        #expect(l.weight.data == Self.state("linear").tensor("weight")!.data)
        let wrong = Linear(4, 3, rng: &rng)
        #expect(throws: LoadError.self) { try wrong.load(Self.state("linear"), strict: true) }
    }

    @Test func stateRoundTripsThroughSafetensorsWithPyTorchNames() throws {
        var rng = SeededRandom(seed: 1)
        let block = TransformerBlock(12, heads: 3, rng: &rng)
        let names = block.namedParameters().map(\.0)
        #expect(names.contains("attn.qkv.weight") && names.contains("mlp.fc2.bias") && names.contains("norm1.weight"))
        let bn = BatchNorm(4, dimensions: 2)
        let file = bn.stateFile()
        #expect(file.entries["num_batches_tracked"]?.dtype == "I64")
        #expect(Set(file.entries.keys) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        let copy = TransformerBlock(12, heads: 3, rng: &rng)
        copy.copyState(from: block)
        #expect(copy.namedParameters().map(\.1.data) == block.namedParameters().map(\.1.data))
    }

    @Test func freezingAndModes() {
        var rng = SeededRandom(seed: 2)
        let block = TransformerBlock(12, heads: 3, rng: &rng)
        block.freeze()
        #expect(block.parameters.allSatisfy { !$0.requiresGrad })
        block.freeze(false)
        block.eval()
        #expect(!block.attn.qkv.isTraining)
    }
}

@Suite struct OptimizerTests {
    static var f: SafeTensorsFile { LayerTests.fixtures }

    func run(_ make: (Tensor) -> () -> Void, expected name: String) {
        let p = Tensor(shape: [6], data: Self.f.tensor("opt.p0")!.data, requiresGrad: true)
        let step = make(p)
        let grads = Self.f.tensor("opt.grads")!.data, expected = Self.f.tensor("opt.\(name)")!.data
        for s in 0..<3 {
            p.zeroGrad()
            (p * Tensor(shape: [6], data: Array(grads[(s * 6)..<(s * 6 + 6)]))).sum().backward()
            step()
            let want = Tensor(shape: [6], data: Array(expected[(s * 6)..<(s * 6 + 6)]))
            #expect(closeness(p.detached(), want).isEmpty, "\(name) step \(s + 1): \(closeness(p.detached(), want))")
        }
    }

    @Test func sgdAndAdamWMatchPyTorch() {
        run({ p in let o = SGD([p], learningRate: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true); return o.step }, expected: "sgd")
        run({ p in let o = SGD([p], learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4); return o.step }, expected: "sgd_plain")
        run({ p in let o = AdamW([p], learningRate: 0.01, weightDecay: 0.05); return o.step }, expected: "adamw")
    }

    @Test func clippingMatchesPyTorch() {
        let p = Tensor(shape: [6], data: Self.f.tensor("opt.p0")!.data, requiresGrad: true)
        let g = Self.f.tensor("opt.grads")!.data.prefix(6).map { $0 * 10 }
        (p * Tensor(shape: [6], data: Array(g))).sum().backward()
        let norm = clipGradientNorm([p], maxNorm: 1)
        #expect(abs(norm - Self.f.tensor("clip.norm")!.item) < 1e-4)
        #expect(closeness(p.grad!, Self.f.tensor("clip.grad")!).isEmpty)
    }

    /// LARS by hand: one adapted matrix and one excluded bias, two steps.
    @Test func larsAdaptsWeightsButNotBiases() {
        let w = Tensor(shape: [2, 2], data: [3, 0, 0, 4], requiresGrad: true)   // ‖w‖ = 5
        let b = Tensor(shape: [2], data: [1, 1], requiresGrad: true)
        let opt = LARS([("fc.weight", w), ("fc.bias", b)], learningRate: 0.5, momentum: 0.9, weightDecay: 0, trustCoefficient: 0.01)
        (w * Tensor(shape: [2, 2], data: [0, 2, 0, 0]) + 0).sum().backward()   // ∇w = [[0, 2], [0, 0]], ‖∇w‖ = 2
        (b * Tensor(shape: [2], data: [1, -1])).sum().backward()
        opt.step()
        // trust = 0.01 · 5 / 2 = 0.025; Δw = 0.5 · 0.025 · ∇w; Δb = 0.5 · ∇b.
        #expect(closeness(w.detached(), Tensor(shape: [2, 2], data: [3, -0.025, 0, 4])).isEmpty)
        #expect(closeness(b.detached(), Tensor(shape: [2], data: [0.5, 1.5])).isEmpty)
        opt.step()  // momentum: the same gradients again, buffer 0.9 b + new
        #expect(closeness(b.detached(), Tensor(shape: [2], data: [0.5 - 0.95, 1.5 + 0.95])).isEmpty)
    }

    @Test func schedulesAndMovingAverage() {
        #expect(Schedule.warmupCosine(step: 0, total: 100, warmup: 10, base: 1) == 0.1)
        #expect(Schedule.warmupCosine(step: 9, total: 100, warmup: 10, base: 1) == 1)
        #expect(abs(Schedule.warmupCosine(step: 55, total: 100, warmup: 10, base: 1) - 0.5) < 1e-6)
        #expect(Schedule.warmupCosine(step: 100, total: 100, warmup: 10, base: 1, final: 0.01) == 0.01)
        #expect(abs(Schedule.stepDecay(step: 25, base: 1, every: 10, gamma: 0.5) - 0.25) < 1e-7)
        var rng = SeededRandom(seed: 4)
        let online = Linear(2, 2, rng: &rng), target = Linear(2, 2, rng: &rng)
        let (t0, o0) = (target.weight.data, online.weight.data)
        exponentialMovingAverage(target: target, online: online, momentum: 0.9)
        for k in 0..<4 { #expect(abs(target.weight.data[k] - (0.9 * t0[k] + 0.1 * o0[k])) < 1e-6) }
    }
}
