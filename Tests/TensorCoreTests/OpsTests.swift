import Foundation
import TensorCore
import TestSupport
import Testing

/// Every primitive against PyTorch (`Fixtures/ops.safetensors`, made by `make_fixtures.py`) and
/// against finite differences.
@Suite struct OpsTests {
    static let fixtures: SafeTensorsFile = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ops.safetensors").path
        return try! SafeTensorsFile(path: path)
    }()

    static func targets(_ name: String) -> [Int] { fixtures.tensor("\(name).targets")!.data.map { Int($0) } }

    /// Each case's operation, written with Concord's API.
    static let operations: [String: @Sendable ([Tensor]) -> Tensor] = [
        "add": { $0[0] + $0[1] }, "sub": { $0[0] - $0[1] }, "mul": { $0[0] * $0[1] }, "div": { $0[0] / $0[1] },
        "neg": { -$0[0] }, "exp": { $0[0].exp() }, "log": { $0[0].log() }, "sqrt": { $0[0].sqrt() },
        "pow": { $0[0].pow(2.5) }, "abs": { $0[0].abs() }, "clamp": { $0[0].clamped(min: -0.5, max: 0.5) },
        "relu": { $0[0].relu() }, "gelu": { $0[0].gelu() }, "sigmoid": { $0[0].sigmoid() }, "tanh": { $0[0].tanh() },
        "softplus": { $0[0].softplus() },
        "sum": { $0[0].sum(axes: [0, 2]) }, "sum_all": { $0[0].sum() }, "mean": { $0[0].mean(axes: [1], keepDims: true) },
        "var": { $0[0].variance(axes: [1]) }, "max": { $0[0].max(axis: 1) }, "min": { $0[0].min(axis: 0) },
        "logsumexp": { $0[0].logSumExp(axis: 1) },
        "matmul": { matmul($0[0], $0[1]) }, "matmul_ta": { matmul($0[0], $0[1], transposeA: true) },
        "matmul_tb": { matmul($0[0], $0[1], transposeB: true) },
        "matmul_tab": { matmul($0[0], $0[1], transposeA: true, transposeB: true) },
        "bmm": { matmul($0[0], $0[1]) }, "bmm_tb": { matmul($0[0], $0[1], transposeB: true) },
        "linear3d": { matmul($0[0], $0[1]) },
        "reshape": { $0[0].reshaped([6, 4]) }, "permute": { $0[0].permuted([2, 0, 1]) },
        "softmax": { $0[0].softmax(axis: 1) }, "log_softmax": { $0[0].logSoftmax(axis: -1) },
        "l2_normalize": { $0[0].l2Normalized(axis: 1) },
        "cross_entropy": { crossEntropy($0[0], targets: targets("cross_entropy")) },
        "cross_entropy_ws": { crossEntropy($0[0], targets: targets("cross_entropy_ws"), weights: [1, 2, 0.5, 1.5], labelSmoothing: 0.1) },
        "bce_logits": { binaryCrossEntropyWithLogits($0[0], targets: $0[1]) },
        "mse": { meanSquaredError($0[0], $0[1]) },
        "slice": { $0[0].slice(axis: 1, 1..<4) },
        "pad": { $0[0].padded(axis: 1, before: 2, after: 1) },
        "concat": { concat([$0[0], $0[1]], axis: 1) },
        "stack": { stack([$0[0], $0[1]], axis: 1) },
        "index_select": { $0[0].indexSelect(axis: 1, [2, 0, 2, 1]) },
        "embedding": { embedding([1, 4, 1, 0, 2, 3], shape: [2, 3], weight: $0[0]) },
        "scatter_add": { $0[0].scatterAdding(axis: 1, indices: targets("scatter_add"), source: $0[1]) },
        "gather": { $0[0].gathering(axis: 2, indices: targets("gather"), indexShape: [2, 3, 6]) },
        "masked_fill": { $0[0].maskedFill(OpsTests.mask, -2.5) },
        "where": { select(OpsTests.mask, $0[0], $0[1]) },
        "upsample_nearest": { $0[0].upsampledNearest(height: 7, width: 5) },
        "upsample_bilinear": { $0[0].upsampledBilinear(height: 11, width: 9) },
        "upsample_bilinear_down": { $0[0].upsampledBilinear(height: 3, width: 2) },
        "conv2d": { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1)) },
        "conv2d_dilated": { conv2d($0[0], weight: $0[1], padding: (2, 2), dilation: (2, 2)) },
        "conv2d_1x1": { conv2d($0[0], weight: $0[1]) },
        "conv3d_spatial": { conv3d($0[0], weight: $0[1], stride: (1, 2, 2), padding: (0, 1, 1)) },
        "conv3d_temporal": { conv3d($0[0], weight: $0[1], stride: (2, 1, 1), padding: (1, 0, 0)) },
        "conv3d_stem": { conv3d($0[0], weight: $0[1], stride: (1, 2, 2), padding: (0, 3, 3)) },
        "conv3d_shortcut": { conv3d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2, 2)) },
        "conv2d_wide": { conv2d($0[0], weight: $0[1], stride: (2, 2), padding: (1, 1)) },
        "maxpool3d": { maxPool3d($0[0], kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1)) },
        "maxpool2d": { maxPool2d($0[0], kernel: (2, 2), stride: (2, 2)) },
        "avgpool2d": { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) },
        "avgpool3d": { avgPool3d($0[0], kernel: (2, 2, 2), stride: (2, 2, 2)) },
        "global_avg": { $0[0].globalAveragePooled() },
        "layernorm": { layerNorm($0[0], weight: $0[1], bias: $0[2]) },
        "batchnorm_train": { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: runningStat("batchnorm_train", "mean"),
                                       runningVar: runningStat("batchnorm_train", "var"), training: true) },
        "batchnorm_eval": { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: runningStat("batchnorm_eval", "mean"),
                                      runningVar: runningStat("batchnorm_eval", "var"), training: false) },
    ]

    static let mask = [true, false, false, true, false, true, false, false, false, false, false, true]

    /// A fresh copy of a case's running statistic as it was before the call.
    static func runningStat(_ name: String, _ which: String) -> Tensor {
        fixtures.tensor("\(name).running_\(which)_before")!.detached()
    }

    static func inputs(_ name: String) -> [Tensor] {
        (0...).lazy.map { fixtures.tensor("\(name).in\($0)") }.prefix { $0 != nil }.map { $0! }
    }

    @Test(arguments: operations.keys.sorted())
    func matchesPyTorch(name: String) throws {
        let f = try #require(Self.operations[name])
        let xs = Self.inputs(name).map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
        #expect(!xs.isEmpty, "\(name): no inputs in the fixture file")
        let out = f(xs)
        let expected = try #require(Self.fixtures.tensor("\(name).out"))
        #expect(closeness(out, expected).isEmpty, "\(name) output: \(closeness(out, expected))")
        let up = try #require(Self.fixtures.tensor("\(name).up"))
        (out * up).sum().backward()
        for (i, x) in xs.enumerated() {
            guard let g = Self.fixtures.tensor("\(name).grad\(i)") else { continue }
            let got = x.grad ?? Tensor.zeros(x.shape)
            #expect(closeness(got, g).isEmpty, "\(name) gradient of input \(i): \(closeness(got, g))")
        }
    }

    @Test(arguments: operations.keys.sorted())
    func gradientsMatchFiniteDifferences(name: String) throws {
        let f = try #require(Self.operations[name])
        let failures = gradientCheck(Self.inputs(name), f)
        #expect(failures.isEmpty, "\(name): \(failures.prefix(4))")
    }

    @Test func batchNormUpdatesRunningStatisticsAsPyTorch() throws {
        for (name, training) in [("batchnorm_train", true), ("batchnorm_eval", false)] {
            let xs = Self.inputs(name)
            let rm = Self.runningStat(name, "mean"), rv = Self.runningStat(name, "var")
            _ = batchNorm(xs[0], weight: xs[1], bias: xs[2], runningMean: rm, runningVar: rv, training: training)
            #expect(closeness(rm, Self.fixtures.tensor("\(name).running_mean_after")!).isEmpty, "\(name) running mean")
            #expect(closeness(rv, Self.fixtures.tensor("\(name).running_var_after")!).isEmpty, "\(name) running var")
        }
    }

    /// The fused, threaded kernels on inputs large enough to run in parallel equal their
    /// compositions of primitive ops (outputs and gradients).
    @Test func fusedKernelsEqualTheirCompositionsOnLargeInputs() {
        var rng = SeededRandom(seed: 11)
        let shape = [3, 6, 4, 20, 20]  // 28,800 values a channel: the parallel paths run
        let x = Tensor.normal(shape, mean: 2, std: 3, rng: &rng)
        x.requiresGrad = true
        let w = Tensor.uniform([6], 0.5, 1.5, rng: &rng), b = Tensor.uniform([6], -1, 1, rng: &rng)
        w.requiresGrad = true
        b.requiresGrad = true
        let seed = Tensor.normal(shape, rng: &rng)
        for training in [true, false] {
            let rm = Tensor.uniform([6], -1, 1, rng: &rng), rv = Tensor.uniform([6], 0.5, 2, rng: &rng)
            let fused = batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv, training: training)
            fused.backward(seed)
            let (gx, gw, gb) = (x.grad!, w.grad!, b.grad!)
            for t in [x, w, b] { t.zeroGrad() }
            let axes = [0, 2, 3, 4]
            let mean = training ? x.mean(axes: axes, keepDims: true) : Tensor(shape: [1, 6, 1, 1, 1], data: rm.data)
            let variance = training ? x.variance(axes: axes, unbiased: false, keepDims: true) : Tensor(shape: [1, 6, 1, 1, 1], data: rv.data)
            let composed = (x - mean) / (variance + 1e-5).sqrt() * w.reshaped([1, 6, 1, 1, 1]) + b.reshaped([1, 6, 1, 1, 1])
            composed.backward(seed)
            #expect(closeness(fused, composed, rtol: 1e-4, atol: 1e-4).isEmpty, "batchNorm training=\(training) output")
            #expect(closeness(gx, x.grad!, rtol: 1e-3, atol: 1e-4).isEmpty, "batchNorm training=\(training) dx")
            #expect(closeness(gw, w.grad!, rtol: 1e-3, atol: 1e-3).isEmpty, "batchNorm training=\(training) dw")
            #expect(closeness(gb, b.grad!, rtol: 1e-3, atol: 1e-3).isEmpty, "batchNorm training=\(training) db")
            for t in [x, w, b] { t.zeroGrad() }
        }
        // ReLU and max pooling against elementwise definitions.
        let r = x.relu()
        r.backward(seed)
        #expect(r.data == x.data.map { max($0, 0) })
        #expect(x.grad!.data == zip(x.data, seed.data).map { $0 > 0 ? $1 : 0 })
        x.zeroGrad()
        let pooled = maxPool3d(x, kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1))
        #expect(pooled.shape == [3, 6, 4, 10, 10])
        var expected = [Float]()
        for plane in 0..<(3 * 6 * 4) { for y in 0..<10 { for xo in 0..<10 {
            var best = -Float.infinity
            for iy in max(2 * y - 1, 0)...min(2 * y + 1, 19) { for ix in max(2 * xo - 1, 0)...min(2 * xo + 1, 19) {
                best = max(best, x.data[(plane * 20 + iy) * 20 + ix])
            } }
            expected.append(best)
        } } }
        #expect(pooled.data == expected)
    }

    /// The stem's geometry builds its column matrix a depth slice at a time (1.8 MB a slice):
    /// over three slices, output and gradients equal the same 2-D convolution applied to the
    /// slices as separate samples (one chunk each). A strided 1x1x1 convolution (one product
    /// over the batch) equals its definition as subsampling then a channel-mixing product.
    @Test func chunkedAndPointwiseConvolutionsEqualTheirDefinitions() {
        var rng = SeededRandom(seed: 5)
        let x = Tensor.normal([1, 3, 3, 112, 112], rng: &rng)
        x.requiresGrad = true
        let w = Tensor.normal([4, 3, 1, 7, 7], std: 0.1, rng: &rng)
        w.requiresGrad = true
        let y = conv3d(x, weight: w, stride: (1, 2, 2), padding: (0, 3, 3))  // [1, 4, 3, 56, 56]
        let seed = Tensor.normal(y.shape, rng: &rng)
        y.backward(seed)
        let slices = x.detached().permuted([0, 2, 1, 3, 4]).reshaped([3, 3, 112, 112])
        slices.requiresGrad = true
        let w2 = w.detached().reshaped([4, 3, 7, 7])
        w2.requiresGrad = true
        let y2 = conv2d(slices, weight: w2, stride: (2, 2), padding: (3, 3))  // [3, 4, 56, 56]
        y2.backward(seed.reshaped([4, 3, 56, 56]).permuted([1, 0, 2, 3]))
        #expect(closeness(y.reshaped([4, 3, 56, 56]), y2.permuted([1, 0, 2, 3])).isEmpty, "chunked conv output")
        #expect(closeness(x.grad!, slices.grad!.reshaped([1, 3, 3, 112, 112]).permuted([0, 2, 1, 3, 4])).isEmpty, "chunked conv dx")
        #expect(closeness(w.grad!.reshaped([4, 3, 7, 7]), w2.grad!, rtol: 1e-3, atol: 1e-3).isEmpty, "chunked conv dw")

        let z = Tensor.normal([2, 5, 4, 9, 33], rng: &rng)
        z.requiresGrad = true
        let v = Tensor.normal([6, 5, 1, 1, 1], rng: &rng)
        let pointwise = conv3d(z, weight: v, stride: (2, 2, 2))  // [2, 6, 2, 5, 17]
        let sampled = z.indexSelect(axis: 2, [0, 2]).indexSelect(axis: 3, [0, 2, 4, 6, 8])
            .indexSelect(axis: 4, Array(stride(from: 0, to: 33, by: 2)))  // [2, 5, 2, 5, 17]
        let mixed = matmul(v.reshaped([6, 5]), sampled.permuted([1, 0, 2, 3, 4]).reshaped([5, 2 * 170]))
            .reshaped([6, 2, 2, 5, 17]).permuted([1, 0, 2, 3, 4])
        #expect(closeness(pointwise, mixed).isEmpty, "strided pointwise conv output")
        let up = Tensor.normal(pointwise.shape, rng: &rng)
        pointwise.backward(up)
        let viaConv = z.grad!
        z.zeroGrad()
        mixed.backward(up)
        #expect(closeness(viaConv, z.grad!).isEmpty, "strided pointwise conv dx")
    }

    /// Samples spread over the threads (a batch of 3 on 2 threads, columns in depth chunks,
    /// per-thread weight-gradient sums) give what the samples give one at a time; without an
    /// input gradient (a first layer) the weight gradient is the same.
    @Test func samplesOnThreadsEqualOneSampleAtATime() {
        var rng = SeededRandom(seed: 9)
        let x = Tensor.normal([3, 3, 6, 96, 96], rng: &rng)
        let w = Tensor.normal([5, 3, 3, 7, 7], std: 0.1, rng: &rng)
        w.requiresGrad = true
        let y = conv3d(x, weight: w, stride: (1, 2, 2), padding: (1, 3, 3))  // [3, 5, 6, 48, 48], a chunk per depth slice
        let seed = Tensor.normal(y.shape, rng: &rng)
        y.backward(seed)
        let dwWithoutInputGradient = w.grad!
        w.zeroGrad()
        x.requiresGrad = true
        conv3d(x, weight: w, stride: (1, 2, 2), padding: (1, 3, 3)).backward(seed)
        #expect(closeness(w.grad!, dwWithoutInputGradient).isEmpty, "dw without an input gradient")
        var dwSum = [Float](repeating: 0, count: w.count)
        for s in 0..<3 {
            let xs = x.detached().slice(axis: 0, s..<(s + 1))
            xs.requiresGrad = true
            let ws = w.detached()
            ws.requiresGrad = true
            let ys = conv3d(xs, weight: ws, stride: (1, 2, 2), padding: (1, 3, 3))
            ys.backward(seed.slice(axis: 0, s..<(s + 1)))
            #expect(closeness(ys, y.slice(axis: 0, s..<(s + 1))).isEmpty, "output of sample \(s)")
            #expect(closeness(xs.grad!, x.grad!.slice(axis: 0, s..<(s + 1))).isEmpty, "dx of sample \(s)")
            for i in 0..<w.count { dwSum[i] += ws.grad!.data[i] }
        }
        #expect(closeness(Tensor(shape: w.shape, data: dwSum), w.grad!, rtol: 1e-3, atol: 1e-3).isEmpty, "dw summed over samples")
    }

    @Test func sortAndTopK() {
        let x = Tensor(shape: [2, 4], data: [3, 1, 4, 1, -2, 7, 0, 7])
        let (v, i) = x.sorted()
        #expect(v.data == [1, 1, 3, 4, -2, 0, 7, 7] && i == [1, 3, 0, 2, 0, 2, 1, 3])
        let (tv, ti) = x.topK(2)
        #expect(tv.shape == [2, 2] && tv.data == [4, 3, 7, 7] && ti == [2, 0, 1, 3])
        var rng = SeededRandom(seed: 1)
        #expect(rng.permutation(10).sorted() == Array(0..<10))
    }

    @Test func dropoutKeepsTheExpectationAndIsOffInEvaluation() {
        var rng = SeededRandom(seed: 3)
        let x = Tensor(shape: [10000], repeating: 1)
        let y = x.dropout(0.3, training: true, rng: &rng)
        let zeros = y.data.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10000 - 0.3) < 0.02)
        #expect(abs(y.mean().item - 1) < 0.03)
        #expect(x.dropout(0.3, training: false, rng: &rng) === x)
    }

    @Test func gradientsAccumulateAndNoGradRecordsNothing() {
        let x = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        (x * 2).sum().backward()
        (x * x).sum().backward()
        #expect(x.grad!.data == [4, 6, 8])
        let y = Autograd.withoutGradients { x * 3 }
        #expect(!y.requiresGrad)
        let d = (x * 2).detached()
        #expect(!d.requiresGrad)
        // A tensor used twice gets both contributions.
        let z = Tensor(shape: [2], data: [1, -1], requiresGrad: true)
        (z * z + z).sum().backward()
        #expect(z.grad!.data == [3, -1])
    }
}

@Suite struct SafeTensorsTests {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    @Test func readsAFileWrittenByPyTorch() throws {
        let file = try SafeTensorsFile(path: fixtures + "/torch_written.safetensors")
        #expect(file.metadata == ["step": "42", "note": "from torch"])
        #expect(file.tensor("weight")?.shape == [2, 3] && file.tensor("weight")?.data == [0, 1, 2, 3, 4, 5])
        #expect(file.tensor("bias")?.data == [0.5, -1])
        #expect(file.tensor("double")?.data == [1.25, 2.5])
        #expect(file.entries["count"]?.dtype == "I64" && file.tensor("count")?.data == [7] && file.tensor("count")?.shape == [])
    }

    @Test func roundTripsAndWritesAtomically() throws {
        let dir = makeTemporaryDirectory()
        var file = SafeTensorsFile(metadata: ["config": "{\"a\": 1}"])
        file.set("layer.weight", Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        file.set("bn.num_batches_tracked", int64: [5], shape: [])
        try file.write(to: dir + "/m.safetensors")
        let back = try SafeTensorsFile(path: dir + "/m.safetensors")
        #expect(back.metadata == file.metadata)
        #expect(back.tensor("layer.weight")?.data == [1, 2, 3, 4])
        #expect(back.entries["bn.num_batches_tracked"]?.dtype == "I64")
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.safetensors.partial"))
        // The data starts 8-byte aligned.
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.safetensors"))
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(n % 8 == 0)
    }

    @Test func truncatedOrCorruptFilesAreClearErrors() throws {
        let dir = makeTemporaryDirectory()
        let good = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/torch_written.safetensors"))
        for (name, bytes) in [("short", good.prefix(4)), ("truncated", good.prefix(good.count - 5)),
                              ("garbage", Data(repeating: 0x41, count: 64)), ("empty", Data())] {
            let path = dir + "/\(name).safetensors"
            try bytes.write(to: URL(fileURLWithPath: path))
            do {
                _ = try SafeTensorsFile(path: path)
                Issue.record("\(name) should be refused")
            } catch let e as SafeTensorsError {
                #expect(e.description.contains(path), "\(e)")
            }
        }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: dir + "/missing.safetensors") }
    }
}
