import ArgumentParser
import AudioFeatures
import Benchmarks
import Foundation
import Media
import TensorCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a reference workload, beside its peer on the same work where one is installed.",
        discussion: """
        Workloads: gemm (sgemm GFLOP/s on the matrix products of every convolution of r2plus1d-tiny and \
        vggish-tiny at batch 16), conv (those convolutions forward + backward, GFLOP/s beside sgemm's, and \
        resident-memory growth over the repetitions), logmel (10 minutes of 16 kHz audio to the default log-mel; peer: librosa with \
        --python), decode (every 3rd frame of a 60 s 640x360 file at 112x112 plus its audio at 16 kHz; \
        peer: the ffmpeg CLI doing the same work) and clips (100 random 0.96 s clips read as training reads them, through \
        ClipLoader: 8 frames at 112x112 \
        and 15360 audio samples and their 96x64 log-mel each), step-avc, step-video-contrastive, step-milnce and \
        step-videomae (one optimizer step of the reference training workloads at batch 16, in samples per second and peak \
        resident memory; peer: PyTorch through ../shared/peers/step_bench.py with --python and --peers), \
        search (exact top-10 by inner product of 100 queries over 1,000,000 x 256 unit vectors, seconds per \
        batch; peer: faiss IndexFlatIP through ../shared/peers/search_bench.py). \
        Figures are medians of --reps runs (step workloads: of --steps steps after 3 warm-up steps).
        """)

    @Argument(help: "gemm, conv, logmel, decode, clips, search, step-avc, step-video-contrastive, step-milnce, step-videomae or all.")
    var workload: String

    @Option(help: "The media file to use (default: a 60 s 640x360 H.264+AAC file made once in the temporary folder).")
    var input: String?

    @Option(help: "Repetitions (the median is reported).")
    var reps: Int = 5

    @Option(help: "Clips for the clips workload.")
    var clips: Int = 100

    @Option(help: "gemm/conv: only the layers whose name starts with this (e.g. vggish., r2plus1d.stage4).")
    var layer: String?

    @Option(help: "Seconds of audio for the logmel workload (the reference workload is 600).")
    var seconds: Int = AudioBenchmarks.seconds

    @Option(help: "A Python with librosa (and soundfile) to time as the logmel peer, e.g. a venv's python.")
    var python: String?

    @Option(help: "Steps timed for the step workloads (after 3 warm-up steps).")
    var steps: Int = 10

    @Option(help: "The folder of the peers' scripts (step_bench.py, models.py), run with --python.")
    var peers: String?

    /// `--peers` as an absolute path: the peers run in the scripts' folder, so a relative
    /// path would be resolved against it.
    var peersFolder: String? { peers.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }

    @Flag(name: .long, help: "Skip the peer.")
    var noPeer = false

    @Flag(name: .long, help: "Step workloads: print the time per operation family over the timed steps (forward and backward of each primitive, the optimizer, the tape).")
    var profile = false

    @Flag(name: .long, help: "With --profile: one row per operation (the primitive's function) instead of per family.")
    var profileOps = false

    @Flag(name: .long, help: "One JSON object per workload.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let known = ["decode", "clips", "logmel", "gemm", "conv", "search"] + StepBenchmarks.workloads
        let selected = workload == "all" ? known : [workload]
        guard selected.allSatisfy(known.contains) else {
            throw ValidationError("unknown workload '\(workload)' (known: \(known.joined(separator: ", ")), all)")
        }
        var results: [BenchmarkResult] = []
        if selected.contains("logmel") {
            let result = try benchLogmel()
            results.append(result)
            if json { try printJSONLine(result) }
        }
        if selected.contains("search") {
            let result = try benchSearch()
            results.append(result)
            if json { try printJSONLine(result) }
        }
        for name in selected where StepBenchmarks.workloads.contains(name) {
            let result = try benchStep(name)
            results.append(result)
            if json { try printJSONLine(result) }
        }
        if selected.contains("gemm") || selected.contains("conv") {
            let layerResults = try benchLayers(conv: selected.contains("conv"))
            results += layerResults
        }
        let mediaWorkloads = selected.filter { ["decode", "clips"].contains($0) }
        if mediaWorkloads.isEmpty {
            if !json && !results.isEmpty { printTable(results) }
            return
        }
        let file: String
        if let input {
            file = input
        } else {
            if !MediaBenchmarks.testFileExists { note("making the 60 s 640x360 test file (once)…") }
            file = try MediaBenchmarks.testFile()
        }
        for w in mediaWorkloads {
            let result = w == "decode" ? try benchDecode(file) : try benchClips(file)
            results.append(result)
            if json { try printJSONLine(result) }
        }
        if !json && !results.isEmpty { printTable(results) }
    }

    func benchDecode(_ file: String) throws -> BenchmarkResult {
        var counts = (frames: 0, samples: 0)
        _ = try MediaBenchmarks.decode(file: file)  // warm the page cache
        let ours = try timeRepeated(reps) { counts = try MediaBenchmarks.decode(file: file) }
        var result = BenchmarkResult(workload: "decode", value: median(ours), unit: "s", threads: Threads.count,
                                     peakRSSMB: peakResidentMegabytes(), repetitions: ours,
                                     detail: ["file": file, "frames": String(counts.frames), "audio_samples": String(counts.samples)])
        if !noPeer && MediaBenchmarks.ffmpegCLIAvailable {
            var cliFrames = 0
            let peer = try timeRepeated(reps) { cliFrames = try MediaBenchmarks.decodeWithCLI(file: file) }
            result.peer = "ffmpeg CLI (same output: every 3rd frame 112x112 rgb24 on a pipe + 16 kHz mono f32)"
            result.peerValue = median(peer)
            result.speedup = median(peer) / median(ours)
            result.detail["peer_frames"] = String(cliFrames)
            result.detail["peer_repetitions"] = peer.map { String(format: "%.3f", $0) }.joined(separator: ",")
        }
        return result
    }

    func benchClips(_ file: String) throws -> BenchmarkResult {
        let info = try MediaInfo(path: file)
        let starts = MediaBenchmarks.clipStarts(count: clips, duration: info.duration)
        _ = try MediaBenchmarks.clips(file: file, starts: Array(starts.prefix(5)))
        let times = try timeRepeated(reps) { _ = try MediaBenchmarks.clips(file: file, starts: starts) }
        let perClip = times.map { 1000 * $0 / Double(clips) }
        return BenchmarkResult(workload: "clips", value: median(perClip), unit: "ms/clip", threads: Threads.count,
                               peakRSSMB: peakResidentMegabytes(), repetitions: perClip,
                               detail: ["file": file, "clips": String(clips),
                                        "clip": "ClipLoader views (the training path, no cache): 8 frames 0.12 s apart, short side 128, centre crop 112, normalised; 0.96 s at 16 kHz as a 96x64 log-mel",
                                        "peer_reference": "PyAV: 155-200 ms a clip on this machine kind (../shared/peers/media_bench.py)"])
    }

    func benchLogmel() throws -> BenchmarkResult {
        let samples = AudioBenchmarks.testSignal(seconds: seconds)
        let (times, frames) = try AudioBenchmarks.logmel(samples, reps: reps, threads: Threads.count)
        var result = BenchmarkResult(workload: "logmel", value: median(times), unit: "s", threads: Threads.count,
                                     peakRSSMB: peakResidentMegabytes(), repetitions: times,
                                     detail: ["audio": "\(seconds) s at 16 kHz", "frames": String(frames), "front_end": FrontEnd.default.json,
                                              "peer_reference": "torchaudio 0.29-0.31 s, librosa 0.37 s, C floor (FFTW + sgemm) 0.06-0.07 s on this machine kind (../shared/peers)"])
        if !noPeer, let python, let peers = try AudioBenchmarks.pythonPeers(python: python, samples: samples, reps: reps, threads: Threads.count),
           let librosa = peers["librosa"] {
            result.peer = "librosa (\(python))"
            result.peerValue = median(librosa)
            result.speedup = median(librosa) / median(times)
            result.detail["peer_repetitions"] = librosa.map { String(format: "%.3f", $0) }.joined(separator: ",")
            if let torchaudio = peers["torchaudio"] {
                result.detail["torchaudio_median_s"] = String(format: "%.4f", median(torchaudio))
                result.detail["speedup_vs_torchaudio"] = String(format: "%.2f", median(torchaudio) / median(times))
            }
        }
        return result
    }

    /// A step workload: samples per second over `steps` optimizer steps, and the peak resident
    /// memory of the process (run one step workload per process for a memory figure of its own).
    func benchStep(_ name: String) throws -> BenchmarkResult {
        guard let workload = StepBenchmarks.make(name) else { throw ValidationError("unknown workload \(name)") }
        var losses: [Float] = []
        for _ in 0..<3 { losses.append(workload.step().loss) }
        var rates: [Double] = []
        Profiler.byOperation = profileOps
        if profile { Profiler.start() }
        for i in 0..<steps {
            let (seconds, loss) = workload.step()
            losses.append(loss)
            rates.append(Double(workload.batch) / seconds)
            if !json { note("\(name): step \(i + 1)/\(steps) \(String(format: "%.2f", Double(workload.batch) / seconds)) samples/s, loss \(String(format: "%.4f", loss))") }
        }
        let families = profile ? Profiler.stop() : []
        if profile && !json {
            print("\(name): time per operation family over \(steps) steps (BLAS kernels \(BLASKernels.current), \(Threads.count) threads)")
            print(Profiler.table(families, steps: steps))
        }
        var result = BenchmarkResult(workload: name, value: median(rates), unit: "samples/s", threads: Threads.count,
                                     peakRSSMB: peakResidentMegabytes(), repetitions: rates,
                                     detail: ["batch": String(workload.batch), "parameters": String(workload.parameterCount),
                                              "loss_first": String(format: "%.4f", losses.first ?? .nan),
                                              "loss_last": String(format: "%.4f", losses.last ?? .nan),
                                              "peer_reference": "PyTorch 2.11, 2 threads, this machine kind: step-avc 13.5-14.7 pairs/s, 1.55 GB; step-video-contrastive 15-20 clips/s, 1.4 GB; step-milnce 17-22 clips/s; step-videomae 61-83 clips/s"])
        if profile { result.profile = families }
        if !noPeer, let python, let peers = peersFolder {
            note("running the PyTorch peer (\(peers)/step_bench.py \(name))…")
            let output = try runPeer(python, [peers + "/step_bench.py", name, "--threads", String(Threads.count), "--steps", String(steps)],
                                     threads: Threads.count, directory: peers).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
               let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let rate = object["samples_per_s"] as? Double {
                result.peer = "PyTorch (\(peers)/step_bench.py)"
                result.peerValue = rate
                result.speedup = result.value / rate
                result.peerPeakRSSMB = object["peak_rss_mb"] as? Double
                // The peer counts the work (forward MACs × 2 × 3 for forward + backward): both sides' GFLOP/s.
                if let gflop = object["est_gflop_per_step"] as? Double {
                    result.detail["gflop_per_step"] = String(format: "%.2f", gflop)
                    result.detail["gflops"] = String(format: "%.1f", gflop * result.value / Double(workload.batch))
                    result.detail["peer_gflops"] = String(format: "%.1f", gflop * rate / Double(workload.batch))
                }
            }
        }
        return result
    }

    /// `search`: seconds per batch of 100 exact top-10 queries over 1,000,000 x 256 unit
    /// vectors; peer: faiss's IndexFlatIP through `peers/search_bench.py` (its best setting).
    func benchSearch() throws -> BenchmarkResult {
        if !json { note("search: making 1,000,000 x 256 unit vectors…") }
        let (seconds, selfHit) = SearchBenchmarks.time(reps: reps)
        var result = BenchmarkResult(workload: "search", value: median(seconds), unit: "s", threads: Threads.count,
                                     peakRSSMB: peakResidentMegabytes(), repetitions: seconds,
                                     detail: ["rows": String(SearchBenchmarks.rows), "dimension": String(SearchBenchmarks.dimension),
                                              "queries": String(SearchBenchmarks.queries), "k": String(SearchBenchmarks.k),
                                              "top1_is_source": String(selfHit),
                                              "peer_reference": "faiss 1.15 IndexFlatIP, 2 threads, this machine kind: about 0.46 s a batch at its best setting; the product alone about 0.3 s"])
        if !noPeer, let python, let peers = peersFolder {
            note("running the faiss peer (\(peers)/search_bench.py)…")
            // The script's advice: the faiss wheel's OpenBLAS does not know this CPU without it.
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
            let output = try runPeer(python, [peers + "/search_bench.py", "--reps", String(reps), "--threads", String(Threads.count)],
                                     threads: Threads.count, directory: peers).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
               let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let faissDefault = object["faiss_ms_per_batch"] as? Double, let faissBLAS = object["faiss_blas20_ms_per_batch"] as? Double {
                let best = min(faissDefault, faissBLAS) / 1000
                result.peer = "faiss IndexFlatIP, best of its two settings (\(peers)/search_bench.py)"
                result.peerValue = best
                result.speedup = best / result.value
                result.detail["peer_faiss_default_s"] = String(faissDefault / 1000)
                result.detail["peer_faiss_blas_s"] = String(faissBLAS / 1000)
                if let numpy = object["numpy_ms_per_batch"] as? Double { result.detail["peer_numpy_s"] = String(numpy / 1000) }
            }
        }
        return result
    }

    /// `gemm`: sgemm GFLOP/s on each reference convolution's products; `conv`: each convolution's
    /// forward + backward GFLOP/s beside that, and resident-memory growth over the repetitions.
    func benchLayers(conv: Bool) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        var total = (gflop: 0.0, ours: 0.0, sgemm: 0.0)
        let layers = (ConvBenchmarks.r2plus1dTiny + ConvBenchmarks.vggishTiny).filter { $0.name.hasPrefix(self.layer ?? "") }
        guard !layers.isEmpty else { throw ValidationError("no layer name starts with '\(self.layer ?? "")'") }
        for layer in layers {
            let measured = conv ? ConvBenchmarks.measure(layer, reps: reps) : nil
            let sgemm = measured.map { layer.gflop / $0.sgemmSeconds } ?? ConvBenchmarks.sgemmRate(layer, reps: reps)
            var r = BenchmarkResult(workload: (conv ? "conv:" : "gemm:") + layer.name, value: sgemm, unit: "GFLOP/s",
                                    threads: Threads.count, peakRSSMB: peakResidentMegabytes(), repetitions: [],
                                    detail: ["input": "\(layer.input)", "gflop": String(format: "%.3f", layer.gflop)])
            r.gflop = layer.gflop
            if let (seconds, _, growth) = measured {
                r.value = layer.gflop / seconds
                r.sgemmGflops = sgemm
                r.rssGrowthMB = growth
                r.detail["share_of_sgemm"] = String(format: "%.2f", r.value / sgemm)
                total.ours += seconds
                total.sgemm += layer.gflop / sgemm
            }
            if measured == nil { total.sgemm += layer.gflop / sgemm }
            total.gflop += layer.gflop
            results.append(r)
            if json { try printJSONLine(r) } else {
                print(pad(r.workload, 34) + String(format: "%8.3f GFLOP  %7.1f GFLOP/s", layer.gflop, r.value)
                      + (conv ? String(format: "   sgemm %6.1f GFLOP/s  %4.0f %%  rss +%.0f MB", sgemm, 100 * r.value / sgemm, r.rssGrowthMB ?? 0) : ""))
            }
        }
        // The whole set: total work over total time (layers weighted by their share of the work).
        let sgemmTotal = total.gflop / total.sgemm
        var all = BenchmarkResult(workload: (conv ? "conv:" : "gemm:") + "all", value: conv ? total.gflop / total.ours : sgemmTotal,
                                  unit: "GFLOP/s", threads: Threads.count, peakRSSMB: peakResidentMegabytes(), repetitions: [],
                                  detail: ["layers": String(layers.count)])
        all.gflop = total.gflop
        if conv { all.sgemmGflops = sgemmTotal }
        if json { try printJSONLine(all) } else if conv {
            print(String(format: "all convolutions: %.1f GFLOP/s vs sgemm %.1f GFLOP/s on the same shapes (%.0f %%); BLAS kernels %@",
                         all.value, sgemmTotal, 100 * total.sgemm / total.ours, BLASKernels.current as NSString))
        } else {
            print(String(format: "all products: %.1f GFLOP/s over %.1f GFLOP; BLAS kernels %@", all.value, total.gflop, BLASKernels.current as NSString))
        }
        return []
    }

    func printTable(_ results: [BenchmarkResult]) {
        // The first column fits the longest workload name (step-video-contrastive, conv:… layers).
        let width = max(10, (results.map(\.workload.count).max() ?? 0) + 2)
        print("BLAS kernels: \(BLASKernels.explanation())")
        print(pad("workload", width) + "concord            peer                 speedup  threads  peak RSS  peer RSS")
        for r in results {
            let ours = String(format: "%.3f %@", r.value, r.unit as NSString)
            let peer = r.peerValue.map { String(format: "%.3f %@", $0, r.unit as NSString) } ?? "-"
            let speedup = r.speedup.map { String(format: "%.2fx", $0) } ?? "-"
            print(pad(r.workload, width) + pad(ours, 19) + pad(peer, 21) + pad(speedup, 9) + pad(String(r.threads), 9)
                  + pad(String(format: "%.0f MB", r.peakRSSMB), 10) + (r.peerPeakRSSMB.map { String(format: "%.0f MB", $0) } ?? "-"))
            if let p = r.peer { print("  peer: \(p)") }
            if let t = r.detail["torchaudio_median_s"], let x = r.detail["speedup_vs_torchaudio"] {
                print("  torchaudio (same run): \(t) s, Concord \(x)x faster")
            }
            if let gflop = r.detail["gflop_per_step"], let ours = r.detail["gflops"], let theirs = r.detail["peer_gflops"] {
                print("  \(gflop) GFLOP a step (the peer's count): Concord \(ours) GFLOP/s, peer \(theirs) GFLOP/s")
            }
            if let ref = r.detail["peer_reference"] { print("  \(ref)") }
        }
    }
}

func printJSONLine<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
