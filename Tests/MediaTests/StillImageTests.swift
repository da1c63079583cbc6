import Foundation
import Media
import TestSupport
import Testing

/// Still pictures with their alpha, against the ffmpeg CLI's RGBA decode of the same file.
@Suite struct StillImageTests {
    /// A 24x16 PNG with a gradient and a varying alpha, written by the ffmpeg CLI; and a JPEG (no alpha).
    func made(_ name: String, filter: String) throws -> String {
        let path = makeTemporaryDirectory("still") + "/" + name
        _ = try FFmpegCLI.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=24x16:rate=1", "-frames:v", "1", "-vf", filter, path])
        return path
    }

    func cliRGBA(_ path: String, scale: String? = nil) throws -> [UInt8] {
        [UInt8](try FFmpegCLI.ffmpeg(["-i", path] + (scale.map { ["-vf", $0] } ?? []) + ["-f", "rawvideo", "-pix_fmt", "rgba", "-"]))
    }

    @Test func pngWithAlphaEqualsTheCLI() throws {
        let png = try made("a.png", filter: "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*10'")
        let image = try StillImage.read(path: png)
        #expect(image.width == 24 && image.height == 16)
        #expect(image.pixels == (try cliRGBA(png)), "RGBA bytes equal the CLI's")
        #expect(image.alpha(0, 0) == 0 && image.alpha(23, 5) > 0.9, "the alpha channel is kept")
    }

    @Test func jpegIsOpaqueAndCloseToTheCLI() throws {
        let jpg = try made("b.jpg", filter: "format=yuvj420p")
        let image = try StillImage.read(path: jpg)
        let theirs = try cliRGBA(jpg)
        #expect(theirs.count == image.pixels.count)
        #expect(stride(from: 3, to: image.pixels.count, by: 4).allSatisfy { image.pixels[$0] == 255 })
        #expect(meanAbsoluteDifference(image.pixels, theirs) <= 1.0)
        // Resized on reading, as the scale filter resizes (bicubic).
        let small = try StillImage.read(path: jpg, geometry: FrameGeometry(resize: .exact(width: 12, height: 8)))
        #expect(small.width == 12 && small.height == 8)
        #expect(meanAbsoluteDifference(small.pixels, try cliRGBA(jpg, scale: "scale=12:8")) <= 2.0)
    }

    @Test func aFileThatIsNotAPictureNamesItself() throws {
        let path = makeTemporaryDirectory("still") + "/not.png"
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try StillImage.read(path: path) } throws: { "\($0)".contains(path) }
    }
}
