import Foundation
import GRDB
import RollcallCore

/// One row of the run history.
public struct RunRecord: Sendable, Codable, Hashable {
    public var id: Int64
    public var startedAt: String
    public var finishedAt: String?
    public var status: String
    /// full or delta (nil for failed runs).
    public var directoryRead: String?
    public var summary: RunSummary?
    /// The run report: rejected rows (file:line and reason), ambiguous correlations.
    public var report: JSONValue?
    public var error: String?
    public var firstSeq: Int64?
    public var lastSeq: Int64?
}

/// Everything stored about one person and their account.
public struct IdentityRecord: Sendable, Codable {
    public var person: StoredPerson
    public var account: AccountView?
    public var events: [CloudEvent]
}

/// A stored account for display, its attributes decoded.
public struct AccountView: Sendable, Codable {
    public var anchor: String
    public var dn: String
    public var correlationValue: String?
    public var attributes: JSONValue
    public var orphanReported: Bool
}

extension Store {
    /// Outbox events with a sequence number above `after`, in order, rendered as CloudEvents.
    public func events(after: Int64 = 0, limit: Int = 1000) throws -> [CloudEvent] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
                .map { try Store.cloudEvent($0) }
        }
    }

    /// The person with this HR id, their linked account and the events about them; nil if unknown.
    public func identity(_ employeeID: String) throws -> IdentityRecord? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: PersonColumns.selectSQL + " WHERE employee_id = ?", arguments: [employeeID]) else {
                return nil
            }
            let person = try PersonColumns.decode(row)
            var account: AccountView?
            if let row = try Row.fetchOne(db, sql: """
                SELECT a.* FROM account a JOIN link l ON l.anchor = a.anchor WHERE l.employee_id = ?
                """, arguments: [employeeID]) {
                let attributes = try JSONDecoder().decode(JSONValue.self, from: Data((row["attributes"] as String).utf8))
                account = AccountView(anchor: row["anchor"], dn: row["dn"], correlationValue: row["correlation_value"],
                                      attributes: attributes, orphanReported: row["orphan_reported"])
            }
            let events = try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE subject = ? OR subject = ? ORDER BY seq",
                                          arguments: [employeeID, account?.anchor ?? ""])
                .map { try Store.cloudEvent($0) }
            return IdentityRecord(person: person, account: account, events: events)
        }
    }

    /// The most recent runs, newest first.
    public func runs(limit: Int = 20) throws -> [RunRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                let decoder = JSONDecoder()
                let summary = try (row["summary"] as String?).map { try decoder.decode(RunSummary.self, from: Data($0.utf8)) }
                let report = try (row["report"] as String?).map { try decoder.decode(JSONValue.self, from: Data($0.utf8)) }
                return RunRecord(id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"], status: row["status"],
                                 directoryRead: row["directory_read"], summary: summary, report: report, error: row["error"], firstSeq: row["first_seq"],
                                 lastSeq: row["last_seq"])
            }
        }
    }

    /// Where the next directory delta starts: the cookie of the newest applied run, and when the
    /// newest applied full read finished (nil when there was none).
    public func directoryCheckpoint() throws -> (cookie: [UInt8]?, lastFullRead: Date?) {
        try writer.read { db in
            let cookie = try Data.fetchOne(db, sql: """
                SELECT directory_cookie FROM run WHERE status = 'applied' ORDER BY id DESC LIMIT 1
                """)
            let full = try String.fetchOne(db, sql: """
                SELECT finished_at FROM run WHERE status = 'applied' AND directory_read = 'full' ORDER BY id DESC LIMIT 1
                """)
            return (cookie.map { Array($0) }, full.flatMap(Timestamp.date))
        }
    }

    static func cloudEvent(_ row: Row) throws -> CloudEvent {
        let data = try JSONDecoder().decode(JSONValue.self, from: Data((row["data"] as String).utf8))
        return CloudEvent(id: row["id"], source: row["source"], type: row["type"], subject: row["subject"], time: row["time"],
                          rollcallseq: row["seq"], data: data)
    }
}
