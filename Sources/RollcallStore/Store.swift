import Foundation
import GRDB
import RollcallCore

/// The identity store: one SQLite file in WAL mode, opened through GRDB.
///
/// Each write method is one transaction that leaves the data consistent: a run's state changes,
/// its outbox events and its run record are written together or not at all.
public struct Store: Sendable {
    let writer: any DatabaseWriter
    public let path: String

    /// Opens (creating if needed) the store and runs pending migrations.
    public static func open(path: String) throws -> Store {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw StoreError(path: path, reason: "the directory \(directory) does not exist")
        }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try checkNotNewer(pool, path: path)
            try Schema.migrator.migrate(pool)
            return Store(writer: pool, path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, reason: "cannot open: \(error)")
        }
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

    /// Everything Core needs to diff against.
    public func loadState() throws -> StoredState {
        try writer.read { db in
            var state = StoredState()
            let persons = try Row.fetchCursor(db, sql: "SELECT * FROM person")
            while let row = try persons.next() {
                let person = try PersonColumns.decode(row)
                state.persons[person.employeeID] = person
            }
            let decoder = JSONDecoder()
            let accounts = try Row.fetchCursor(db, sql: "SELECT anchor, dn, correlation_value, attributes, orphan_reported FROM account")
            while let row = try accounts.next() {
                let attributes = try decoder.decode([String: [String]].self, from: Data((row["attributes"] as String).utf8))
                let account = DirectoryAccount(anchor: row["anchor"], dn: row["dn"],
                                               correlationValue: row["correlation_value"], attributes: attributes)
                state.accounts[account.anchor] = StoredAccount(account: account, orphanReported: row["orphan_reported"])
            }
            state.links = try Row.fetchAll(db, sql: "SELECT employee_id, anchor FROM link").map {
                Link(employeeID: $0["employee_id"], anchor: $0["anchor"])
            }
            return state
        }
    }
}
