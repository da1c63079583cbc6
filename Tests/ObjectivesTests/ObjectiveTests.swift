import Foundation
import Objectives
import TensorCore
import TestSupport
import Testing

/// The objectives against PyTorch (`Fixtures/objectives.safetensors`, made by `make_fixtures.py`)
/// and finite differences.
@Suite struct ObjectiveTests {
    static let fixtures: SafeTensorsFile = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/objectives.safetensors").path
        return try! SafeTensorsFile(path: path)
    }()

    func check(_ name: String, _ f: @escaping ([Tensor]) -> Tensor) throws {
        let inputs: [Tensor] = Array((0...).lazy.map { Self.fixtures.tensor("\(name).in\($0)") }.prefix { $0 != nil }.map { $0! })
        let leaves = inputs.map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
        let loss = f(leaves)
        let expected = try #require(Self.fixtures.tensor("\(name).loss")).item
        #expect(abs(loss.item - expected) <= 1e-4 * max(1, abs(expected)), "\(name): \(loss.item) vs \(expected)")
        loss.backward()
        for (i, leaf) in leaves.enumerated() {
            let g = try #require(Self.fixtures.tensor("\(name).grad\(i)"))
            #expect(closeness(leaf.grad!, g).isEmpty, "\(name) gradient \(i): \(closeness(leaf.grad!, g))")
        }
        #expect(gradientCheck(inputs, f).isEmpty, "\(name): finite differences")
    }

    @Test func symmetricInfoNCE() throws {
        try check("avnce") { SymmetricInfoNCE()(video: $0[0], audio: $0[1]) }
    }

    @Test func localizedInfoNCEAndHeatmaps() throws {
        try check("avnce_loc") { LocalizedInfoNCE()(locations: $0[0], audio: $0[1]) }
        let v = Self.fixtures.tensor("avnce_loc.in0")!, a = Self.fixtures.tensor("avnce_loc.in1")!
        let maps = LocalizedInfoNCE().heatmaps(locations: v, audio: a)
        #expect(closeness(maps, Self.fixtures.tensor("avnce_loc.heatmaps")!).isEmpty)
        try check("avnce_loc_bg") { LocalizedInfoNCE(backgroundNegative: true)(locations: $0[0], audio: $0[1]) }
    }

    @Test func multiClipInfoNCE() throws {
        try check("rho2") { MultiClipInfoNCE(clipsPerVideo: 2)($0[0]) }
        try check("rho3") { MultiClipInfoNCE(clipsPerVideo: 3)($0[0]) }
        // With ρ = 2 it is SimCLR's NT-Xent.
        let z = Self.fixtures.tensor("ntxent.in0")!
        #expect(abs(MultiClipInfoNCE(clipsPerVideo: 2)(z).item - Self.fixtures.tensor("ntxent.loss")!.item) < 1e-5)
    }

    /// MIL-NCE against the paper's reference code (K = 4, and K = 1 for `nce`), a case
    /// worked by hand, and its invariance to the order of a clip's candidate narrations.
    @Test func milNCE() throws {
        try check("milnce") { MILNCE()(video: $0[0], text: $0[1]) }
        try check("nce") { MILNCE()(video: $0[0], text: $0[1]) }
        // v = (1, 2), t = (1, 0), K = 1: scores x = [[1, 0], [2, 0]].
        // Clip 0: log(e¹ + e⁰ + e¹ + e²) − 1; clip 1: log(e² + e⁰ + e⁰ + e⁰) − 0.
        let v = Tensor(shape: [2, 1], data: [1, 2]), t = Tensor(shape: [2, 1], data: [1, 0])
        let expected = ((log(2 * exp(1.0) + 1 + exp(2.0)) - 1) + log(exp(2.0) + 3)) / 2
        #expect(abs(Double(MILNCE()(video: v, text: t).item) - expected) < 1e-5)
        #expect(abs(Double(MILNCE(temperature: 0.5)(video: v, text: t).item)
                    - Double(MILNCE()(video: v * 2, text: t).item)) < 1e-5, "τ divides the scores")
        let video = try #require(Self.fixtures.tensor("milnce.in0")), text = try #require(Self.fixtures.tensor("milnce.in1"))
        let swapped = concat([text.slice(axis: 0, 2..<4), text.slice(axis: 0, 0..<2), text.slice(axis: 0, 4..<20)], axis: 0)
        #expect(abs(MILNCE()(video: video, text: text).item - MILNCE()(video: video, text: swapped).item) < 1e-5)
    }

    /// AVTS's margin loss against PyTorch: pulls for in-sync pairs, pushes only for negatives
    /// closer than the margin (rows 5 and 7 of the fixture lie beyond it: no gradient).
    @Test func contrastiveMarginLoss() throws {
        let labels = try #require(Self.fixtures.tensor("margin.labels")).data.map { Int($0) }
        try check("margin") { ContrastiveMarginLoss()(video: $0[0], audio: $0[1], inSync: labels) }
        let grad = try #require(Self.fixtures.tensor("margin.grad0"))
        for row in [5, 7] { #expect(grad.data[(row * 16)..<(row * 16 + 16)].allSatisfy { $0 == 0 }) }
        // Two pairs by hand: in sync at distance 0.6 costs 0.36; a negative at 0.6 costs (0.99 − 0.6)².
        let v = Tensor(shape: [2, 1], data: [0, 0]), a = Tensor(shape: [2, 1], data: [0.6, 0.6])
        #expect(abs(Double(ContrastiveMarginLoss()(video: v, audio: a, inSync: [1, 0]).item) - (0.36 + 0.39 * 0.39) / 2) < 1e-6)
        #expect(ContrastiveMarginLoss().accuracy(video: v, audio: a, inSync: [1, 0]) == 0.5)  // 0.6 > η/2: both called negative
    }

    @Test func correspondence() {
        let logits = Tensor(shape: [3, 2], data: [2, -1, 0.5, 1, -3, 3])
        let loss = CorrespondenceLoss()
        #expect(loss.accuracy(logits: logits, corresponds: [0, 1, 0]) == 2.0 / 3)
        let expected = (log(1 + exp(-3.0)) + log(1 + exp(-0.5)) + log(1 + exp(6.0))) / 3
        #expect(abs(Double(loss(logits: logits, corresponds: [0, 1, 0]).item) - expected) < 1e-5)
    }
}
