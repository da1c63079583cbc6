import Encoders
import Foundation
import NN
import Objectives
import TensorCore

/// The timed training steps of `reference-workloads.md` (forward, backward and an SGD update
/// with momentum 0.9, lr 0.01, weight decay 1e-4), built exactly as `peers/step_bench.py`
/// builds them so the samples per second compare one to one.
public enum StepBenchmarks {
    public static let workloads = ["step-avc", "step-video-contrastive"]

    /// One workload ready to step: `step()` runs one optimizer step on fresh random inputs
    /// (input generation happens before the timer starts) and returns the loss.
    public struct Workload {
        public let name: String
        public let batch: Int
        public let parameterCount: Int
        let makeInputs: () -> [Tensor]
        let loss: ([Tensor]) -> Tensor
        let optimizer: SGD
        let modules: [Module]

        /// Seconds of one step (inputs made before the clock starts) and its loss.
        public func step() -> (seconds: Double, loss: Float) {
            let inputs = makeInputs()
            let start = DispatchTime.now().uptimeNanoseconds
            for m in modules { m.zeroGrad() }
            let l = loss(inputs)
            l.backward()
            optimizer.step()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (seconds, l.data[0])
        }
    }

    public static func make(_ name: String) -> Workload? {
        var rng = SeededRandom(seed: 0)
        var inputRNG = SeededRandom(seed: 1)
        let batch = 16
        switch name {
        case "step-avc":
            let video = R2Plus1DTiny(rng: &rng), audio = VGGishTiny(rng: &rng), head = AVCHead(rng: &rng)
            let modules: [Module] = [video, audio, head]
            // Second half of the pairs: audio of another clip of the batch (a roll by one).
            let permutation = Array(0..<(batch / 2)) + (0..<(batch / 2)).map { batch / 2 + ($0 + batch / 2 - 1) % (batch / 2) }
            let corresponds = [Int](repeating: 1, count: batch / 2) + [Int](repeating: 0, count: batch / 2)
            return Workload(
                name: name, batch: batch, parameterCount: parameterCount(modules),
                makeInputs: { [Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG), Tensor.normal([batch, 1, 96, 64], rng: &inputRNG)] },
                loss: { inputs in
                    let logits = head(video: video(inputs[0]), audio: audio(inputs[1].indexSelect(axis: 0, permutation)))
                    return CorrespondenceLoss()(logits: logits, corresponds: corresponds)
                },
                optimizer: sgd(modules), modules: modules)
        case "step-video-contrastive":
            let video = R2Plus1DTiny(rng: &rng), head = ProjectionHead(rng: &rng)
            let modules: [Module] = [video, head]
            let objective = MultiClipInfoNCE(clipsPerVideo: 2, temperature: 0.07)  // the peer's temperature
            return Workload(
                name: name, batch: batch, parameterCount: parameterCount(modules),
                makeInputs: { [Tensor.normal([batch, 3, 8, 112, 112], rng: &inputRNG)] },
                loss: { inputs in objective(head(video(inputs[0]))) },
                optimizer: sgd(modules), modules: modules)
        default:
            return nil
        }
    }

    static func sgd(_ modules: [Module]) -> SGD {
        SGD(modules.flatMap(\.parameters), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
    }

    static func parameterCount(_ modules: [Module]) -> Int {
        modules.flatMap(\.parameters).reduce(0) { $0 + $1.count }
    }
}
