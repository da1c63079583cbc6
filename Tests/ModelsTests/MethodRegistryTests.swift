import Corpora
import Foundation
import Models
import Pipeline
import TensorCore
import Testing
import TestSupport

/// The method registry: names, options with defaults, validation naming the key, and the
/// configs and models built from it.
struct MethodRegistryTests {
    @Test func namesAreUniqueAndEveryMethodMakesWithItsDefaults() throws {
        let names = MethodRegistry.names
        #expect(Set(names).count == names.count)
        #expect(Set(names).isSuperset(of: ["avnce", "avc", "milnce", "nce", "rho-simclr"]))
        for entry in MethodRegistry.all {
            #expect(try MethodRegistry.resolve(entry.name, options: [:]) == entry.defaults, "\(entry.name)")
            let method = try MethodRegistry.make(entry.name, options: [:])
            #expect(!method.spec.views.isEmpty, "\(entry.name) asks for no views")
            #expect(!entry.summary.isEmpty)
        }
    }

    @Test func anUnknownMethodIsAnErrorListingTheKnownOnes() {
        do {
            _ = try MethodRegistry.make("xdcc", options: [:])
            Issue.record("no error")
        } catch {
            let message = "\(error)"
            #expect(message.contains("unknown objective 'xdcc'"))
            for name in MethodRegistry.names { #expect(message.contains(name), "\(name) not listed") }
        }
    }

    @Test func anUnknownKeyIsAnErrorNamingTheNearestKnownOne() {
        #expect(throws: MethodError.self) { try MethodRegistry.resolve("avnce", options: ["temperatur": .number(0.1)]) }
        do {
            _ = try MethodRegistry.resolve("avc", options: ["negative_from": .string("batch")])
        } catch {
            #expect("\(error)" == "avc: unknown key 'negative_from' (did you mean 'negatives_from'?)")
        }
        do {
            _ = try MethodRegistry.resolve("avc", options: ["zzzzzzzz": .number(1)])
        } catch {
            #expect("\(error)" == "avc: unknown key 'zzzzzzzz'")
        }
        // Configs stored in older checkpoints held every method's keys: those are dropped.
        let lenient = try? MethodRegistry.resolve("avnce", options: ["rho": .number(2), "temperature": .number(0.2)], lenient: true)
        #expect(lenient?["temperature"] == .number(0.2) && lenient?["rho"] == nil)
    }

    @Test(arguments: [
        ("avc", "negatives_from", JSONValue.string("bogus")), ("avc", "negatives", .number(1.5)),
        ("avnce", "temperature", .number(-1)), ("rho-simclr", "rho", .number(0)), ("milnce", "candidates", .number(0)),
        ("milnce", "window", .number(0)), ("nce", "temperature", .number(0)),
    ])
    func invalidValuesAreErrorsNamingTheKey(method: String, key: String, value: JSONValue) {
        do {
            _ = try MethodRegistry.resolve(method, options: [key: value])
            Issue.record("\(method).\(key) = \(value) accepted")
        } catch {
            #expect("\(error)".hasPrefix("\(method): \(key) "), "\(error)")
        }
    }

    @Test func aWrongTypeIsAnErrorNamingTheKey() {
        do {
            _ = try MethodRegistry.resolve("avnce", options: ["localize": .string("maybe")])
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("localize"), "\(error)")
        }
    }

    @Test func aConfigStoresEveryOptionAndReadsBackEqual() throws {
        let yaml = makeTemporaryDirectory("models-config") + "/config.yaml"
        try """
            corpus: somewhere
            objectives:
              - name: avnce
                weight: 2
              - name: avc
                negatives_from: batch
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let config = try TrainConfig.load(path: yaml, overrides: ["objectives.0.temperature=0.2"])
        #expect(config.objectives[0].weight == 2)
        #expect(config.objectives[0].options == ["temperature": .number(0.2), "localize": .bool(false), "background_negative": .bool(false), "mix": .bool(false), "paste": .bool(false)])
        #expect(config.objectives[1].options["negatives_from"] == .string("batch"))
        #expect(config.objectives[1].options["negatives"] == .number(0.5))
        #expect(try TrainConfig.fromJSON(config.json) == config)
        #expect(throws: ConfigError.self) { try TrainConfig.load(path: yaml, overrides: ["objectives.1.name=avnce"]) }  // listed twice
    }

    @Test func aModelHoldsEachMethodsHeadUnderItsName() throws {
        var config = TrainConfig(corpus: "x", objectives: [
            TrainConfig.Objective(name: "avnce", options: try MethodRegistry.resolve("avnce", options: [:])),
            TrainConfig.Objective(name: "avc", options: try MethodRegistry.resolve("avc", options: ["negatives_from": .string("batch")])),
        ])
        config.video = TrainConfig.Encoder(preset: "r2plus1d-tiny", width: 8)
        config.audio = TrainConfig.Encoder(preset: "vggish-tiny", width: 8)
        let model = try TrainModel(config: config)
        let names = model.namedParameters().map(\.0)
        #expect(names.contains { $0.hasPrefix("heads.avnce.video.") } && names.contains { $0.hasPrefix("heads.avnce.audio.") })
        #expect(names.contains { $0.hasPrefix("heads.avc.") })
        #expect(model.objective(AVC.self) != nil && model.objective(RhoSimCLR.self) == nil)
        #expect(model.jointSpaces.map(\.space) == ["avnce"])
        #expect(model.modalities == [.video, .audio])
    }

    /// A method asks for the clip geometry it needs (avsync: 16 frames 0.06 s apart) where the
    /// config leaves those keys out; the config's own keys win, and other methods keep the defaults.
    @Test func avsyncAsksForDenserFramesAndTheConfigWins() throws {
        let sync = try TrainConfig.load(path: nil, overrides: ["corpus=c", "objectives=[{name: avsync}]"])
        #expect(sync.clip.frames == 16 && sync.clip.frameSpacing == 0.06 && sync.clip.size == ClipGeometry.default.size)
        let mine = try TrainConfig.load(path: nil, overrides: ["corpus=c", "objectives=[{name: avsync}]", "clip.frames=8"])
        #expect(mine.clip.frames == 8 && mine.clip.frameSpacing == 0.06)
        let nce = try TrainConfig.load(path: nil, overrides: ["corpus=c", "objectives=[{name: avnce}]"])
        #expect(nce.clip == ClipGeometry.default)
    }
}
