import ArgumentParser
import Media
import TensorCore

struct Concord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord",
        abstract: "Self-supervised learning from video, audio and narration.",
        subcommands: [DemoCommand.self, SynthCommand.self, InspectCommand.self, FeaturesCommand.self, PrepareCommand.self, TrainCommand.self, EmbedCommand.self, SearchCommand.self, EvalCommand.self, SyncCommand.self, LocalizeCommand.self, ModelsCommand.self, ExportCommand.self, BenchCommand.self, EnvCommand.self])
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for the whole process (default: every core).")
    var threads: Int?

    func apply() {
        setFFmpegLogQuiet()
        BufferReuse.keepFreedMemory()
        if let threads { Threads.configure(threads) }
    }
}
