import Foundation
import GRDB
import RollcallCore
@testable import RollcallStore
import Testing

@Suite struct StoreTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var path: String { directory.appendingPathComponent("rollcall.sqlite").path }

    static let today = Day(year: 2026, month: 3, day: 15) ?? Day(epochSeconds: 0)

    static func record(_ id: String, department: String = "Sales", status: EmploymentStatus = .active) -> HRRecord {
        HRRecord(employeeID: id, attributes: PersonAttributes(givenName: "A", familyName: "B", department: department, status: status),
                 origin: SourceLocation(source: "t.csv", line: 1))
    }

    static func account(_ anchor: String, _ key: String?) -> DirectoryAccount {
        DirectoryAccount(anchor: anchor, dn: "uid=\(anchor),dc=t", correlationValue: key, attributes: ["uid": [anchor]])
    }

    func stamp() -> RunStamp {
        RunStamp(startedAt: Date(timeIntervalSince1970: 1_773_532_800), finishedAt: Date(timeIntervalSince1970: 1_773_532_801),
                 eventSource: "urn:rollcall:test")
    }

    static func ldap(_ accounts: [DirectoryAccount]) -> [DirectoryInput] {
        [DirectoryInput(name: "ldap", key: .employeeID, accounts: accounts)]
    }

    func run(_ store: Store, _ records: [HRRecord], _ accounts: [DirectoryAccount]) throws -> (Plan, AppliedRun) {
        try run(store, records, Self.ldap(accounts))
    }

    func run(_ store: Store, _ records: [HRRecord], _ directories: [DirectoryInput], stamp: RunStamp? = nil) throws -> (Plan, AppliedRun) {
        let plan = try Reconciler().plan(records: records, directories: directories, state: try store.loadState(), today: Self.today)
        return (plan, try store.apply(plan, stamp: stamp ?? self.stamp()))
    }

    /// A store that had persons and links before access history existed gets open intervals for
    /// them, known since its newest applied run; a later change closes them with the old values.
    @Test func historyIsSeededOnUpgradeAndVersionsFollowChanges() throws {
        let store = try Store.open(path: path)
        _ = try run(store, [Self.record("E1"), Self.record("E2")], [Self.account("a1", "E1"), Self.account("a2", "E2")])
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for table in ["person_history", "link_history", "account_history"] { try db.execute(sql: "DELETE FROM \(table)") }
            try History.seed(db)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person_history WHERE to_run IS NULL AND from_run = 1") == 2)
            #expect(try String.fetchAll(db, sql: "SELECT anchor || ' ' || dn FROM link_history ORDER BY anchor") == ["a1 uid=a1,dc=t", "a2 uid=a2,dc=t"])
        }
        try queue.close()
        let nextDay = RunStamp(startedAt: Date(timeIntervalSince1970: 1_773_619_200), finishedAt: Date(timeIntervalSince1970: 1_773_619_201),
                               eventSource: "urn:rollcall:test")
        _ = try run(store, [Self.record("E1", department: "Legal"), Self.record("E2")], Self.ldap([Self.account("a1", "E1"), Self.account("a2", "E2")]),
                    stamp: nextDay)
        let before = try store.access(in: try #require(AccessWindow("2026-03-15T12:00:00Z")), person: "E1")
        #expect(before.persons.first?.attributes["department"] == "Sales")
        let now = try store.access(in: .now, person: "E1")
        #expect(now.persons.first?.attributes["department"] == "Legal")
        #expect(now.persons.first?.holdings.map(\.member) == ["a1"])
    }

    @Test func stateRoundTripsAndUnchangedInputsWriteZeroEvents() throws {
        let store = try Store.open(path: path)
        let records = [Self.record("E1"), Self.record("E2")]
        let accounts = [Self.account("a1", "E1"), Self.account("svc", nil)]
        let (first, applied) = try run(store, records, accounts)
        #expect(first.events.count == 3)
        #expect(applied.firstSeq == 1 && applied.lastSeq == 3)
        let state = try store.loadState()
        #expect(state == StoredState().applying(first))
        let (second, again) = try run(store, records, accounts)
        #expect(second.isEmpty)
        #expect(again.firstSeq == nil)
        #expect(try store.events(after: 0).count == 3)
    }

    @Test func sequenceNumbersAreGapFreeAcrossRunsAndEventsAreCloudEvents() throws {
        let store = try Store.open(path: path)
        _ = try run(store, [Self.record("E1"), Self.record("E2")], [Self.account("a1", "E1")])
        _ = try run(store, [Self.record("E1", department: "Legal"), Self.record("E2", status: .terminated)], [Self.account("a1", "E1")])
        let events = try store.events(after: 0)
        #expect(events.map(\.rollcallseq) == Array(1...Int64(events.count)))
        #expect(Set(events.map(\.id)).count == events.count)
        #expect(events.map(\.type) == ["dev.rollcall.account.linked", "dev.rollcall.identity.joiner",
                                       "dev.rollcall.identity.mover", "dev.rollcall.identity.leaver"])
        let mover = events[2]
        #expect(mover.source == "urn:rollcall:test")
        #expect(mover.subject == "E1")
        #expect(mover.time == "2026-03-15T00:00:01Z")
        #expect(mover.specversion == "1.0")
        #expect(mover.data["changes"] == .array([.object(["attribute": "department", "before": "Sales", "after": "Legal"])]))
        // Reading again gives the same ids: ids are stored, not made up on read.
        #expect(try store.events(after: 2, limit: 1).map(\.id) == [mover.id])
    }

    @Test func aFailingApplyWritesNothing() throws {
        let store = try Store.open(path: path)
        _ = try run(store, [Self.record("E1")], [Self.account("a1", "E1")])
        var plan = try Reconciler().plan(records: [Self.record("E1", department: "Legal"), Self.record("E2")],
                                         directories: Self.ldap([Self.account("a1", "E1")]), state: try store.loadState(), today: Self.today)
        // A second link to the same anchor violates the unique index at the end of the transaction.
        plan.linkUpserts.append(Link(employeeID: "E2", directory: "ldap", anchor: "a1"))
        #expect(throws: (any Error).self) { try store.apply(plan, stamp: stamp()) }
        #expect(try store.events(after: 0).count == 1)
        #expect(try store.loadState().persons["E1"]?.attributes.department == "Sales")
        #expect(try store.loadState().persons["E2"] == nil)
        #expect(try store.runs().count == 1)
    }

    @Test func aPlanFromAStaleStateIsRefused() throws {
        let store = try Store.open(path: path)
        let state = try store.loadState()
        #expect(state.version == 0)
        let records = [Self.record("E1")]
        let plan = try Reconciler().plan(records: records, directories: Self.ldap([]), state: state, today: Self.today)
        var first = stamp()
        first.basedOn = state.version
        _ = try store.apply(plan, stamp: first)
        // A second, overlapping run planned from the same state would announce the same joiner.
        var second = stamp()
        second.basedOn = state.version
        do {
            _ = try store.apply(plan, stamp: second)
            Issue.record("a plan from a stale state was applied")
        } catch let error as StoreError {
            #expect(error.reason.contains("reconcile again"))
        }
        #expect(try store.events(after: 0).count == 1)
        #expect(try store.loadState().version == 1)
    }

    @Test func identityShowsPersonAccountAndEvents() throws {
        let store = try Store.open(path: path)
        _ = try run(store, [Self.record("E1")], [Self.account("a1", "E1")])
        let identity = try #require(try store.identity("E1"))
        #expect(identity.accounts.map(\.dn) == ["uid=a1,dc=t"])
        #expect(identity.events.map(\.type) == ["dev.rollcall.account.linked"])
        #expect(try store.identity("nobody") == nil)
    }

    @Test func failedRunsAreRecorded() throws {
        let store = try Store.open(path: path)
        try store.recordFailedRun(startedAt: Date(), finishedAt: Date(), error: "LDAP: size limit")
        let runs = try store.runs()
        #expect(runs.first?.status == "failed")
        #expect(runs.first?.error == "LDAP: size limit")
    }

    @Test func aStoreFromANewerRollcallIsRefused() throws {
        _ = try Store.open(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        do {
            _ = try Store.open(path: path)
            Issue.record("expected the newer store to be refused")
        } catch let error as StoreError {
            #expect(error.reason.contains("newer Rollcall"))
            #expect(error.reason.contains("v99-from-the-future"))
        }
    }

    @Test func accountsLinksAndCheckpointsArePerDirectory() throws {
        let store = try Store.open(path: path)
        // The same anchor in two directories is two accounts.
        let directories = [DirectoryInput(name: "ad", key: .employeeID, accounts: [Self.account("x", "E1")]),
                           DirectoryInput(name: "ldap", key: .employeeID, accounts: [Self.account("x", "E1"), Self.account("y", nil)])]
        var first = stamp()
        first.directories = [DirectoryRun(directory: "ad", read: "full", cookie: [1, 2], entries: 1),
                             DirectoryRun(directory: "ldap", read: "full", cookie: nil, entries: 2)]
        let (plan, _) = try run(store, [Self.record("E1")], directories, stamp: first)
        #expect(try store.loadState() == StoredState().applying(plan))
        #expect(try store.loadState().accounts.mapValues { $0.count } == ["ad": 1, "ldap": 2])
        let identity = try #require(try store.identity("E1"))
        #expect(identity.accounts.map(\.directory) == ["ad", "ldap"])
        // Orphan events of an account that later became the person's would be found by its anchor.
        #expect(identity.events.map(\.type) == ["dev.rollcall.account.linked", "dev.rollcall.account.linked"])

        var second = stamp()
        second.directories = [DirectoryRun(directory: "ad", read: "delta", cookie: [3], entries: 1),
                              DirectoryRun(directory: "ldap", read: "full", cookie: nil, entries: 2)]
        _ = try run(store, [Self.record("E1")], directories, stamp: second)
        let ad = try store.directoryCheckpoint("ad")
        #expect(ad.cookie == [3])
        #expect(ad.lastFullRead == first.finishedAt)
        #expect(try store.directoryCheckpoint("ldap").cookie == nil)
        #expect(try store.directoryCheckpoint("elsewhere").lastFullRead == nil)
        let runs = try store.runs()
        #expect(runs.first?.directoryRead == "mixed")
        #expect(runs.first?.directories.map(\.entries) == [1, 2])
    }

    @Test func aVersionTwoStoreMovesItsAccountsToTheDefaultDirectory() throws {
        // Build a store as the v2 schema left it: one run, one account, one link, a cookie.
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: "v2-directory-cookie")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO run (id, started_at, finished_at, status, directory_read, directory_cookie)
                VALUES (1, '2026-03-15T00:00:00Z', '2026-03-15T00:00:01Z', 'applied', 'full', x'0102');
                INSERT INTO person (employee_id, status, lifecycle, updated_run) VALUES ('E1', 'active', 'active', 1);
                INSERT INTO account (anchor, dn, correlation_value, attributes, orphan_reported, updated_run)
                VALUES ('a1', 'uid=a1,dc=t', 'E1', '{}', 0, 1);
                INSERT INTO link (employee_id, anchor, linked_run) VALUES ('E1', 'a1', 1);
                """)
        }
        try queue.close()
        let store = try Store.open(path: path)
        let state = try store.loadState()
        #expect(state.accounts["default"]?["a1"]?.dn == "uid=a1,dc=t")
        #expect(state.links == [Link(employeeID: "E1", directory: "default", anchor: "a1")])
        #expect(try store.directoryCheckpoint("default").cookie == [1, 2])
    }

    @Test func aConversionKeepsTheIdentityUnderTheNewIDAndTheOldOneFindsIt() throws {
        let store = try Store.open(path: path)
        var contractor = Self.record("C1")
        contractor.attributes.email = "ada@example.test"
        _ = try run(store, [contractor], [Self.account("a1", "C1")])
        var employee = Self.record("E1")
        employee.attributes.email = "ada@example.test"
        let plan = try Reconciler(conversionKey: .email).plan(records: [employee], directories: Self.ldap([Self.account("a1", "C1")]),
                                                              state: try store.loadState(), today: Self.today)
        _ = try store.apply(plan, stamp: stamp())
        #expect(try store.loadState() == StoredState().applying(try #require(try? Reconciler().plan(
            records: [contractor], directories: Self.ldap([Self.account("a1", "C1")]), state: StoredState(), today: Self.today))).applying(plan))
        let identity = try #require(try store.identity("C1"))
        #expect(identity.person.employeeID == "E1")
        #expect(identity.formerIDs == ["C1"])
        #expect(identity.accounts.map(\.anchor) == ["a1"])
        #expect(identity.events.map(\.type) == ["dev.rollcall.account.linked", "dev.rollcall.identity.converted"])
        #expect(try store.loadState().formerIDs == ["C1": "E1"])
    }

    /// Several processes (here: threads with their own connections) opening a new store at once:
    /// one creates and migrates it, the others wait and find it ready (this failed with "table
    /// already exists" and "database is locked" before the open lock).
    @Test func openingANewStoreConcurrentlyIsSafe() async throws {
        let path = self.path
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { _ = try Store.open(path: path) }
            }
            try await group.waitForAll()
        }
        #expect(try Store.open(path: path).loadState().persons.isEmpty)
    }

    @Test func walModeIsOn() throws {
        let store = try Store.open(path: path)
        let mode = try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }
}

extension StoredState: Equatable {
    public static func == (lhs: StoredState, rhs: StoredState) -> Bool {
        lhs.persons == rhs.persons && lhs.accounts == rhs.accounts && Set(lhs.links) == Set(rhs.links)
    }
}

extension DirectoryInput {
    /// One rule comparing `key` with the accounts' `correlationValue`.
    init(name: String, key: CorrelationKey, accounts: [DirectoryAccount]) {
        self.init(name: name, rules: [CorrelationRule(hrField: key, attribute: "employeeNumber")], accounts: accounts)
    }
}
