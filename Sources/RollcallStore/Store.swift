import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import RollcallCore

/// The identity store: one SQLite file in WAL mode, opened through GRDB.
///
/// Each write method is one transaction that leaves the data consistent: a run's state changes,
/// its outbox events and its run record are written together or not at all.
public struct Store: Sendable {
    let writer: any DatabaseWriter
    public let path: String

    /// Opens the store and runs pending migrations; with `create` (commands that write) a missing
    /// store is created, without it (commands that only read) a missing or older store is an error
    /// and nothing is written. A store owned by another user is refused either way: SQLite creates
    /// files beside it (-wal, -shm) that would then belong to this user and lock the service out.
    public static func open(path: String, create: Bool = true) throws -> Store {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw StoreError(path: path, reason: "the directory \(directory) does not exist")
        }
        var status = stat()
        if stat(path, &status) == 0 {
            try checkOwner(path, owner: status.st_uid)
        } else if !create {
            throw StoreError(path: path, reason: "there is no store here yet (the first `rollcall reconcile` or `rollcall serve` creates it); nothing was created")
        }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // 64 MiB page cache per connection: a 100 k-person run touches several indexes with
                // random keys (UUID anchors and event ids), which thrash SQLite's 2 MiB default.
                try db.execute(sql: "PRAGMA cache_size = -65536")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Deleted rows are overwritten, not left in free space (a purge must leave no
                // trace in the file). Debian's SQLite does this by default; not every build does.
                try db.execute(sql: "PRAGMA secure_delete = ON")
            }
            // Two processes opening a store at once (a timer's reconcile and an operator's command)
            // must not both create or migrate it: the second waits on a lock file for the first.
            return try withFileLock(path + ".open-lock") {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try checkNotNewer(pool, path: path)
                if create {
                    try Schema.migrator.migrate(pool)
                } else if try pool.read({ db in try !Schema.migrator.hasCompletedMigrations(db) }) {
                    throw StoreError(path: path, reason: "was written by an older Rollcall and needs its upgrade, which this command does not do: run `rollcall reconcile` or start the service")
                }
                return Store(writer: pool, path: path)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, reason: "cannot open: \(error)")
        }
    }

    /// The store belongs to the user Rollcall runs as; anyone else (root included) is told to
    /// run as its owner.
    static func checkOwner(_ path: String, owner: uid_t) throws {
        let me = geteuid()
        guard owner != me else { return }
        let name = getpwuid(owner).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "uid \(owner)"
        throw StoreError(path: path, reason: "belongs to \(name) (uid \(owner)), not to this user (uid \(me)): run the command as its owner "
                         + "(sudo -u \(name) rollcall ...), so that the files SQLite makes beside it stay \(name)'s")
    }

    /// Runs `body` holding an exclusive advisory lock (flock) on `file`, created if needed.
    private static func withFileLock<T>(_ file: String, _ body: () throws -> T) throws -> T {
        let descriptor = Glibc.open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError(path: file, reason: "cannot create the lock file (errno \(errno))") }
        defer { Glibc.close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError(path: file, reason: "cannot take the lock (errno \(errno))") }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    /// A store written by a newer Rollcall has migrations this build does not know: refuse it.
    private static func checkNotNewer(_ pool: DatabasePool, path: String) throws {
        let unknown = try pool.read { db in
            try Schema.migrator.appliedIdentifiers(db).subtracting(Schema.migrator.migrations)
        }
        if !unknown.isEmpty {
            throw StoreError(path: path, reason: "it was written by a newer Rollcall (unknown migrations: \(unknown.sorted().joined(separator: ", "))); upgrade Rollcall or restore a backup")
        }
    }

    static func newestAppliedRun(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM run WHERE status = 'applied'") ?? 0
    }

    /// Everything Core needs to diff against.
    /// The newest applied run's id (0: none yet), without loading the state.
    public func newestAppliedRunID() throws -> Int64 {
        try writer.read { db in try Store.newestAppliedRun(db) }
    }

    /// The audit log's newest sequence number: every change to the store (a run, an approval, a
    /// rejection, an operator's action) appends to it, so an unchanged number means an unchanged
    /// store (the daemon's state kept between live changes is still the store's).
    public func auditGeneration() throws -> Int64 {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM audit") ?? 0 }
    }

    public func loadState() throws -> StoredState {
        try writer.read { db in
            var state = StoredState()
            state.version = try Store.newestAppliedRun(db)
            state.persons.reserveCapacity(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") ?? 0)
            let persons = try Row.fetchCursor(db, sql: PersonColumns.selectSQL)
            while let row = try persons.next() {
                let person = try PersonColumns.decode(row)
                state.persons[person.employeeID] = person
            }
            let counts = try Row.fetchAll(db, sql: "SELECT directory, COUNT(*) FROM account GROUP BY directory")
            for row in counts {
                state.accounts[row[0] as String, default: [:]].reserveCapacity(row[1])
            }
            let accounts = try Row.fetchCursor(db, sql: """
                SELECT directory, anchor, dn, correlation_value, attributes, orphan_reported, correlation_more,
                       enabled, enabled_since, state_notice FROM account
                """)
            while let row = try accounts.next() {
                let since: String? = row[8]
                let notice: String? = row[9]
                let account = StoredAccount(directory: row[0], anchor: row[1], dn: row[2], correlationValue: row[3],
                                            moreCorrelationValues: CorrelationMore.values(row[6]),
                                            attributesJSON: row[4], orphanReported: row[5], enabled: row[7],
                                            enabledSince: since.flatMap { Day(iso: $0) }, stateNotice: notice.flatMap(AccountStateNotice.init(rawValue:)))
                state.accounts[account.directory, default: [:]][account.anchor] = account
            }
            let disputes = try Row.fetchCursor(db, sql: "SELECT employee_id, directory, anchors FROM dispute")
            while let row = try disputes.next() {
                state.disputes[row[0] as String, default: [:]][row[1] as String] = CorrelationMore.values(row[2]).compactMap { $0 }
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, group_dn, action FROM entitlement_notice") {
                if let action = EntitlementNotice.Action(rawValue: row[2]) {
                    state.entitlementNotices[row[0] as String, default: [:]][row[1] as String] = action
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, directory, attribute, actual FROM drift_notice") {
                state.driftNotices[row[0] as String, default: [:]]["\(row[1] as String) \(row[2] as String)"] = row[3] as String
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, rule FROM violation_notice") {
                state.violationNotices[row[0] as String, default: []].insert(row[1] as String)
            }
            for row in try Row.fetchAll(db, sql: "SELECT directory, group_key, dn FROM privileged_group") {
                state.privileged[row[0] as String, default: [:]][row[1] as String] = PrivilegedGroupState(dn: row[2], members: [:])
            }
            for row in try Row.fetchAll(db, sql: "SELECT directory, group_key, member_key, member_dn FROM privileged_member") {
                state.privileged[row[0] as String]?[row[1] as String]?.members[row[2] as String] = row[3] as String
            }
            state.memberships = try History.openMemberships(db)
            for row in try Row.fetchAll(db, sql: "SELECT directory, group_key, member_key FROM unauthorised_notice") {
                state.privilegedNotices.insert(PrivilegedMembership(directory: row[0], group: row[1], member: row[2]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, directory, anchor FROM proposal") {
                state.proposals[row[0] as String, default: [:]][row[1] as String] = row[2] as String
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, reason, by, since FROM hold") {
                let hold = Hold(employeeID: row[0], reason: row[1], by: row[2], since: row[3])
                state.holds[hold.employeeID] = hold
            }
            for pseudonym in try String.fetchAll(db, sql: "SELECT pseudonym FROM tombstone") {
                state.tombstones.insert(pseudonym)
            }
            for row in try Row.fetchAll(db, sql: "SELECT subject, directory, kind, data FROM held_decision WHERE status = 'pending' ORDER BY id") {
                guard let kind = EventKind(rawValue: row[2]) else { continue }
                let data = (try? JSONDecoder().decode(JSONValue.self, from: Data((row[3] as String).utf8))) ?? .null
                let directory: String = row[1]
                state.held.append(HeldDecision(subject: row[0], directory: directory.isEmpty ? nil : directory, kind: kind, data: data))
            }
            for row in try Row.fetchAll(db, sql: "SELECT employee_id, former_id, convert FROM conversion_decision") {
                let decision = ConversionDecision(employeeID: row[0], formerID: row[1], convert: row[2])
                state.conversionDecisions[decision.employeeID] = decision
            }
            for row in try Row.fetchAll(db, sql: "SELECT former_id, employee_id FROM person_alias") {
                state.formerIDs[row[0] as String] = row[1] as String
            }
            let links = try Row.fetchCursor(db, sql: "SELECT employee_id, directory, anchor FROM link")
            while let row = try links.next() {
                state.links.append(Link(employeeID: row[0], directory: row[1], anchor: row[2]))
            }
            return state
        }
    }
}
