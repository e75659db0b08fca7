import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Synchronization
import Testing

/// Delta runs with syncrepl: only what changed is read, deletes are seen, a stale cookie or the
/// full-read interval falls back to a full read.
@Suite struct DeltaRunTests {
    final class Clock: Sendable {
        let value = Mutex(Date(timeIntervalSince1970: 1_773_576_000))
        func advance(hours: Double) { value.withLock { $0 = $0.addingTimeInterval(hours * 3600) } }
        var now: @Sendable () -> Date { { self.value.withLock { $0 } } }
    }

    func run(_ world: ReconcileJobTests.World, _ clock: Clock, forceFull: Bool = false) async throws -> ReconcileOutcome {
        try await ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: clock.now)
            .run(dryRun: false, forceFull: forceFull)
    }

    func anchor(_ world: ReconcileJobTests.World, _ id: String) throws -> String {
        try #require(try world.store().loadState().links.first { $0.employeeID == id }?.anchor)
    }

    /// A delta cookie continues only the search it was taken with: a changed filter, base or
    /// attribute list makes the next read full (with a log line saying why); the same base written
    /// another way (spaces, case) is the same search.
    @Test func aChangedSearchDefinitionForcesAFullRead() async throws {
        let world = try await ReconcileJobTests.world(people: 4, rows: (1...4).map { ReconcileJobTests.row($0) }.joined(),
                                                      directoryExtra: "    delta: syncrepl")
        let clock = Clock()
        #expect(try await run(world, clock).directories.first?.read == "full")
        #expect(try await run(world, clock).directories.first?.read == "delta")
        let file = world.directory.appendingPathComponent("rollcall.yaml")
        let original = try String(contentsOf: file, encoding: .utf8)
        func reads(_ text: String) async throws -> String? {
            try text.write(to: file, atomically: true, encoding: .utf8)
            let job = ReconcileJob(configuration: try ConfigurationLoader.load(path: file.path), logger: Logger(label: "test"), now: clock.now)
            return try await job.run(dryRun: false).directories.first?.read
        }
        // The base written with spaces and in another case: still the same search, still a delta.
        let respelled = original.replacingOccurrences(of: "base_dn: \(SlapdFixture.peopleBase)", with: "base_dn: \"OU=People, DC=example, DC=test\"")
        #expect(respelled != original)
        #expect(try await reads(respelled) == "delta")
        // Another filter: the cookie belongs to the old search.
        let refiltered = respelled.replacingOccurrences(of: "filter: (objectClass=inetOrgPerson)", with: "filter: (&(objectClass=inetOrgPerson)(uid=p*))")
        #expect(try await reads(refiltered) == "full")
        #expect(try await reads(refiltered) == "delta")
        // Another attribute list.
        #expect(try await reads(refiltered.replacingOccurrences(of: "attributes: [uid]", with: "attributes: [uid, cn]")) == "full")
    }

    @Test func deltasSeeChangesAndDeletesAndFallBackToFullReads() async throws {
        let world = try await ReconcileJobTests.world(people: 6, rows: (1...6).map { ReconcileJobTests.row($0) }.joined(),
                                                directoryExtra: "    delta: syncrepl\n    full_read_interval_hours: 24")
        let clock = Clock()
        let first = try await run(world, clock)
        #expect(first.directories.first?.read == "full")
        #expect(first.summary.matched == 6)
        let p2 = try anchor(world, "E2")
        let p4 = try anchor(world, "E4")

        let quiet = try await run(world, clock)
        #expect(quiet.directories.first?.read == "delta")
        #expect(quiet.summary.events == 0)
        #expect(quiet.summary.entriesRead == 6)

        // A delete and a rename, seen by the delta.
        try await world.slapd.modify("""
            dn: uid=p2,ou=people,dc=example,dc=test
            changetype: delete

            dn: uid=p3,ou=people,dc=example,dc=test
            changetype: modrdn
            newrdn: uid=p3-renamed
            deleteoldrdn: 1

            """)
        let delta = try await run(world, clock)
        #expect(delta.directories.first?.read == "delta")
        #expect(try world.events(after: 6) == ["account.removed \(p2)"])
        #expect(try world.store().identity("E3")?.accounts.first?.dn == "uid=p3-renamed,ou=people,dc=example,dc=test")

        // Deleted while the server's session log is lost to a restart: the present list finds it.
        try await world.slapd.modify("dn: uid=p4,ou=people,dc=example,dc=test\nchangetype: delete\n")
        try await world.slapd.restart()
        let afterRestart = try await run(world, clock)
        #expect(afterRestart.directories.first?.read == "delta")
        #expect(try world.events(after: 7) == ["account.removed \(p4)"])

        // Forced and scheduled full reads agree with what the deltas built: no events.
        let forced = try await run(world, clock, forceFull: true)
        #expect(forced.directories.first?.read == "full")
        #expect(forced.summary.events == 0)
        clock.advance(hours: 12)
        #expect(try await run(world, clock).directories.first?.read == "delta")
        clock.advance(hours: 13)
        let scheduled = try await run(world, clock)
        #expect(scheduled.directories.first?.read == "full")
        #expect(scheduled.summary.events == 0)
        #expect(scheduled.summary.entriesRead == 4)
    }

    @Test func syncreplNeedsEntryUUIDAsTheAnchor() async throws {
        do {
            _ = try await ReconcileJobTests.world(people: 1, rows: ReconcileJobTests.row(1),
                                            directoryExtra: "    delta: syncrepl\n    anchor_attribute: uid")
            Issue.record("syncrepl with a uid anchor was accepted")
        } catch let error as ConfigurationError {
            #expect(error.key == "directories[0].delta")
        }
    }
}
