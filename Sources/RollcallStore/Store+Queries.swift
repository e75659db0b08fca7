import Foundation
import GRDB
import RollcallCore

/// One row of the run history.
public struct RunRecord: Sendable, Codable, Hashable {
    public var id: Int64
    public var startedAt: String
    public var finishedAt: String?
    public var status: String
    /// full, delta or mixed (nil for failed runs).
    public var directoryRead: String?
    /// How each directory was read (empty for failed runs).
    public var directories: [DirectoryRun] = []
    public var summary: RunSummary?
    /// The run report: rejected rows (file:line and reason), ambiguous correlations.
    public var report: JSONValue?
    public var error: String?
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    /// Decisions the guard held back in this run, by status (pending, approved, rejected, dropped).
    public var held: [String: Int]?
}

/// Everything stored about one person and their accounts.
public struct IdentityRecord: Sendable, Codable {
    public var person: StoredPerson
    /// HR ids the person had before a conversion, oldest first.
    public var formerIDs: [String] = []
    /// The linked accounts, one per directory, ordered by directory name.
    public var accounts: [AccountView]
    public var events: [CloudEvent]
}

/// A stored account for display, its attributes decoded.
public struct AccountView: Sendable, Codable {
    public var directory: String
    public var anchor: String
    public var dn: String
    public var correlationValue: String?
    public var attributes: JSONValue
    public var orphanReported: Bool
    /// Enabled or disabled as last read (nil: the directory says nothing), and since which day.
    public var enabled: Bool?
    public var enabledSince: String?
    /// A state announced and still going on: still_enabled, disabled_externally.
    public var stateNotice: String?
}

extension Store {
    /// Outbox events with a sequence number above `after`, in order, rendered as CloudEvents.
    public func events(after: Int64 = 0, limit: Int = 1000) throws -> [CloudEvent] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
                .map { try Store.cloudEvent($0) }
        }
    }

    /// The person with this HR id, their linked accounts and the events about them; nil if unknown.
    public func identity(_ employeeID: String) throws -> IdentityRecord? {
        try writer.read { db in
            // A former id (before a conversion) finds the person under their current one.
            let current = try String.fetchOne(db, sql: "SELECT employee_id FROM person_alias WHERE former_id = ?", arguments: [employeeID])
            let employeeID = current ?? employeeID
            guard let row = try Row.fetchOne(db, sql: PersonColumns.selectSQL + " WHERE employee_id = ?", arguments: [employeeID]) else {
                return nil
            }
            let person = try PersonColumns.decode(row)
            let accounts = try Row.fetchAll(db, sql: """
                SELECT a.* FROM account a JOIN link l ON l.directory = a.directory AND l.anchor = a.anchor
                WHERE l.employee_id = ? ORDER BY a.directory
                """, arguments: [employeeID]).map { row in
                let attributes = try JSONDecoder().decode(JSONValue.self, from: Data((row["attributes"] as String).utf8))
                return AccountView(directory: row["directory"], anchor: row["anchor"], dn: row["dn"],
                                   correlationValue: row["correlation_value"], attributes: attributes,
                                   orphanReported: row["orphan_reported"], enabled: row["enabled"], enabledSince: row["enabled_since"],
                                   stateNotice: row["state_notice"])
            }
            // Events about the person (under former HR ids too), and about their accounts before
            // they were linked (orphaned).
            let former = try String.fetchAll(db, sql: "SELECT former_id FROM person_alias WHERE employee_id = ? ORDER BY run_id",
                                             arguments: [employeeID])
            let subjects = [employeeID] + former + accounts.map(\.anchor)
            let marks = Array(repeating: "?", count: subjects.count).joined(separator: ", ")
            let events = try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE subject IN (\(marks)) ORDER BY seq",
                                          arguments: StatementArguments(subjects))
                .map { try Store.cloudEvent($0) }
            return IdentityRecord(person: person, formerIDs: former, accounts: accounts, events: events)
        }
    }

    /// The most recent runs, newest first.
    public func runs(limit: Int = 20) throws -> [RunRecord] {
        try runs(sql: "SELECT * FROM run ORDER BY id DESC LIMIT ?", arguments: [limit])
    }

    /// The newest run with this status (applied, failed, quarantined), if any.
    public func lastRun(status: String) throws -> RunRecord? {
        try runs(sql: "SELECT * FROM run WHERE status = ? ORDER BY id DESC LIMIT 1", arguments: [status]).first
    }

    /// One run by id, or the newest when `id` is nil; nil when there is no such run.
    public func run(_ id: Int64?) throws -> RunRecord? {
        if let id {
            return try runs(sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).first
        }
        return try runs(limit: 1).first
    }

    private func runs(sql: String, arguments: StatementArguments) throws -> [RunRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let decoder = JSONDecoder()
                let summary = try (row["summary"] as String?).map { try decoder.decode(RunSummary.self, from: Data($0.utf8)) }
                let report = try (row["report"] as String?).map { try decoder.decode(JSONValue.self, from: Data($0.utf8)) }
                let directories = try Row.fetchAll(db, sql: """
                    SELECT directory, read, entries FROM run_directory WHERE run_id = ? ORDER BY directory
                    """, arguments: [row["id"] as Int64]).map { d in
                    DirectoryRun(directory: d["directory"], read: d["read"], cookie: nil, entries: d["entries"] ?? 0)
                }
                var held: [String: Int] = [:]
                for count in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM held_decision WHERE run_id = ? GROUP BY status",
                                              arguments: [row["id"] as Int64]) {
                    held[count[0] as String] = count[1] as Int
                }
                return RunRecord(id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"], status: row["status"],
                                 directoryRead: row["directory_read"], directories: directories, summary: summary, report: report,
                                 error: row["error"], firstSeq: row["first_seq"], lastSeq: row["last_seq"], held: held.isEmpty ? nil : held)
            }
        }
    }

    /// Where the next delta of one directory starts: the cookie its newest applied run stored, and
    /// when its newest applied full read finished (nil when there was none).
    /// SHA-256 (hex) of a text, e.g. a directory's search definition.
    public static func fingerprint(_ text: String) -> String { AuditChain.sha256(text) }

    public func directoryCheckpoint(_ directory: String) throws -> (cookie: [UInt8]?, lastFullRead: Date?, fingerprint: String?) {
        try writer.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT d.cookie, d.fingerprint FROM run_directory d JOIN run r ON r.id = d.run_id
                WHERE r.status = 'applied' AND d.directory = ? ORDER BY d.run_id DESC LIMIT 1
                """, arguments: [directory])
            let cookie: Data? = row?[0]
            let fingerprint: String? = row?[1]
            let full = try String.fetchOne(db, sql: """
                SELECT r.finished_at FROM run_directory d JOIN run r ON r.id = d.run_id
                WHERE r.status = 'applied' AND d.directory = ? AND d.read = 'full' ORDER BY d.run_id DESC LIMIT 1
                """, arguments: [directory])
            return (cookie.map { Array($0) }, full.flatMap(Timestamp.date), fingerprint)
        }
    }

    static func cloudEvent(_ row: Row) throws -> CloudEvent {
        let data = try JSONDecoder().decode(JSONValue.self, from: Data((row["data"] as String).utf8))
        return CloudEvent(id: row["id"], source: row["source"], type: row["type"], subject: row["subject"], time: row["time"],
                          rollcallseq: row["seq"], data: data)
    }
}
