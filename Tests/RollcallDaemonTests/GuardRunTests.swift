import Foundation
import GRDB
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Synchronization
import Testing

/// The mass-change guard end to end against slapd. It holds back only what it guards: a run that
/// would deprovision too much applies everything else and holds the deprovisioning decisions,
/// each with its person; `approve` applies those still true today and drops the others; later
/// runs never hold a second copy. A store's first run waits for approval as a whole.
@Suite struct GuardRunTests {
    static let people = 30
    static let guardSection = "guard: {max_deprovisions: 5, max_deprovision_percent: 50, minimum_count: 5, first_run: apply}"

    static func rows(terminating: Set<Int> = [], count: Int = people, moving: Set<Int> = []) -> String {
        (1...count).map { i in
            terminating.contains(i) ? ReconcileJobTests.row(i, status: "Terminated", end: "2026-03-01")
                : ReconcileJobTests.row(i, department: moving.contains(i) ? "Legal" : "Sales")
        }.joined()
    }

    static func types(_ store: Store, after seq: Int64) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in try store.events(after: seq, limit: 10_000) { counts[event.type.replacingOccurrences(of: "dev.rollcall.", with: ""), default: 0] += 1 }
        return counts
    }

    @Test func tooManyLeaversAreHeldTheRestAppliesApproveAppliesWhatIsStillTrue() async throws {
        let world = try await ReconcileJobTests.world(people: Self.people, rows: Self.rows(), extra: Self.guardSection)
        let first = try await world.run()
        let seq = try #require(first.lastSeq)

        // Eight terminations (more than max_deprovisions, 5) and an unrelated department move.
        try world.writeHR(Self.rows(terminating: Set(1...8), moving: [20]))
        let tripped = try await world.run()
        let run = try #require(tripped.runID)
        #expect(tripped.quarantinedRun == nil)
        #expect(tripped.held == 8 && tripped.newlyHeld == 8)
        #expect(tripped.guardVerdict?.reasons == ["8 deprovisioning actions, more than max_deprovisions (5)"])
        // The mover is applied; the leavers wait, announced by one run.quarantined.
        #expect(try Self.types(world.store(), after: seq) == ["identity.mover": 1, "run.quarantined": 1])
        let event = try #require(try world.store().events(after: seq).first { $0.type == "dev.rollcall.run.quarantined" })
        #expect(event.subject == "run \(run)")
        #expect(event.data["applied"] == .bool(true) && event.data["held"] == .int(8))
        #expect(event.data["held_by_type"] == .object(["dev.rollcall.identity.leaver": .int(8)]))
        #expect(event.data["approve"] == .string("rollcall approve \(run)"))
        // docs/events.md shows this event with the same keys.
        let catalogue = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let line = try #require(catalogue.split(separator: "\n").first { $0.hasPrefix("{\"data\":") && $0.contains("run.quarantined") })
        let example = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        guard case .object(let documented)? = example["data"], case .object(let real) = event.data else { Issue.record("not objects"); return }
        #expect(documented.keys.sorted() == real.keys.sorted())
        let state = try world.store().loadState()
        #expect((1...8).allSatisfy { state.persons["E\($0)"]?.lifecycle == .active })
        #expect(state.persons["E20"]?.attributes.department == "Legal")
        let pending = try world.store().heldDecisions(pendingOnly: true)
        #expect(pending.count == 8 && pending.allSatisfy { $0.runID == run && $0.decision.kind == .leaver })

        // Later runs hold the same decisions without a second copy and without a new announcement.
        let again = try await world.run()
        #expect(again.held == 8 && again.newlyHeld == 0)
        #expect(try world.store().events(after: seq).count == 2)
        #expect(try world.store().heldDecisions().count == 8)

        // HR takes one termination back before the approval: that decision is dropped, not applied.
        try world.writeHR(Self.rows(terminating: Set(1...7), moving: [20]))
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        let approved = try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: "reorg, confirmed with HR"))
        #expect(approved.approvedHeld.count == 7)
        #expect(approved.droppedHeld.map(\.subject) == ["E8"])
        #expect(try Self.types(world.store(), after: seq) == ["identity.mover": 1, "run.quarantined": 1, "identity.leaver": 7])
        let decided = try world.store().heldDecisions(run: run)
        #expect(decided.filter { $0.status == "approved" }.count == 7 && decided.first { $0.decision.subject == "E8" }?.status == "dropped")
        #expect(decided.allSatisfy { $0.decidedBy == "carol" })
        await #expect(throws: ReconcileFailure.self) {
            try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: nil))
        }
        #expect(try await world.run().summary.events == 0)
        var actions: [String] = []
        var vouched = 0
        try world.store().exportAudit {
            if $0.actor == "carol" { actions.append($0.action); if case .array(let events)? = $0.detail?["events"] { vouched += events.count } }
        }
        #expect(actions.first == "admin.approve" && actions.contains("run.applied") && vouched == 7)
        #expect(try world.store().verifyAudit().ok)
    }

    /// A truncated export: the guard holds back every leaver and missing person of it; the feed
    /// is fixed; the held decisions are no longer true and the operator rejects them.
    @Test func aTruncatedFeedHoldsItsDecisionsAndTheyAreRejected() async throws {
        let world = try await ReconcileJobTests.world(people: Self.people, rows: Self.rows(), extra: Self.guardSection)
        let seq = try #require(try await world.run().lastSeq)
        // The export was cut after 12 rows; three of those terminate too (as a bad export might say).
        try world.writeHR(Self.rows(terminating: Set(10...12), count: 12))
        let tripped = try await world.run()
        let run = try #require(tripped.runID)
        #expect(tripped.guardVerdict?.reasons.contains { $0.hasPrefix("HR source hr has 12, 60 % fewer than the 30") } == true, "\(String(describing: tripped.guardVerdict))")
        #expect(tripped.held == 21)  // 3 leavers and 18 persons missing from the feed
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1])
        #expect(try world.store().loadState().persons.values.allSatisfy { $0.lifecycle == .active && $0.missingSince == nil })

        // The feed is fixed: nothing of it is true any more; a run applies nothing, holds nothing new.
        try world.writeHR(Self.rows())
        let fixed = try await world.run()
        #expect(fixed.summary.events == 0 && fixed.held == 0)
        try world.store().rejectHeld(run: run, by: "dave", reason: "truncated export", at: ReconcileJobTests.clock())
        #expect(try world.store().heldDecisions(run: run).allSatisfy { $0.status == "rejected" })
        #expect(try await world.run().summary.events == 0)
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1])
        var actions: [String] = []
        try world.store().exportAudit { if $0.actor == "dave" { actions.append($0.action) } }
        #expect(actions == ["admin.reject"])
    }

    /// More joiners than max_joiners: the joiners wait, the rest applies; approved, they are announced once.
    @Test func tooManyJoinersAreHeld() async throws {
        let world = try await ReconcileJobTests.world(people: Self.people, rows: Self.rows(),
                                                      extra: "guard: {max_joiners: 10, first_run: apply}")
        let seq = try #require(try await world.run().lastSeq)
        try world.writeHR(Self.rows(moving: [3]) + (31...45).map { ReconcileJobTests.row($0) }.joined())
        let tripped = try await world.run()
        let run = try #require(tripped.runID)
        #expect(tripped.guardVerdict?.reasons == ["15 joiners, more than max_joiners (10)",
                                                  "15 joiners are 33.3 % of 45 persons read from HR, more than max_joiner_percent (10)"])
        #expect(tripped.held == 15)
        #expect(try Self.types(world.store(), after: seq) == ["identity.mover": 1, "run.quarantined": 1])
        #expect(try world.store().loadState().persons["E31"] == nil)
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        let approved = try await job.run(dryRun: false, approving: .init(runID: run, actor: "erin", reason: "spring intake"))
        #expect(approved.approvedHeld.count == 15 && approved.summary.joiners == 15)
        #expect(try await world.run().summary.events == 0)
    }

    /// With the defaults, a store's first run is planned and held whole: its summary shows what a
    /// wrong correlation would do before anything is announced; approve applies it.
    @Test func theFirstRunWaitsForApproval() async throws {
        let world = try await ReconcileJobTests.world(people: 5, rows: (1...6).map { ReconcileJobTests.row($0) }.joined(),
                                                      extra: "guard: {max_deprovisions: 50}")
        let first = try await world.run()
        let run = try #require(first.quarantinedRun)
        #expect(first.runID == nil)
        #expect(try world.store().loadState().persons.isEmpty)
        let event = try #require(try world.store().events().first)
        #expect(event.type == "dev.rollcall.run.quarantined")
        #expect(event.data["first_run"] == .bool(true) && event.data["applied"] == .bool(false))
        #expect(event.data["matched"] == .int(5) && event.data["joiners"] == .int(1) && event.data["orphans"] == .int(0))
        #expect(first.guardVerdict?.reasons.first?.hasPrefix("the first run of this store waits for approval") == true)
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        let approved = try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: "baseline checked"))
        #expect(approved.summary.linked == 5 && approved.summary.joiners == 1)
        #expect(try await world.run().summary.events == 0)
        // --initial applies a first run as planned.
        let other = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2),
                                                      extra: "guard: {max_deprovisions: 50}")
        let initial = try await ReconcileJob(configuration: other.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
            .run(dryRun: false, initial: true)
        #expect(initial.runID != nil && initial.summary.linked == 2)
    }

    /// `approve` applies the stored plan only if it still hashes to its digest: a plan edited in
    /// the store (here an HR id swapped in its JSON) is refused and nothing is applied.
    @Test func aStoredPlanChangedInTheStoreIsNotApproved() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined(),
                                                      extra: "guard: {max_deprovisions: 50}")
        let run = try #require(try await world.run().quarantinedRun)
        let sql = "UPDATE quarantine SET plan = replace(plan, '\"E3\"', '\"E9\"') WHERE run_id = \(run)"
        let edited = try await Shell.run("/usr/bin/sqlite3", [world.configuration.storePath, sql])
        #expect(edited.status == 0, "\(edited.error)")
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        do {
            _ = try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: "looks fine"))
            Issue.record("a plan changed in the store was approved")
        } catch {
            #expect("\(error)".contains("does not match its digest"), "\(error)")
        }
        #expect(try world.store().loadState().persons.isEmpty)
    }

    /// A filter that matches nothing on a first run fails instead of announcing everyone as a
    /// joiner; `allow_empty` is how a really empty directory is accepted.
    @Test func anEmptyFirstReadFailsUnlessAllowed() async throws {
        let wrong = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined(),
                                                      directoryExtra: "    # a typo in the filter below",
                                                      extra: "")
        let file = wrong.directory.appendingPathComponent("rollcall.yaml")
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "filter: (objectClass=inetOrgPerson)",
                                                                                     with: "filter: (objectClass=inetOrgPersn)")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let job = ReconcileJob(configuration: try ConfigurationLoader.load(path: file.path), logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        do {
            _ = try await job.run(dryRun: false)
            Issue.record("an empty first read was applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("returned no entries and none of its accounts are stored"), "\(failure.reason)")
        }
        #expect(try wrong.store().events().isEmpty)
        try text.replacingOccurrences(of: "    # a typo in the filter below", with: "    allow_empty: true").write(to: file, atomically: true, encoding: .utf8)
        let allowed = try await ReconcileJob(configuration: try ConfigurationLoader.load(path: file.path), logger: Logger(label: "test"),
                                             now: ReconcileJobTests.clock).run(dryRun: false)
        #expect(allowed.summary.joiners == 3)
    }
}

/// The other half of "never deprovision from a broken read": the directory dies in the middle of
/// the read, and the run fails with nothing applied, whatever HR says.
@Suite struct KilledDirectoryRunTests {
    @Test func aDirectoryKilledMidReadFailsTheRunWithNoEvents() async throws {
        let people = 3000
        // One attempt: the read's own error (how far it got) is the run's reason, not a reconnect's.
        let world = try await ReconcileJobTests.world(people: people, rows: GuardRunTests.rows(count: people),
                                                      directoryExtra: "    retry: {attempts: 1}")
        let first = try await world.run()
        let seq = try #require(first.lastSeq)
        // Real terminations are in the feed: a complete read would announce them.
        try world.writeHR(GuardRunTests.rows(terminating: Set(1...20), count: people))
        // Killed shortly after the read's connection is up (its "directory connected" log line):
        // 3,000 entries in pages of 4 take far longer than that, loaded machine or not.
        let slapd = world.slapd
        let fired = Mutex(false)
        let logger = Logger(label: "test") { _ in
            TriggerHandler { message in
                guard message == "directory connected", !fired.withLock({ let was = $0; $0 = true; return was }) else { return }
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 0.05)
                    slapd.kill()
                }
            }
        }
        do {
            _ = try await ReconcileJob(configuration: world.configuration, logger: logger, now: ReconcileJobTests.clock).run(dryRun: false)
            Issue.record("a run whose directory died mid-read applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("directory default"), "\(failure.reason)")
            #expect(failure.reason.contains("is incomplete; nothing is treated as deleted"), "\(failure.reason)")
        }
        #expect(fired.withLock { $0 })
        #expect(try GuardRunTests.types(world.store(), after: seq).isEmpty)
        #expect(try world.store().runs().first?.status == "failed")
    }
}

/// A log handler that hands every message to a closure (debug level and up).
struct TriggerHandler: LogHandler {
    let onMessage: @Sendable (String) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    init(_ onMessage: @escaping @Sendable (String) -> Void) {
        self.onMessage = onMessage
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        onMessage(event.message.description)
    }
}
