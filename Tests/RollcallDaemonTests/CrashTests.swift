import Foundation
import GRDB
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// SIGKILL at random moments of a reconcile of a few thousand persons: the store is never
/// corrupt or half-applied, sequence numbers stay gap-free, and running again converges to the
/// state and events of an uninterrupted run. `ROLLCALL_CRASH_TRIALS=N` runs more trials.
@Suite struct CrashTests {
    static let people = 2000

    /// What a store holds, without ids or times: persons, links, accounts, and the events as
    /// (type, subject, data).
    struct Snapshot: Equatable {
        var persons: [String]
        var links: [String]
        var accounts: [String]
        var events: [String]
    }

    static func snapshot(_ path: String) throws -> Snapshot {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            Snapshot(persons: try String.fetchAll(db, sql: "SELECT employee_id || ' ' || lifecycle || ' ' || COALESCE(department, '') FROM person ORDER BY 1"),
                     links: try String.fetchAll(db, sql: "SELECT employee_id || ' ' || directory || ' ' || anchor FROM link ORDER BY 1"),
                     accounts: try String.fetchAll(db, sql: "SELECT directory || ' ' || anchor || ' ' || dn FROM account ORDER BY 1"),
                     events: try String.fetchAll(db, sql: "SELECT type || ' ' || subject || ' ' || data FROM outbox ORDER BY 1"))
        }
    }

    /// The invariants that must hold after any kill.
    static func checkInvariants(_ path: String, trial: Int) throws {
        let raw = try DatabaseQueue(path: path)
        #expect(try raw.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"], "trial \(trial)")
        try raw.close()
        // A kill during the first open can leave migrations not all run (each is its own
        // transaction); opening the store, as the next run does, completes them.
        _ = try Store.open(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            let seqs = try Int64.fetchAll(db, sql: "SELECT seq FROM outbox ORDER BY seq")
            #expect(seqs == Array(1...Int64(max(seqs.count, 1))).prefix(seqs.count).map { $0 }, "trial \(trial): gap-free, no duplicates")
            // Every applied run has exactly its events; no event without an applied run.
            let orphans = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM outbox o LEFT JOIN run r ON r.id = o.run_id WHERE r.id IS NULL OR r.status NOT IN ('applied', 'quarantined')
                """) ?? -1
            #expect(orphans == 0, "trial \(trial)")
            for row in try Row.fetchAll(db, sql: "SELECT id, first_seq, last_seq FROM run WHERE status = 'applied' AND first_seq IS NOT NULL") {
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE run_id = ?", arguments: [row[0] as Int64]) ?? -1
                #expect(count == (row[2] as Int) - (row[1] as Int) + 1, "trial \(trial): run \(row[0] as Int64)")
            }
            // Every stored person has their events, and every identity event its person.
            let unannounced = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM person p WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subject = p.employee_id)
                """) ?? -1
            #expect(unannounced == 0, "trial \(trial)")
            let unstored = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM outbox o WHERE o.type LIKE 'dev.rollcall.identity.%' AND NOT EXISTS (SELECT 1 FROM person p WHERE p.employee_id = o.subject)
                """) ?? -1
            #expect(unstored == 0, "trial \(trial)")
        }
        #expect(try Store.open(path: path).verifyAudit().ok, "trial \(trial): audit chain")
    }

    @Test func killedReconcilesNeverCorruptAndConverge() async throws {
        // Every fifth person has no account yet (joiners); the rest link.
        let rows = (1...Self.people).map { ReconcileJobTests.row($0) }.joined()
        let world = try await ReconcileJobTests.world(people: Self.people * 4 / 5, rows: rows, extra: "guard: {max_deprovisions: 100000, first_run: apply}")
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let store = world.configuration.storePath
        func clear() throws {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: store + suffix) {
                try FileManager.default.removeItem(atPath: store + suffix)
            }
        }
        // The uninterrupted run: the reference, and how long a run takes.
        let started = Date()
        let reference = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
        var duration = Date().timeIntervalSince(started)
        #expect(reference.status == 0, "\(reference.error)")
        let expected = try Self.snapshot(store)
        #expect(expected.persons.count == Self.people && expected.events.count == Self.people)

        // Rounds of three kills on the same store (a kill may land in a first load, in the run
        // after a kill, or in a quiet run), then a run to the end, which must converge. A kill that
        // comes after a first load already finished does not count as a trial: the load's length
        // is measured again (tests running in parallel change it) and the trial is repeated.
        let trials = Int(ProcessInfo.processInfo.environment["ROLLCALL_CRASH_TRIALS"] ?? "") ?? 24
        var killed = 0
        var missed = 0
        var trial = 0
        while trial < trials {
            if trial % 3 == 0 { try clear() }
            let empty = try !FileManager.default.fileExists(atPath: store) || Self.snapshot(store).events.isEmpty
            // Spread the kills over the whole run, from start-up to the commit.
            let moment = duration * Double.random(in: 0.05...0.95)
            let timed = Date()
            let run = try await Shell.run(CLITests.binary, ["reconcile", "--config", config], killAfter: moment)
            if run.status == 0 && empty && missed < 3 * trials {
                duration = Date().timeIntervalSince(timed)
                missed += 1
                try clear()
                continue
            }
            if run.status == 137 { killed += 1 } else { #expect(run.status == 0, "trial \(trial): \(run.error)") }
            if FileManager.default.fileExists(atPath: store) {
                try Self.checkInvariants(store, trial: trial)
                let partial = try Self.snapshot(store)
                // All or nothing: either the whole first run is there or none of it.
                #expect(partial.events.isEmpty || partial == expected, "trial \(trial): a half-applied run")
            }
            if trial % 3 == 2 || trial == trials - 1 {
                // To the end from where the kills left it: must converge.
                let again = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
                #expect(again.status == 0, "trial \(trial): \(again.error)")
                #expect(try Self.snapshot(store) == expected, "trial \(trial): converges")
            }
            trial += 1
        }
        print("crash trials: \(killed) of \(trials) killed a running reconcile, \(missed) repeated (a first load takes \(String(format: "%.2f", duration)) s)")
        #expect(killed >= trials / 2, "trials must really kill running reconciles (\(killed) of \(trials))")
    }
}
