import ArgumentParser

struct Concord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord",
        abstract: "Self-supervised learning from video, audio and narration.",
        subcommands: [])
}
