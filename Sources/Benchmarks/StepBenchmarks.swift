import Encoders
import Foundation
import NN
import Objectives
import TensorCore

/// The timed training steps of `docs/design.md`, "Encoder presets and clip geometry" (forward, backward and an SGD update
/// with momentum 0.9, lr 0.01, weight decay 1e-4), built exactly as `peers/step_bench.py`
/// builds them so the samples per second compare one to one.
public enum StepBenchmarks {
    public static let workloads = ["step-avc", "step-video-contrastive", "step-milnce", "step-videomae"]

    /// One workload ready to step: `step()` runs one optimizer step on fresh random inputs
    /// (input generation happens before the timer starts) and returns the loss.
    public struct Workload {
        public let name: String
        public let batch: Int
        public let parameterCount: Int
        /// Makes one step's random inputs (untimed) and returns the loss computation on them.
        let prepare: () -> () -> Tensor
        let optimizer: SGD
        let modules: [Module]

        /// Seconds of one step (inputs made before the clock starts) and its loss.
        public func step() -> (seconds: Double, loss: Float) {
            let loss = prepare()
            Profiler.skip()
            let start = DispatchTime.now().uptimeNanoseconds
            Profiler.whole("zero grad") { for m in modules { m.zeroGrad() } }
            let l = loss()
            Profiler.charge("forward (between operations)")
            l.backward()
            Profiler.whole("optimizer") { optimizer.step() }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (seconds, l.data[0])
        }

        init(name: String, batch: Int, modules: [Module], prepare: @escaping () -> () -> Tensor) {
            self.name = name
            self.batch = batch
            self.modules = modules
            self.parameterCount = modules.flatMap(\.parameters).reduce(0) { $0 + $1.count }
            self.prepare = prepare
            self.optimizer = SGD(modules.flatMap(\.parameters), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
        }
    }

    public static func make(_ name: String) -> Workload? {
        var rng = SeededRandom(seed: 0)
        var inputRNG = SeededRandom(seed: 1)
        let batch = 16
        let temperature: Float = 0.07  // the peer's
        switch name {
        case "step-avc":
            let video = R2Plus1DTiny(rng: &rng), audio = VGGishTiny(rng: &rng), head = AVCHead(rng: &rng)
            // Second half of the pairs: audio of another clip of the batch (a roll by one).
            let permutation = Array(0..<(batch / 2)) + (0..<(batch / 2)).map { batch / 2 + ($0 + batch / 2 - 1) % (batch / 2) }
            let corresponds = [Int](repeating: 1, count: batch / 2) + [Int](repeating: 0, count: batch / 2)
            return Workload(name: name, batch: batch, modules: [video, audio, head]) {
                let clips = Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG), spectrograms = Tensor.normal([batch, 1, 96, 64], rng: &inputRNG)
                return {
                    let logits = head(video: video(clips), audio: audio(spectrograms.indexSelect(axis: 0, permutation)))
                    return CorrespondenceLoss()(logits: logits, corresponds: corresponds)
                }
            }
        case "step-video-contrastive":
            let video = R2Plus1DTiny(rng: &rng), head = ProjectionHead(rng: &rng)
            let objective = MultiClipInfoNCE(clipsPerVideo: 2, temperature: temperature)
            return Workload(name: name, batch: batch, modules: [video, head]) {
                let clips = Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG)
                return { objective(head(video(clips))) }
            }
        case "step-milnce":
            // 4 candidate narrations of up to 16 tokens per clip (ids 2..<10000, 3 to 16 of them, 0 = padding).
            let (k, length, vocabulary) = (4, 16, 10_000)
            let video = R2Plus1DTiny(rng: &rng), text = WordPool(vocabulary: vocabulary, rng: &rng)
            let objective = MILNCE(temperature: temperature)
            return Workload(name: name, batch: batch, modules: [video, text]) {
                let clips = Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG)
                var ids: [Int] = []
                for _ in 0..<(batch * k) {
                    let used = inputRNG.int(3...length)
                    for t in 0..<length { ids.append(t < used ? inputRNG.int(2...(vocabulary - 1)) : 0) }
                }
                return {
                    objective(video: video(clips).l2Normalized(axis: -1), text: text(ids, batch: batch * k).l2Normalized(axis: -1))
                }
            }
        case "step-videomae":
            let mae = VitTinyMAE(rng: &rng)
            return Workload(name: name, batch: batch, modules: [mae]) {
                let clips = Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG)
                let mask = VitTinyMAE.tubeMask(batch: batch, rng: &inputRNG)
                return { mae.loss(clips, mask: mask) }
            }
        default:
            return nil
        }
    }
}
