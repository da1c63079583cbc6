import CFFmpeg
import CSndFile

/// The versions of the media libraries this process runs (for `concord env` and bug reports).
public enum MediaLibraries {
    /// FFmpeg's release ("5.1.6-0+deb12u1") and its libraries' versions, then libsndfile's.
    public static var versions: [(name: String, version: String)] {
        func dotted(_ v: UInt32) -> String { "\(v >> 16).\((v >> 8) & 0xff).\(v & 0xff)" }
        return [
            ("ffmpeg", String(cString: av_version_info())),
            ("libavformat", dotted(avformat_version())),
            ("libavcodec", dotted(avcodec_version())),
            ("libavutil", dotted(avutil_version())),
            ("libswscale", dotted(swscale_version())),
            ("libswresample", dotted(swresample_version())),
            ("libsndfile", String(cString: sf_version_string())),
        ]
    }
}
