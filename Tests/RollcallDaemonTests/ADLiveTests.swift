import Foundation
import RollcallStore
import RollcallTestSupport
import Testing

/// Live changes of Active Directory: `rollcall serve` polls the DirSync or uSNChanged delta every
/// `serve.live_poll_seconds` and plans the touched persons at once, long before the next
/// scheduled run (an hour away here).
@Suite struct ADLiveTests {
    @Test(arguments: ["dirsync", "usn"])
    func aDeletedAccountIsSeenWithinSeconds(mode: String) async throws {
        let dc = try await SambaFixture.start()
        guard let port = Loopback.freePort() else { throw FixtureError("no free port") }
        let world = try ADWorld.make(dc, account: .deltaSync,
                                     directory: ["attributes: [sAMAccountName, title, userAccountControl]", "delta: \(mode)"],
                                     top: "serve: {listen: \"127.0.0.1:\(port)\", live_poll_seconds: 1, admin: {socket: \"off\"}, schedule: {delta: {every_seconds: 3600}}}",
                                     hr: ADWorld.staff())
        let notify = try NotifySocket()
        let daemon = try BackgroundProcess(CLITests.binary, ["serve", "--config", world.folder.appendingPathComponent("rollcall.yaml").path,
                                                             "--log-level", "info"],
                                           environment: ["NOTIFY_SOCKET": notify.path, "SWIFT_BACKTRACE": "enable=no"])
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        #expect(notify.messages(timeout: 120, until: { $0.hasPrefix("STATUS=last run: full applied") }) != nil, "\(daemon.errorOutput.suffix(2000))")
        let store = try world.store()
        let before = try store.events().count
        let anchor = try #require(try store.loadState().links.first { $0.employeeID == "E00003" }?.anchor)
        try await dc.modify("dn: CN=User 00003,\(SambaFixture.people)\nchangetype: delete\n\n")
        let deleted = Date()
        var removed: [String] = []
        while Date().timeIntervalSince(deleted) < 30, removed.isEmpty {
            removed = try store.events(after: Int64(before)).filter { $0.type == "dev.rollcall.account.removed" }.map(\.subject)
            if removed.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(removed == [anchor], "\(daemon.errorOutput.suffix(3000))")
        #expect(Date().timeIntervalSince(deleted) < 20)
        let report = try #require(try store.runs().first?.report)
        #expect(report["live"]?["directory"] == "default")
    }
}
