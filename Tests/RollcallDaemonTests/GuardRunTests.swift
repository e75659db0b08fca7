import Foundation
import GRDB
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Synchronization
import Testing

/// The mass-change guard end to end against slapd: a run that would deprovision too much, or whose
/// HR feed shrank, is quarantined with nothing applied; approve applies exactly its plan, reject
/// discards it; both are in the audit log with who did it.
@Suite struct GuardRunTests {
    static let people = 30
    static let guardSection = "guard: {max_deprovisions: 5, max_deprovision_percent: 50, minimum_count: 5}"

    static func rows(terminating: Set<Int> = [], count: Int = people) -> String {
        (1...count).map { terminating.contains($0) ? ReconcileJobTests.row($0, status: "Terminated", end: "2026-03-01") : ReconcileJobTests.row($0) }.joined()
    }

    static func types(_ store: Store, after seq: Int64) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in try store.events(after: seq, limit: 10_000) { counts[event.type.replacingOccurrences(of: "dev.rollcall.", with: ""), default: 0] += 1 }
        return counts
    }

    @Test func tooManyLeaversAreQuarantinedThenApprovedExactly() async throws {
        let world = try await ReconcileJobTests.world(people: Self.people, rows: Self.rows(), extra: Self.guardSection)
        let first = try await world.run()
        let seq = try #require(first.lastSeq)
        let before = try world.store().loadState()

        // Eight terminations: more than max_deprovisions (5).
        try world.writeHR(Self.rows(terminating: Set(1...8)))
        let stopped = try await world.run()
        let run = try #require(stopped.quarantinedRun)
        #expect(stopped.runID == nil)
        #expect(stopped.guardVerdict?.deprovisions == 8)
        #expect(stopped.guardVerdict?.reasons == ["8 deprovisioning actions, more than max_deprovisions (5)"])
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1])
        let event = try #require(try world.store().events(after: seq).first)
        #expect(event.subject == "run \(run)")
        #expect(event.data["deprovisions"] == .int(8))
        #expect(event.data["actions"] == .object(["dev.rollcall.identity.leaver": .int(8)]))
        #expect(event.data["approve"] == .string("rollcall approve \(run)"))
        // docs/events.md shows this event with the same keys.
        let catalogue = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let line = try #require(catalogue.split(separator: "\n").first { $0.hasPrefix("{\"data\":") && $0.contains("run.quarantined") })
        let example = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        guard case .object(let documented)? = example["data"], case .object(let real) = event.data else { Issue.record("not objects"); return }
        #expect(documented.keys.sorted() == real.keys.sorted())
        #expect(try world.store().run(run)?.status == "quarantined")
        #expect(try world.store().run(run)?.error == "quarantined by the mass-change guard: 8 deprovisioning actions, more than max_deprovisions (5)")
        // Nothing applied: the state is as it was.
        let held = try world.store().loadState()
        #expect(held.persons == before.persons && held.version == before.version)

        // The same plan again: still that quarantined run, nothing new written.
        let again = try await world.run()
        #expect(again.quarantinedRun == run)
        #expect(try world.store().events(after: seq).count == 1)

        // Approved: exactly the stored plan is applied, once.
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        let approved = try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: "reorg, confirmed with HR"))
        #expect(approved.summary.leavers == 8)
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1, "identity.leaver": 8])
        await #expect(throws: ReconcileFailure.self) {
            try await job.run(dryRun: false, approving: .init(runID: run, actor: "carol", reason: nil))
        }
        #expect(try await world.run().summary.events == 0)
        var actions: [String] = []
        try world.store().exportAudit { if $0.actor == "carol" { actions.append($0.action) } }
        #expect(actions.first == "admin.approve" && actions.contains("run.applied") && actions.filter { $0 == "event" }.count == 8)
        #expect(try world.store().verifyAudit().ok)
    }

    @Test func aTruncatedFeedIsQuarantinedWithNoDeprovisioningAndRejected() async throws {
        let world = try await ReconcileJobTests.world(people: Self.people, rows: Self.rows(), extra: Self.guardSection)
        let seq = try #require(try await world.run().lastSeq)
        // The export was cut after 12 rows; the rest terminate too (as a bad export might say).
        try world.writeHR(Self.rows(terminating: Set(10...12), count: 12))
        let stopped = try await world.run()
        let run = try #require(stopped.quarantinedRun)
        #expect(stopped.guardVerdict?.reasons.contains { $0.hasPrefix("HR source hr has 12, 60 % fewer than the 30") } == true, "\(String(describing: stopped.guardVerdict))")
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1])

        // Approving after the feed was fixed is refused: the plan is not the same any more.
        try world.writeHR(Self.rows())
        let job = ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: ReconcileJobTests.clock)
        do {
            _ = try await job.run(dryRun: false, approving: .init(runID: run, actor: "dave", reason: nil))
            Issue.record("a changed plan was approved")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("the inputs changed since run \(run) was quarantined"))
        }
        try world.store().rejectQuarantined(run, by: "dave", reason: "truncated export", at: ReconcileJobTests.clock())
        #expect(try world.store().quarantined(run)?.status == "rejected")
        #expect(try await world.run().summary.events == 0)
        #expect(try Self.types(world.store(), after: seq) == ["run.quarantined": 1])
        var actions: [String] = []
        try world.store().exportAudit { if $0.actor == "dave" { actions.append($0.action) } }
        #expect(actions == ["admin.approve.refused", "admin.reject"])
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
