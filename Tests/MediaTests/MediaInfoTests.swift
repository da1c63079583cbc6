import Media
import Testing

@Suite struct MediaInfoTests {
    @Test func describesH264MP4() throws {
        let info = try MediaInfo(path: fixture("h264.mp4"))
        let v = try #require(info.video.first)
        #expect(v.codec == "h264")
        #expect(v.pixelFormat == "yuv420p")
        #expect(v.width == 320 && v.height == 240)
        #expect(abs(v.frameRate - 25) < 0.01)
        #expect(!v.variableFrameRate)
        #expect(abs(v.duration - 3) < 0.05)
        let a = try #require(info.audio.first)
        #expect(a.codec == "aac" && a.sampleRate == 44100 && a.channels == 2)
        #expect(info.subtitles.isEmpty)
    }

    @Test func detectsVariableFrameRate() throws {
        let info = try MediaInfo(path: fixture("vfr.mp4"))
        #expect(info.video.first?.variableFrameRate == true)
        #expect(info.audio.isEmpty)
    }

    @Test func describesOtherContainersAndCodecs() throws {
        let avi = try MediaInfo(path: fixture("mpeg4.avi"))
        #expect(avi.format == "avi")
        #expect(avi.video.first?.codec == "mpeg4")
        #expect(avi.audio.first?.sampleRate == 48000 && avi.audio.first?.channels == 1)
        let webm = try MediaInfo(path: fixture("vp9.webm"))
        #expect(webm.video.first?.codec == "vp9")
        #expect(webm.audio.first?.codec == "opus")
    }

    @Test func listsSubtitleStreams() throws {
        #expect(try MediaInfo(path: fixture("subs_movtext.mp4")).subtitles.first?.codec == "mov_text")
        #expect(try MediaInfo(path: fixture("subs_subrip.mkv")).subtitles.first?.codec == "subrip")
        #expect(try MediaInfo(path: fixture("subs_webvtt.webm")).subtitles.first?.codec == "webvtt")
    }
}
