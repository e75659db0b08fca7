import Foundation
import RollcallCore
import RollcallHR
import Testing

/// The daemon's runs parse an HR file again only when it changed (inode, size or mtime).
@Suite struct HRReadCacheTests {
    @Test func anUnchangedFileIsNotParsedAgain() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hr-cache-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = "Employee ID,Status\n"
        try (header + "E1,Active\nE2,Active\n").write(toFile: path, atomically: false, encoding: .utf8)
        let stamp = Date(timeIntervalSince1970: 1_773_576_000)
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: path)
        let settings = [HRSourceSettings(csv: path, columns: [.employeeID: "Employee ID", .status: "Status"],
                                         statusValues: ["Active": .active], dateFormats: ["yyyy-MM-dd"])]
        let cache = HRReadCache()
        #expect(try await HRSources.read(settings, cache: cache).records.map(\.employeeID) == ["E1", "E2"])
        // Same size and modification time (a deliberately sneaky rewrite in place): the cached read
        // is used, which shows the file was not parsed.
        try (header + "E1,Active\nE3,Active\n").write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: path)
        #expect(try await HRSources.read(settings, cache: cache).records.map(\.employeeID) == ["E1", "E2"])
        // A real change (a new mtime): read again.
        try FileManager.default.setAttributes([.modificationDate: stamp.addingTimeInterval(60)], ofItemAtPath: path)
        #expect(try await HRSources.read(settings, cache: cache).records.map(\.employeeID) == ["E1", "E3"])
        // Without a cache (the CLI) every read parses.
        try FileManager.default.setAttributes([.modificationDate: stamp.addingTimeInterval(60)], ofItemAtPath: path)
        #expect(try await HRSources.read(settings).records.map(\.employeeID) == ["E1", "E3"])
    }
}
