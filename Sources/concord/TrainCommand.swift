import ArgumentParser
import Corpora
import Foundation
import TensorCore
import Models
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train encoders on a corpus with one or more self-supervised objectives.",
        discussion: """
        The config (YAML) names the corpus, the objectives (methods, below) with their \
        weights and options, the encoders, the optimizer and schedule, the batch size, steps and seed; any key can be \
        overridden as key.sub=value (objectives.0.temperature=0.1, optimizer.lr=0.05, steps=500; \
        init_from=NAME takes a released model). The run writes OUT/metrics.jsonl (one JSON object a step), \
        TensorBoard event files (tensorboard --logdir OUT) and OUT/checkpoint.safetensors (atomically, \
        every checkpoint_every steps, at the end, and on Ctrl-C). --resume continues from that checkpoint \
        with the same batches an uninterrupted run would have seen. Examples: configs/*.yaml.

        Methods (objectives.N.name) and their options with defaults (docs/methods.md):
        """ + methodList)

    /// The registry's methods, one paragraph each: name, summary, options and defaults.
    static var methodList: String {
        MethodRegistry.all.map { m in
            let options = m.defaults.keys.sorted().map { "\($0): \(describe(m.defaults[$0]!))" }.joined(separator: ", ")
            return "  \(m.name): \(m.summary)\n      \(options)"
        }.joined(separator: "\n")
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): String(b)
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(Float(n))
        case .string(let s): s
        case .array(let a): "[" + a.map(describe).joined(separator: ", ") + "]"
        case .object: "{…}"
        }
    }

    @Option(help: "The YAML config.")
    var config: String?

    @Argument(help: "Overrides key.sub=value.")
    var overrides: [String] = []

    @Flag(help: "Continue from OUT/checkpoint.safetensors.")
    var resume = false

    @Flag(help: "Start again in an OUT that holds a checkpoint, replacing it and its metrics.")
    var overwrite = false

    @Flag(help: "Print the time per operation family over the run's steps at the end (run a few steps: steps=20).")
    var profile = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if resume && overwrite { throw ValidationError("--resume continues the run in OUT and --overwrite replaces it: give one") }
    }

    func run() throws {
        global.apply()
        let config = try TrainConfig.load(path: self.config, overrides: overrides)
        let c = config.clip
        let asking = config.objectives.compactMap { try? MethodRegistry.entry($0.name) }.filter { !$0.clip.isEmpty }
        let askedKeys = asking.flatMap(\.clip).sorted { $0.key < $1.key }.map { "\($0.key) \(Self.describe($0.value))" }
        note(String(format: "clip: %.2f s, %d frames %.3f s apart at %d px (short side %d), %d log-mel frames",
                    c.duration, c.frames, c.frameSpacing, c.size, c.shortSide, c.melFrames)
             + (asking.isEmpty ? "" : " (\(asking.map(\.name).joined(separator: ", ")) asks for \(askedKeys.joined(separator: ", ")) where the config leaves them out)"))
        if global.threads == nil, let t = config.threads { Threads.configure(t) }
        let trainer = try Trainer(config: config)
        let stop = trainer.stopRequested
        // Ctrl-C, SIGTERM (schedulers, `timeout`) and SIGHUP (a closed terminal) all stop after
        // the step and save a checkpoint; a second one quits at once.
        var sources: [DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "Ctrl-C"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                note("\n\(name): stopping after this step and saving a checkpoint (again to quit at once)…")
                stop.set()
                for n in [SIGINT, SIGTERM, SIGHUP] { signal(n, SIG_DFL) }
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        let progress = TrainProgress(total: config.steps)
        do {
            if profile { Profiler.start() }
            let log = try trainer.run(resume: resume, overwrite: overwrite) { progress.handle($0) }
            if profile {
                let families = Profiler.stop()
                print("time per operation family over \(log.count) steps (BLAS kernels \(BLASKernels.current), \(Threads.count) threads)")
                print(Profiler.table(families, steps: log.count))
            }
        } catch let e as TrainingError {
            note("Error: \(e.description)")
            if case .interrupted = e { throw ExitCode(130) }
            throw ExitCode.failure
        }
        note("done: \(trainer.checkpointPath), metrics in \(trainer.metricsPath)")
    }
}

/// Draws the trainer's events on standard error.
final class TrainProgress: @unchecked Sendable {
    let total: Int
    var first = 0
    var started = Date()
    var elapsedSteps = 0
    var waitShare = 0.0
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPrint = Date.distantPast

    init(total: Int) { self.total = total }

    func handle(_ event: TrainEvent) {
        switch event {
        case .problem(let text):
            note(text)
        case .started(let step, let total, let videos, let parameters):
            first = step
            started = Date()
            note("training \(videos) videos, \(parameters) parameters, steps \(step + 1)…\(total)" + (step > 0 ? " (resumed)" : ""))
        case .initialised(let path, let tensors):
            note("encoders initialised from \(path) (\(tensors) tensors; heads start fresh)")
        case .checkpoint(let path, let step):
            if !isTerminal { note("checkpoint \(path) at step \(step)") }
        case .step(let m):
            elapsedSteps += 1
            waitShare += m.dataWait
            let now = Date()
            guard m.step == total || now.timeIntervalSince(lastPrint) > (isTerminal ? 0.2 : 10) else { return }
            lastPrint = now
            let perStep = now.timeIntervalSince(started) / Double(elapsedSteps)
            let extra = m.metrics.sorted { $0.key < $1.key }.map { String(format: " %@ %.3f", $0.key, $0.value) }.joined()
            let line = String(format: "step %d/%d  loss %.4f%@  %.1f clips/s  data wait %.0f%%  ", m.step, total, m.loss, extra,
                              m.clipsPerSecond, 100 * waitShare / Double(elapsedSteps))
                + (m.step == total ? "done in " + ProgressLine.clock(now.timeIntervalSince(started))
                                   : "ETA " + ProgressLine.clock(perStep * Double(total - m.step)))
            fflush(nil)
            FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (m.step == total || !isTerminal ? "\n" : "")).utf8))
        }
    }
}
