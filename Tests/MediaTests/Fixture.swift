import Foundation

/// Path of a committed test file in `Tests/MediaTests/Fixtures` (made by `make_fixtures.sh`).
func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}
