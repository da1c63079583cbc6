import Foundation
import TensorCore
import TestSupport
import Testing

@Suite struct NPYTests {
    @Test func headerIsNumPyVersion1AndAligned() {
        let data = NPY.encode([UInt8](repeating: 7, count: 24), shape: [2, 3, 4])
        let bytes = [UInt8](data)
        #expect(Array(bytes[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }"))
        #expect(header.hasSuffix("\n"))
        #expect(data.count == 10 + headerLength + 24)
    }

    @Test func roundTrips() throws {
        let dir = makeTemporaryDirectory()
        let values: [Float] = (0..<10).map { Float($0) * 0.5 - 1 }
        try NPY.write(values, shape: [10], to: dir + "/a.npy")
        let (back, shape) = try NPY.read(Float.self, from: dir + "/a.npy")
        #expect(back == values && shape == [10])
        #expect(try NPY.header(path: dir + "/a.npy").descr == "<f4")
        #expect(throws: ArrayFileError.self) { try NPY.read(UInt8.self, from: dir + "/a.npy") }
        #expect(throws: ArrayFileError.self) { try NPY.read(Float.self, from: dir + "/missing.npy") }
    }

    @Test func npzReadsNumPyArchivesAndRoundTrips() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
        let arrays = try NPZ.read(fixtures + "/numpy_written.npz")
        #expect(arrays["a"]?.shape == [2, 3] && arrays["a"]?.values == [0, 1, 2, 3, 4, 5])
        #expect(arrays["b"]?.values == [0.5, -1.5])
        do {
            _ = try NPZ.read(fixtures + "/numpy_compressed.npz")
            Issue.record("a compressed archive must be refused")
        } catch {
            #expect("\(error)".contains("compressed") && "\(error)".contains("numpy_compressed.npz"))
        }
        let dir = makeTemporaryDirectory()
        try NPZ.write([("x", [1, 2, 3, 4], [2, 2]), ("y", [9], [1])], to: dir + "/out.npz")
        let back = try NPZ.read(dir + "/out.npz")
        #expect(back["x"]?.shape == [2, 2] && back["x"]?.values == [1, 2, 3, 4] && back["y"]?.values == [9])
        try Data([0x50, 0x4B, 1, 2]).write(to: URL(fileURLWithPath: dir + "/bad.npz"))
        #expect(throws: ArrayFileError.self) { try NPZ.read(dir + "/bad.npz") }
    }

    /// Headers that declare impossible shapes, or end early, are errors naming the file, not
    /// traps (issue 24): the element count is multiplied with overflow checks.
    @Test func impossibleHeadersAreErrors() {
        func npy(_ shape: String, major: UInt8 = 1) -> Data {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var d = Data([0x93] + Array("NUMPY".utf8) + [major, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
            d.append(Data(header.utf8))
            return d
        }
        for (data, what) in [(npy("(4294967296, 4294967296)"), "holds more values"), (npy("(9223372036854775807,)"), "holds more values"),
                             (npy("(2, 18446744073709551616)"), "bad dimension"), (npy("(-3,)"), "bad dimension"),
                             (Data([0x93] + Array("NUMPY".utf8) + [2, 0, 10, 0]), "truncated header")] {
            do {
                _ = try NPY.decode(Float.self, from: data, path: "bad.npy")
                Issue.record("\(what): accepted")
            } catch {
                #expect("\(error)".contains("bad.npy") && "\(error)".contains(what), "\(error)")
            }
        }
        // A safetensors entry whose shape overflows.
        let json = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#
        var st = Data()
        var n = UInt64(json.utf8.count).littleEndian
        st.append(Data(bytes: &n, count: 8))
        st.append(Data(json.utf8))
        #expect(throws: (any Error).self) { _ = try SafeTensorsFile(data: st, path: "bad.safetensors") }
        do { _ = try SafeTensorsFile(data: st, path: "bad.safetensors") } catch {
            #expect("\(error)".contains("bad.safetensors") && "\(error)".contains("more values"), "\(error)")
        }
    }
}
