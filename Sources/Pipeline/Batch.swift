import Foundation
import TensorCore

/// A batch: a stream of tensors per modality (`video: [B·views, 3, T, H, W]`,
/// `audio: [B·views, 1, 96, 64]`, `text: [B·views, tokens]`; example-major: view j of example i
/// at row i·views + j) and each example's plan: its video, clip times and where each view was
/// read (a method derives its labels from them, e.g. avc's "all views of one video").
public struct Batch: @unchecked Sendable {
    public var step: Int
    public var streams: [Modality: Tensor]
    public var examples: [ExamplePlan]
    /// Wall time the loader spent making this batch.
    public var loadSeconds: Double

    public init(step: Int, streams: [Modality: Tensor], examples: [ExamplePlan], loadSeconds: Double) {
        (self.step, self.streams, self.examples, self.loadSeconds) = (step, streams, examples, loadSeconds)
    }

    /// Each example's anchor video.
    public var videos: [Int] { examples.map(\.video) }

    /// The stream of a modality the batch's spec asked for.
    public func stream(_ modality: Modality) -> Tensor {
        guard let t = streams[modality] else { preconditionFailure("Batch: no \(modality.rawValue) stream (the spec asked for none)") }
        return t
    }

    /// For each example, the next example (cyclically) whose clip is of another video, or nil
    /// when all the others are of its video: where in-batch negatives come from.
    public var otherVideoPartners: [Int?] {
        videos.indices.map { i in (1..<max(videos.count, 1)).lazy.map { (i + $0) % videos.count }.first { videos[$0] != videos[i] } }
    }
}

/// Makes batches ahead of the trainer on background threads, in step order; a video that
/// fails to load is reported once (`onProblem`) and replaced, and never drawn again.
public final class BatchStream: @unchecked Sendable {
    public let sampler: ClipSampler
    public let loader: ClipLoader
    public let batchSize: Int
    let workers: Int, depth: Int
    let condition = NSCondition()
    var ready: [Int: Batch] = [:]
    var nextToMake: Int
    var nextToTake: Int
    var failure: Error?
    var stopped = false
    var bad = Set<Int>()
    let onProblem: @Sendable (String) -> Void
    var threads: [Thread] = []

    /// Batches from `startStep` on; `workers` background threads keep up to `depth` batches ready.
    public init(sampler: ClipSampler, loader: ClipLoader, batchSize: Int, startStep: Int = 0, workers: Int = 1, depth: Int = 3,
                onProblem: @escaping @Sendable (String) -> Void) {
        (self.sampler, self.loader, self.batchSize, self.workers, self.depth) = (sampler, loader, batchSize, max(workers, 1), max(depth, 1))
        (self.nextToMake, self.nextToTake, self.onProblem) = (startStep, startStep, onProblem)
        for w in 0..<self.workers {
            // NOTE: the thread holds the stream until `stop()` lets it return, so a worker never
            // outlives the object it reads from.
            let thread = Thread { self.work() }
            thread.name = "concord-batches-\(w)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Stops the workers (batches in flight are dropped). Call it when done: the workers keep
    /// the stream alive until then.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch in step order, and the seconds spent waiting for it.
    public func next() throws -> (batch: Batch, waited: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        defer { condition.unlock() }
        while ready[nextToTake] == nil && failure == nil { condition.wait() }
        if let failure { throw failure }
        let batch = ready.removeValue(forKey: nextToTake)!
        nextToTake += 1
        condition.broadcast()
        return (batch, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func work() {
        while true {
            condition.lock()
            while !stopped && nextToMake - nextToTake >= depth { condition.wait() }
            if stopped { condition.unlock(); return }
            let step = nextToMake
            nextToMake += 1
            condition.unlock()
            do {
                let batch = try make(step: step)
                condition.lock()
                ready[step] = batch
                condition.broadcast()
                condition.unlock()
            } catch {
                condition.lock()
                failure = error
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Builds the batch of one step (also usable without the background threads).
    public func make(step: Int) throws -> Batch {
        let start = DispatchTime.now().uptimeNanoseconds
        let spec = sampler.spec
        var buffers: [Modality: [Float]] = [:]
        for m in Modality.allCases where !spec.views(of: m).isEmpty {
            buffers[m] = [Float](repeating: 0, count: batchSize * spec.views(of: m).count * loader.clipShape(m).reduce(1, *))
        }
        var examples: [ExamplePlan] = []
        for i in 0..<batchSize {
            var attempt = 0
            while true {
                let plan = sampler.plan(batch: step, index: i, size: batchSize, attempt: attempt)
                do {
                    try load(plan, example: i, into: &buffers)
                    examples.append(plan)
                    break
                } catch let e as ViewLoadError {
                    let badCount = report(e)
                    attempt += 1
                    guard attempt < 50, badCount < sampler.videos.count else {
                        throw PipelineError.noLoadableVideo(lastError: e.description)
                    }
                }
            }
        }
        var streams: [Modality: Tensor] = [:]
        for (m, values) in buffers {
            let rows = batchSize * spec.views(of: m).count
            streams[m] = Tensor(shape: [rows] + loader.clipShape(m), data: values)
        }
        return Batch(step: step, streams: streams, examples: examples,
                     loadSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func load(_ plan: ExamplePlan, example i: Int, into buffers: inout [Modality: [Float]]) throws {
        condition.lock()
        let knownBad = plan.views.first { bad.contains($0.video) }
        condition.unlock()
        if let knownBad {
            throw ViewLoadError(video: knownBad.video, path: sampler.videos[knownBad.video].path, underlying: "failed before",
                                alreadyReported: true)
        }
        var rng = SeededRandom(seed: plan.seed)
        var row: [Modality: Int] = [:]
        for (request, view) in zip(sampler.spec.views, plan.views) {
            let m = request.modality
            let perExample = sampler.spec.views(of: m).count, size = loader.clipShape(m).reduce(1, *)
            let r = i * perExample + (row[m] ?? 0)
            row[m, default: 0] += 1
            try buffers[m]!.withUnsafeMutableBufferPointer { b in
                if m == .text {
                    try loader.loadText(video: view.video, start: view.start, nearest: request.nearest, window: request.window,
                                        into: b.baseAddress! + r * size)
                } else {
                    try loader.load(m, video: view.video, start: view.start, rng: &rng, into: b.baseAddress! + r * size)
                }
            }
        }
    }

    /// Marks the video bad and reports it the first time; returns how many videos are bad.
    func report(_ e: ViewLoadError) -> Int {
        condition.lock()
        let first = bad.insert(e.video).inserted
        let count = bad.count
        condition.unlock()
        if first && !e.alreadyReported { onProblem("skipping \(e.description)") }
        return count
    }
}

public enum PipelineError: Error, CustomStringConvertible {
    case noLoadableVideo(lastError: String)
    public var description: String {
        switch self {
        case .noLoadableVideo(let last): "no video of the corpus could be loaded (last error: \(last))"
        }
    }
}
