import Media
import Testing

@Suite struct SubtitleTests {
    static let expected = [
        SubtitleSegment(start: 0.25, end: 1.1, text: "First we take the bowl."),
        SubtitleSegment(start: 1.2, end: 2.0, text: "Then stir slowly."),
        SubtitleSegment(start: 2.1, end: 2.9, text: "Welcome back, and subscribe!"),
    ]

    /// `earlier`: how much earlier the cues are on the file's timeline than as stored.
    func expectSame(_ got: [SubtitleSegment], _ source: String, earlier: Double = 0) {
        #expect(got.count == Self.expected.count, "\(source): \(got.count) segments")
        for (a, b) in zip(got, Self.expected) {
            #expect(a.text == b.text, "\(source)")
            #expect(abs(a.start - b.start + earlier) < 1e-3 && abs(a.end - b.end + earlier) < 1e-3, "\(source): \(a.start)-\(a.end)")
        }
    }

    @Test func allSourcesParseToTheSameSegments() throws {
        expectSame(try Subtitles.read(path: fixture("narration.srt")), "srt")
        expectSame(try Subtitles.read(path: fixture("narration.vtt")), "vtt")
        expectSame(try Subtitles.read(path: fixture("subs_movtext.mp4")), "mov_text in MP4")
        expectSame(try Subtitles.read(path: fixture("subs_subrip.mkv")), "subrip in Matroska")
        // The WebM starts at 0.014 s (its first video frame and cue are stored there): on its
        // timeline the cues are 14 ms earlier, as `ffmpeg -i subs_webvtt.webm out.srt` writes them.
        expectSame(try Subtitles.read(path: fixture("subs_webvtt.webm")), "webvtt in WebM", earlier: 0.014)
    }

    /// Cues without the blank line between them stay separate cues (issue 24).
    @Test func cuesWithoutBlankLinesStaySeparate() throws {
        let srt = "1\n00:00:00,250 --> 00:00:01,100\nFirst we take the bowl.\n2\n00:00:01,200 --> 00:00:02,000\nThen stir slowly.\n"
            + "00:00:02,100 --> 00:00:02,900\nWelcome back, and subscribe!\n"
        expectSame(try Subtitles.parseSRT(srt, path: "run-together.srt"), "srt without blank lines")
    }

    @Test func writtenTextParsesBack() throws {
        let srt = Subtitles.srtText(Self.expected)
        expectSame(try Subtitles.parseSRT(srt, path: "x.srt"), "srt round trip")
        let vtt = Subtitles.webVTTText(Self.expected)
        expectSame(try Subtitles.parseWebVTT(vtt, path: "x.vtt"), "vtt round trip")
    }

    @Test func malformedFilesNameTheFileAndLine() throws {
        #expect(throws: MediaError.self) { try Subtitles.read(path: fixture("malformed.srt")) }
        do {
            _ = try Subtitles.read(path: fixture("malformed.srt"))
        } catch let e as MediaError {
            #expect(e.description.contains("malformed.srt:2"))
        }
        #expect(throws: MediaError.self) { try Subtitles.read(path: fixture("malformed.vtt")) }
        #expect(throws: MediaError.self) { try Subtitles.read(path: fixture("noheader.vtt")) }
        #expect(throws: MediaError.noStream(fixture("h264.mp4"), kind: "subtitle")) {
            try Subtitles.read(path: fixture("h264.mp4"))
        }
    }
}
