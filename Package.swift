// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Concord",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "concord", targets: ["concord"]),
        .library(name: "Media", targets: ["Media"]),
        .library(name: "Corpora", targets: ["Corpora"]),
        .library(name: "Synthesis", targets: ["Synthesis"]),
        .library(name: "AudioFeatures", targets: ["AudioFeatures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C shims: a module map and one header each, nothing else.
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CFuzzer", path: "Sources/CFuzzer"),
        .systemLibrary(
            name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),

        // Tensor core (for now: NumPy array files and the FFTW/BLAS wiring).
        .target(name: "TensorCore", dependencies: ["CBLAS", "CFFTW", "CMalloc"]),
        // NN: Module, layers, initialisers, optimizers, schedules.
        .target(name: "NN", dependencies: ["TensorCore"]),
        // Encoders: the presets of docs/design.md, named as peers/models.py.
        .target(name: "Encoders", dependencies: ["NN", "TensorCore"]),
        // Text: the narration tokenizer and vocabulary.
        .target(name: "Text"),
        // Objectives: the losses of docs/methods.md, one struct a file.
        .target(name: "Objectives", dependencies: ["TensorCore"]),
        // AudioFeatures: STFT, mel filterbanks and log-mel front-ends on FFTW.
        .target(name: "AudioFeatures", dependencies: ["CFFTW", "TensorCore"]),
        // Media: demux/decode/encode through FFmpeg, audio files through libsndfile, subtitles.
        .target(name: "Media", dependencies: ["CFFmpeg", "CSndFile", "TensorCore"]),
        // Corpora: the manifest, loading and checking a corpus.
        .target(name: "Corpora", dependencies: ["Media", "TensorCore"]),
        // Synthesis: the synthetic corpus recipes.
        .target(name: "Synthesis", dependencies: ["Media", "Corpora", "TensorCore"]),
        // Pipeline: samplers, views, augmentation, batches made ahead on background threads.
        .target(name: "Pipeline", dependencies: ["Media", "AudioFeatures", "Corpora", "Text", "TensorCore"]),
        // Models: the methods (one file each, Methods/) and their registry, configs, the model
        // (encoders and heads), checkpoints and released weights.
        .target(name: "Models", dependencies: ["Pipeline", "Encoders", "Objectives", "NN", "Corpora", "AudioFeatures", "Text", "TensorCore",
                                               .product(name: "Yams", package: "Yams")]),
        // Training: the trainer loop, metrics and TensorBoard event files.
        .target(name: "Training", dependencies: ["Models", "Pipeline", "NN", "Corpora", "Media", "Text", "TensorCore"]),
        // Evaluation: frozen features, linear probe, kNN, correspondence accuracy.
        .target(name: "Evaluation", dependencies: ["Models", "Pipeline", "Encoders", "Objectives", "Corpora", "Media", "NN", "Synthesis", "TensorCore"]),
        // Retrieval: embedding indexes of a corpus, exact top-k search, moments.
        .target(name: "Retrieval", dependencies: ["Models", "Pipeline", "Media", "AudioFeatures", "Text", "CBLAS", "TensorCore"]),
        // Benchmarks: the reference workloads and their peers.
        .target(name: "Benchmarks", dependencies: ["Media", "AudioFeatures", "Pipeline", "TensorCore", "NN", "Encoders", "Objectives", "Retrieval"]),
        .executableTarget(
            name: "concord",
            dependencies: [
                "Media", "AudioFeatures", "Corpora", "Synthesis", "Benchmarks", "TensorCore", "NN", "Pipeline", "Models", "Training", "Evaluation",
                "Retrieval", "Text",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Fuzzing: the parsers of user input as targets, and the libFuzzer driver (fuzz/run.sh).
        .target(name: "FuzzTargets", dependencies: ["Corpora", "Media", "Models", "Pipeline", "Retrieval", "TensorCore"]),
        .executableTarget(name: "concord-fuzz", dependencies: ["FuzzTargets", "CFuzzer"]),

        .target(name: "TestSupport", dependencies: ["Media", "TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "CorporaTests", dependencies: ["Corpora", "Synthesis", "TestSupport"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "Corpora", "Media", "TestSupport"]),
        .testTarget(name: "AudioFeaturesTests", dependencies: ["AudioFeatures", "TestSupport", "TensorCore"], exclude: ["Fixtures"]),
        .testTarget(name: "EncodersTests", dependencies: ["Encoders", "NN", "TensorCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ObjectivesTests", dependencies: ["Objectives", "TensorCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TextTests", dependencies: ["Text"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Corpora", "TensorCore", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Pipeline", "Corpora", "TestSupport", "TensorCore"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "TestSupport", "TensorCore"], exclude: ["Fixtures"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Media", "AudioFeatures", "Corpora", "Text", "TensorCore", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Media", "Pipeline", "TensorCore", "TestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Media", "TensorCore", "Models", "Training", "Retrieval", "Corpora"]),
    ]
)
