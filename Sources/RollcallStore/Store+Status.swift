import Foundation
import GRDB
import RollcallCore

/// What `rollcall status` says about the store: the last runs by outcome, each directory's last
/// read and how old its delta cookie is, what waits for an operator.
public struct StoreStatus: Sendable, Codable {
    public struct Directory: Sendable, Codable {
        public var name: String
        /// full or delta, as last read by an applied run.
        public var lastRead: String
        public var lastReadAt: String
        /// When the cookie the next delta continues from was taken (nil: no cookie, full reads).
        public var cookieAt: String?
        public var accounts: Int
    }

    public var lastApplied: RunRecord?
    public var lastFailed: RunRecord?
    public var directories: [Directory] = []
    /// Decisions the guard holds back, and the oldest one's time.
    public var heldDecisions = 0
    public var oldestHeldAt: String?
    /// First runs waiting for approval.
    public var quarantinedRuns: [Int64] = []
    public var persons = 0
    public var events = 0
}

extension Store {
    public func status() throws -> StoreStatus {
        var status = StoreStatus()
        status.lastApplied = try lastRun(status: "applied")
        status.lastFailed = try lastRun(status: "failed")
        return try writer.read { db in
            for row in try Row.fetchAll(db, sql: """
                SELECT d.directory, d.read, d.entries, r.finished_at,
                       (SELECT r2.finished_at FROM run_directory d2 JOIN run r2 ON r2.id = d2.run_id
                        WHERE d2.directory = d.directory AND r2.status = 'applied' AND d2.cookie IS NOT NULL
                        ORDER BY d2.run_id DESC LIMIT 1) AS cookie_at
                FROM run_directory d JOIN run r ON r.id = d.run_id
                WHERE r.status = 'applied' AND d.run_id = (SELECT MAX(d3.run_id) FROM run_directory d3 JOIN run r3 ON r3.id = d3.run_id
                                                          WHERE r3.status = 'applied' AND d3.directory = d.directory)
                ORDER BY d.directory
                """) {
                status.directories.append(.init(name: row[0], lastRead: row[1], lastReadAt: row[3], cookieAt: row[4], accounts: row[2] ?? 0))
            }
            status.heldDecisions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM held_decision WHERE status = 'pending'") ?? 0
            status.oldestHeldAt = try String.fetchOne(db, sql: "SELECT MIN(held_at) FROM held_decision WHERE status = 'pending'")
            status.quarantinedRuns = try Int64.fetchAll(db, sql: "SELECT run_id FROM quarantine WHERE status = 'pending' ORDER BY run_id")
            status.persons = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") ?? 0
            status.events = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            return status
        }
    }
}
