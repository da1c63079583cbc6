import CBLAS
import Foundation
import TensorCore

/// The convolutions of the reference encoders (`docs/design.md`, "Encoder presets and clip geometry", names as in
/// `peers/models.py`) at batch 16, timed forward + backward, beside sgemm on the same matrix
/// shapes.
public enum ConvBenchmarks {
    public struct Layer: Sendable {
        public var name: String
        /// `[N, C, D, H, W]` (2-D layers have D = 1).
        public var input: [Int]
        public var outChannels: Int
        public var kernel: (Int, Int, Int)
        public var stride: (Int, Int, Int)
        public var padding: (Int, Int, Int)
        /// False for an encoder's first layer (its input needs no gradient).
        public var inputGradient: Bool

        var geometry: (k: Int, p: Int, out: [Int]) {
            let (n, c, d, h, w) = (input[0], input[1], input[2], input[3], input[4])
            let od = (d + 2 * padding.0 - kernel.0) / stride.0 + 1
            let oh = (h + 2 * padding.1 - kernel.1) / stride.1 + 1
            let ow = (w + 2 * padding.2 - kernel.2) / stride.2 + 1
            return (c * kernel.0 * kernel.1 * kernel.2, od * oh * ow, [n, outChannels, od, oh, ow])
        }

        /// The sgemm products of one forward + backward as (M, N, K, transA, transB), batch folded into N.
        var products: [(Int, Int, Int, Bool, Bool)] {
            let (k, p, _) = geometry
            let np = input[0] * p
            var list = [(outChannels, np, k, false, false), (outChannels, k, np, false, true)]  // forward, dW
            if inputGradient { list.append((k, np, outChannels, true, false)) }  // dX
            return list
        }

        /// Floating-point operations of one forward + backward.
        public var gflop: Double { products.reduce(0) { $0 + 2 * Double($1.0) * Double($1.1) * Double($1.2) } / 1e9 }
    }

    static func layer(_ name: String, _ input: [Int], _ out: Int, _ k: (Int, Int, Int), _ s: (Int, Int, Int), _ p: (Int, Int, Int),
                      first: Bool = false) -> Layer {
        Layer(name: name, input: input, outChannels: out, kernel: k, stride: s, padding: p, inputGradient: !first)
    }

    /// `r2plus1d-tiny` on [16, 3, 8, 112, 112].
    public static let r2plus1dTiny: [Layer] = {
        var layers = [layer("r2plus1d.stem.spatial", [16, 3, 8, 112, 112], 24, (1, 7, 7), (1, 2, 2), (0, 3, 3), first: true),
                      layer("r2plus1d.stem.temporal", [16, 24, 8, 56, 56], 32, (3, 1, 1), (1, 1, 1), (1, 0, 0))]
        // (name, cin, cout, input T, H, temporal stride, spatial stride)
        for (stage, cin, cout, t, h, st, ss) in [("stage1", 32, 32, 8, 28, 1, 1), ("stage2", 32, 64, 8, 28, 2, 2),
                                                 ("stage3", 64, 128, 4, 14, 2, 2), ("stage4", 128, 256, 2, 7, 1, 1)] {
            let h2 = (h + 2 - 3) / ss + 1, t2 = (t + 2 - 3) / st + 1
            layers.append(layer("r2plus1d.\(stage).spatial1", [16, cin, t, h, h], cout, (1, 3, 3), (1, ss, ss), (0, 1, 1)))
            layers.append(layer("r2plus1d.\(stage).temporal1", [16, cout, t, h2, h2], cout, (3, 1, 1), (st, 1, 1), (1, 0, 0)))
            layers.append(layer("r2plus1d.\(stage).spatial2", [16, cout, t2, h2, h2], cout, (1, 3, 3), (1, 1, 1), (0, 1, 1)))
            layers.append(layer("r2plus1d.\(stage).temporal2", [16, cout, t2, h2, h2], cout, (3, 1, 1), (1, 1, 1), (1, 0, 0)))
            if cin != cout || st != 1 || ss != 1 {
                layers.append(layer("r2plus1d.\(stage).shortcut", [16, cin, t, h, h], cout, (1, 1, 1), (st, ss, ss), (0, 0, 0)))
            }
        }
        return layers
    }()

    /// `vggish-tiny` on [16, 1, 96, 64].
    public static let vggishTiny: [Layer] = [
        layer("vggish.block1", [16, 1, 1, 96, 64], 32, (1, 3, 3), (1, 1, 1), (0, 1, 1), first: true),
        layer("vggish.block2", [16, 32, 1, 48, 32], 64, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
        layer("vggish.block3a", [16, 64, 1, 24, 16], 128, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
        layer("vggish.block3b", [16, 128, 1, 24, 16], 128, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
        layer("vggish.block4a", [16, 128, 1, 12, 8], 256, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
        layer("vggish.block4b", [16, 256, 1, 12, 8], 256, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
    ]

    /// One forward + backward of the layer on fixed random data (the output gradient is made
    /// once: it is the layer's input in a network, not part of its work).
    static func layerStep(_ l: Layer) -> () -> Void {
        var rng = SeededRandom(seed: 7)
        let x = Tensor(shape: l.input, data: (0..<l.input.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) },
                       requiresGrad: l.inputGradient)
        let wShape = [l.outChannels, l.input[1], l.kernel.0, l.kernel.1, l.kernel.2]
        let w = Tensor(shape: wShape, data: (0..<wShape.reduce(1, *)).map { _ in Float(rng.uniform(-0.1, 0.1)) }, requiresGrad: true)
        var outputGradient: Tensor?
        return {
            let y = conv3d(x, weight: w, stride: l.stride, padding: l.padding)
            if outputGradient == nil { outputGradient = Tensor(shape: y.shape, repeating: 1) }
            y.backward(outputGradient!)
            w.zeroGrad()
            x.zeroGrad()
        }
    }

    /// sgemm on the layer's products (row-major, the layer's transposes) on fixed random data.
    static func sgemmRun(_ l: Layer) -> () -> Void {
        var rng = SeededRandom(seed: 3)
        let buffers = l.products.map { (m, n, k, _, _) in
            ((0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) }, (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) })
        }
        var outputs = l.products.map { (m, n, _, _, _) in [Float](repeating: 0, count: m * n) }
        return {
            for (i, (m, n, k, ta, tb)) in l.products.enumerated() {
                buffers[i].0.withUnsafeBufferPointer { a in
                    buffers[i].1.withUnsafeBufferPointer { b in
                        outputs[i].withUnsafeMutableBufferPointer { c in
                            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                                        Int32(m), Int32(n), Int32(k), 1, a.baseAddress!, Int32(ta ? m : k),
                                        b.baseAddress!, Int32(tb ? k : n), 0, c.baseAddress!, Int32(n))
                        }
                    }
                }
            }
        }
    }

    /// The layer's forward + backward `reps` times after a warm-up, then sgemm on its products
    /// as often: median seconds of each, and the growth of resident memory over the layer's
    /// repetitions.
    ///
    /// NOTE: not alternated rep by rep: OpenBLAS's threads spin for a while after each threaded
    /// sgemm, and a layer timed right after one competes with them for the cores (measured:
    /// the stage2 shortcut at 35–47 GFLOP/s alternated, 57–66 with `OPENBLAS_THREAD_TIMEOUT=4`).
    public static func measure(_ l: Layer, reps: Int) -> (seconds: Double, sgemmSeconds: Double, rssGrowthMB: Double) {
        let step = layerStep(l)
        step()
        let before = residentMegabytes()
        let times = timeRepeated(reps, step)
        let growth = residentMegabytes() - before
        let gemm = sgemmRun(l)
        gemm()
        return (median(times), median(timeRepeated(reps, gemm)), growth)
    }

    /// sgemm's GFLOP/s on the layer's products (median of `reps` of the whole set).
    public static func sgemmRate(_ l: Layer, reps: Int) -> Double {
        let run = sgemmRun(l)
        run()
        return l.gflop / median(timeRepeated(reps, run))
    }
}

/// Current resident memory of this process in MB (from /proc/self/statm; 0 where absent).
public func residentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}
