import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallHR
import RollcallStore
import Testing

/// The state the daemon keeps between live changes is the store's state: after each change it is
/// what the store would load, and anything else that writes the store makes the next change load.
@Suite struct LiveStateTests {
    static func expectSame(_ kept: StoredState?, _ stored: StoredState, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        guard let kept else {
            Issue.record("no state kept", sourceLocation: sourceLocation)
            return
        }
        #expect(kept.version == stored.version, sourceLocation: sourceLocation)
        #expect(kept.persons == stored.persons, sourceLocation: sourceLocation)
        #expect(kept.accounts == stored.accounts, sourceLocation: sourceLocation)
        #expect(Set(kept.links) == Set(stored.links) && kept.links.count == stored.links.count, sourceLocation: sourceLocation)
        #expect(kept.holds == stored.holds && kept.disputes == stored.disputes && kept.proposals == stored.proposals, sourceLocation: sourceLocation)
        #expect(kept.entitlementNotices == stored.entitlementNotices && kept.driftNotices == stored.driftNotices, sourceLocation: sourceLocation)
        #expect(kept.violationNotices == stored.violationNotices && kept.held == stored.held, sourceLocation: sourceLocation)
        #expect(kept.memberships == stored.memberships && kept.privileged == stored.privileged, sourceLocation: sourceLocation)
    }

    @Test func theKeptStateIsTheStoresAfterEveryChange() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...4).map { ReconcileJobTests.row($0) }.joined())
        _ = try await world.run()
        let hr = try await HRSources.read(world.configuration.hrSources)
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        let kept = LiveState()
        let account = { (i: Int) in
            DirectoryAccount(anchor: "anchor-\(i)", dn: "uid=p\(i),ou=people,dc=example,dc=test", correlationValue: "E\(i)", attributesJSON: "{}")
        }
        // E3's account appears: linked (the joiner of the first run gets its account).
        let first = try await job.runLive(directory: "default", changed: [account(3)], deleted: [], hr: hr, kept: kept)
        #expect((first?.summary.events ?? 0) > 0)
        #expect(kept.loads == 1)
        Self.expectSame(kept.state, try world.store().loadState())
        // E4's too: planned from the kept state, no load.
        _ = try await job.runLive(directory: "default", changed: [account(4)], deleted: [], hr: hr, kept: kept)
        #expect(kept.loads == 1)
        Self.expectSame(kept.state, try world.store().loadState())
        #expect(try world.events().suffix(2) == ["account.linked E3", "account.linked E4"])
        // E3's account goes: removed, from the kept state.
        _ = try await job.runLive(directory: "default", changed: [], deleted: ["anchor-3"], hr: hr, kept: kept)
        #expect(kept.loads == 1)
        Self.expectSame(kept.state, try world.store().loadState())
        let afterDelete = try world.events()
        #expect(afterDelete.last?.hasPrefix("account.removed ") == true, "\(afterDelete)")
        // An operator's action elsewhere moves the store on: the next change loads it again.
        _ = try AdminActions(configuration: world.configuration, logger: Logger(label: "test")).disable(employeeID: "E4", reason: "test")
        _ = try await job.runLive(directory: "default", changed: [account(3)], deleted: [], hr: hr, kept: kept)
        #expect(kept.loads == 2)
        #expect(kept.state?.holds["E4"] != nil)
        Self.expectSame(kept.state, try world.store().loadState())
    }

    /// A scheduled run in the daemon starts from the kept state and leaves what it applied there:
    /// neither it nor the next live change loads the state again (4–5 s at a million persons).
    @Test func aRunStartsFromTheKeptStateAndLeavesItsOwn() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        _ = try await world.run()
        let kept = LiveState()
        var job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        job.keptState = kept
        // A mover and a leaver: the run loads once (nothing kept yet), then keeps its result.
        try world.writeHR(ReconcileJobTests.row(1, department: "Legal") + ReconcileJobTests.row(2)
                          + ReconcileJobTests.row(3, status: "Terminated", end: "2026-01-31"))
        let moved = try await job.run(dryRun: false)
        #expect(moved.summary.events >= 2, "\(moved.summary)")
        #expect(kept.loads == 1)
        Self.expectSame(kept.state, try world.store().loadState())
        // The next run plans from it: no load, the same decisions as from the store.
        try world.writeHR(ReconcileJobTests.row(1, department: "Finance") + ReconcileJobTests.row(2)
                          + ReconcileJobTests.row(3, status: "Terminated", end: "2026-01-31"))
        let fromStore = try await ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
            .run(dryRun: true)
        let fromKept = try await job.run(dryRun: false)
        #expect(kept.loads == 1)
        #expect(fromKept.summary == fromStore.summary)
        Self.expectSame(kept.state, try world.store().loadState())
        // And a live change after it takes it as it is.
        let hr = try await HRSources.read(world.configuration.hrSources)
        let account = DirectoryAccount(anchor: "anchor-9", dn: "uid=p9,ou=people,dc=example,dc=test", correlationValue: "E9", attributesJSON: "{}")
        _ = try await job.runLive(directory: "default", changed: [account], deleted: [], hr: hr, kept: kept)
        #expect(kept.loads == 1)
        // Written behind its back (an operator's action), the kept state is not used: loaded again.
        _ = try AdminActions(configuration: world.configuration, logger: Logger(label: "test")).disable(employeeID: "E2", reason: "test")
        _ = try await job.run(dryRun: false)
        #expect(kept.loads == 2)
        Self.expectSame(kept.state, try world.store().loadState())
    }
}
