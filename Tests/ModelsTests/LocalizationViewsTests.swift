import Models
import TensorCore
import Testing

/// The views of `avnce`'s localisation options — `mix: true` (pairs side by side) and
/// `paste: true` (a clip shrunk and pasted over another): which pixels and locations belong to
/// which clip.
struct LocalizationViewsTests {
    @Test func clipsArePutSideBySideInRowOrder() {
        // Four clips of one channel, one frame, 1x2 pixels: values 10c + x.
        let x = Tensor(shape: [4, 1, 1, 1, 2], data: [0, 1, 10, 11, 20, 21, 30, 31])
        let paired = Encodings.sideBySide(x)
        #expect(paired.shape == [2, 1, 1, 1, 4])
        #expect(paired.data == [0, 1, 10, 11, 20, 21, 30, 31])
        // Two rows of pixels: each row of the pair is the two clips' rows side by side.
        let y = Tensor(shape: [2, 1, 1, 2, 2], data: [0, 1, 2, 3, 10, 11, 12, 13])
        #expect(Encodings.sideBySide(y).data == [0, 1, 10, 11, 2, 3, 12, 13])
        // An odd last clip is left out.
        #expect(Encodings.sideBySide(Tensor(shape: [3, 1, 1, 1, 1], data: [1, 2, 3])).data == [1, 2])
    }

    @Test func halvesSplitTheLocationsAndDropTheSeamColumn() {
        // One pair, one channel, a 1x3 map: left column 0, right column 2, column 1 straddles the seam.
        let (halves, rows) = AVNCE.halves(Tensor(shape: [1, 1, 1, 3], data: [5, 6, 7]))
        #expect(rows == 2 && halves.shape == [2, 1, 1] && halves.data == [5, 7])
        // Two pairs, two channels, 2x4 maps: each half holds its 2x2 locations per channel.
        let map = Tensor(shape: [2, 2, 2, 4], data: (0..<32).map(Float.init))
        let (h, n) = AVNCE.halves(map)
        #expect(n == 4 && h.shape == [4, 2, 4])
        // Pair 0, channel 0 is 0 1 2 3 / 4 5 6 7: left (0, 1, 4, 5), right (2, 3, 6, 7).
        #expect(Array(h.data[0..<4]) == [0, 1, 4, 5] && Array(h.data[8..<12]) == [2, 3, 6, 7])
    }

    @Test func aPastedClipSitsInItsBoxOverTheNextClip() throws {
        // Three constant clips (values 1, 2, 3) of 2 channels, 2 frames, 20x20.
        let (b, plane) = (3, 400)
        let x = Tensor(shape: [b, 2, 2, 20, 20], data: (0..<b).flatMap { i in [Float](repeating: Float(i + 1), count: 4 * plane) })
        let (pasted, boxes) = AVNCE.pasted(x, step: 7)
        #expect(pasted.shape == x.shape && boxes.count == b)
        for (i, (x0, y0, x1, y1)) in boxes.enumerated() {
            // Scale 0.5 to 1, inside the frame, the same on both axes.
            #expect(x0 >= 0 && y0 >= 0 && x1 <= 20 && y1 <= 20 && x1 - x0 >= 10 && abs((x1 - x0) - (y1 - y0)) < 1e-9, "\(boxes[i])")
            for k in 0..<4 {
                for y in 0..<20 {
                    for xx in 0..<20 {
                        let v = pasted.data[(i * 4 + k) * plane + y * 20 + xx]
                        let inBox = Double(xx) >= x0 && Double(xx) < x1 && Double(y) >= y0 && Double(y) < y1
                        #expect(v == (inBox ? Float(i + 1) : Float((i + 1) % b + 1)), "clip \(i) plane \(k) at (\(xx), \(y))")
                    }
                }
            }
        }
        // The same step draws the same boxes (a resumed run sees the same views); another step others.
        #expect(AVNCE.pasted(x, step: 7).0.data == pasted.data)
        #expect(AVNCE.pasted(x, step: 8).1.map { $0.0 } != boxes.map { $0.0 } || AVNCE.pasted(x, step: 8).1.map { $0.1 } != boxes.map { $0.1 })
    }

    @Test func onlyLocationsInsideTheBoxMayMatch() {
        // A 4x4 grid over 56x56 (cells of 14, centres 7, 21, 35, 49): the left half holds columns 0 and 1.
        let left = AVNCE.inside([(0, 0, 28, 56)], gridHeight: 4, gridWidth: 4, height: 56, width: 56)
        #expect(left.count == 16 && (0..<16).allSatisfy { left[$0] == ($0 % 4 < 2 ? 0 : -10_000) })
        // A box with no centre inside still has the location nearest its centre.
        let tiny = AVNCE.inside([(30, 30, 33, 33)], gridHeight: 4, gridWidth: 4, height: 56, width: 56)
        #expect(tiny.filter { $0 == 0 }.count == 1 && tiny[2 * 4 + 2] == 0)
    }
}
