import TensorCore
import Foundation
import Media

/// Narration spoken into a video's audio track with espeak-ng (Debian's `espeak-ng`).
struct Speech {
    let executable: String

    init() throws {
        guard let found = Espeak.installedPath else {
            throw SynthError.speechUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        }
        executable = found
    }

    /// The spoken text as mono samples at `rate`.
    func speak(_ text: String, rate: Int) throws -> [Float] {
        let wav = NSTemporaryDirectory() + "concord-speech-\(UUID().uuidString).wav"
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-v", "en-us", "-s", "170", "-w", wav, text]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SynthError.speechUnavailable("espeak-ng exited with status \(process.terminationStatus)")
        }
        let audio = try SoundFile.read(path: wav)
        return try resample(audio.mono(), from: audio.sampleRate, to: rate)
    }

    /// Adds every narration, spoken from its start time, to interleaved `audio`.
    func mix(_ narrations: [SubtitleSegment], into audio: inout [Float], rate: Int, channels: Int) throws {
        let frames = audio.count / channels
        for segment in narrations {
            let voice = try speak(segment.text, rate: rate)
            let start = Int(segment.start * Double(rate))
            for (i, v) in voice.enumerated() where start + i < frames {
                for c in 0..<channels { audio[(start + i) * channels + c] += 0.5 * v }
            }
        }
    }
}

/// The espeak-ng program narrations are spoken with.
public enum Espeak {
    /// Where espeak-ng is installed, or nil.
    public static var installedPath: String? {
        ["/usr/bin/espeak-ng", "/usr/local/bin/espeak-ng"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
