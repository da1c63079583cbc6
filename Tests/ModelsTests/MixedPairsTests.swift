import Models
import TensorCore
import Testing

/// The two-clip mixtures of `avnce` `mix: true`: which pixels and locations belong to which clip.
struct MixedPairsTests {
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
}
