import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Account state against real servers: a leaver's account still enabled a day after the
/// decision, and an active person's account disabled in the directory. Samba AD DC with
/// userAccountControl (512 / 514), read by the plain read-only sync account; slapd with a
/// ppolicy lock (`disabled_when: (pwdAccountLockedTime=*)`).
@Suite struct AccountStateRunTests {
    static func at(_ iso: String) -> @Sendable () -> Date {
        let date = ISO8601DateFormatter().date(from: iso) ?? Date(timeIntervalSince1970: 0)
        return { date }
    }

    static func types(_ store: Store, after seq: Int64) throws -> [String] {
        try store.events(after: seq).map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject)" }
    }

    @Test func activeDirectoryUserAccountControl() async throws {
        let dc = try await SambaFixture.start()
        let world = try ADWorld.make(dc, directory: ["attributes: [sAMAccountName, userAccountControl]"],
                                     top: "entitlements: {privileged: {active_directory_protected: false}}", hr: ADWorld.staff())
        let configuration = world.configuration
        func hr(terminated: Set<Int>) throws { try world.writeHR(ADWorld.staff(terminated: terminated)) }
        func run(_ iso: String) async throws -> ReconcileOutcome {
            try await ReconcileJob(configuration: configuration, logger: Logger(label: "test"), now: Self.at(iso)).run(dryRun: false)
        }
        let store = try Store.open(path: configuration.storePath)
        let first = try await run("2026-03-01T09:00:00Z")
        #expect(first.summary.linked == 9)
        #expect(try store.identity("E00002")?.accounts.first?.enabled == true)
        func uac(_ n: Int, _ value: Int) -> String {
            String(format: "dn: CN=User %05d,\(SambaFixture.people)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: %d\n-\n\n", n, value)
        }

        // E00002 leaves; E00003 (active) is disabled in AD by someone.
        try hr(terminated: [2])
        try await dc.modify(uac(3, 514))
        let leaving = try await run("2026-03-02T09:00:00Z")
        #expect(try Self.types(store, after: first.lastSeq ?? 0) == ["identity.leaver E00002", "account.disabled_externally E00003"])
        #expect(try store.identity("E00003")?.accounts.first?.enabled == false)
        // A day later E00002's account is still enabled: announced once.
        let late = try await run("2026-03-03T09:00:00Z")
        #expect(try Self.types(store, after: leaving.lastSeq ?? 0) == ["account.still_enabled E00002"])
        #expect(try await run("2026-03-03T10:00:00Z").summary.events == 0)
        // Disabled at last (514): quiet; enabled again by mistake (512): announced again.
        try await dc.modify(uac(2, 514))
        #expect(try await run("2026-03-04T09:00:00Z").summary.events == 0)
        let account = try #require(try store.identity("E00002")?.accounts.first)
        #expect(account.enabled == false && account.enabledSince == "2026-03-04" && account.stateNotice == nil)
        try await dc.modify(uac(2, 512))
        _ = try await run("2026-03-05T09:00:00Z")
        #expect(try Self.types(store, after: late.lastSeq ?? 0) == ["account.still_enabled E00002"])
    }

    @Test func openLDAPPasswordPolicyLock() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined(),
                                                      directoryExtra: "    disabled_when: (pwdAccountLockedTime=*)")
        let first = try await world.run(now: Self.at("2026-03-01T09:00:00Z"))
        func lock(_ uid: String, _ on: Bool) -> String {
            "dn: uid=\(uid),ou=people,dc=example,dc=test\nchangetype: modify\n"
                + (on ? "replace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n" : "delete: pwdAccountLockedTime\n") + "-\n\n"
        }
        try await world.slapd.modify(lock("p2", true))
        try world.writeHR(ReconcileJobTests.row(1) + ReconcileJobTests.row(2) + ReconcileJobTests.row(3, status: "Terminated"))
        let second = try await world.run(now: Self.at("2026-03-02T09:00:00Z"))
        #expect(try Self.types(world.store(), after: first.lastSeq ?? 0) == ["account.disabled_externally E2", "identity.leaver E3"])
        _ = try await world.run(now: Self.at("2026-03-03T09:00:00Z"))
        #expect(try Self.types(world.store(), after: second.lastSeq ?? 0) == ["account.still_enabled E3"])
        // Locked as it should be, and the other unlocked: notices forgotten, nothing new.
        try await world.slapd.modify(lock("p3", true) + lock("p2", false))
        #expect(try await world.run(now: Self.at("2026-03-04T09:00:00Z")).summary.events == 0)
        let state = try world.store().loadState()
        #expect(state.accounts["default"]?.values.allSatisfy { $0.stateNotice == nil } == true)
    }
}
