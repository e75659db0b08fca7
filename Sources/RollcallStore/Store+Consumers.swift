import Crypto
import Foundation
import GRDB
import RollcallCore

/// A downstream consumer of the change feed.
/// Events after a cursor were removed by retention: the consumer must decide where to go on
/// (`rollcall consumer rewind NAME --to OLDEST-1`, or resynchronise).
public struct FeedGone: Error, Sendable {
    public var after: Int64
    /// The oldest sequence number still served.
    public var oldest: Int64

    public init(after: Int64, oldest: Int64) {
        self.after = after
        self.oldest = oldest
    }
}

public struct Consumer: Sendable, Codable, Hashable {
    public var name: String
    /// Event type prefixes it may read (empty: every type).
    public var types: [String]
    /// The last sequence number it acknowledged (0: none).
    public var cursor: Int64
    public var createdAt: String
    public var ackedAt: String?
    public var revokedAt: String?

    public var isRevoked: Bool { revokedAt != nil }

    /// Whether it may read events of this type.
    public func mayRead(_ type: String) -> Bool { types.isEmpty || types.contains { type.hasPrefix($0) } }
}

extension Store {
    /// Adds a consumer and returns its bearer token, the only time it is seen: only its SHA-256 is
    /// stored. Audited.
    public func addConsumer(_ name: String, types: [String], by actor: String, at date: Date = Date()) throws -> String {
        guard Name.isValid(name) else {
            throw StoreError(path: path, reason: "consumer name \"\(name)\" must be \(Name.rule)")
        }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let token = "rct_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let typesJSON = CanonicalJSON.text(.array(types.map { .string($0) }))
        try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM consumer WHERE name = ?", arguments: [name]) == true {
                throw StoreError(path: path, reason: "a consumer named \(name) exists (rollcall consumer list)")
            }
            let time = Timestamp.string(date)
            // A new consumer starts at the oldest event still kept (everything, when nothing was pruned).
            let start = max(0, (try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox") ?? 1) - 1)
            try db.execute(sql: "INSERT INTO consumer (name, token_hash, types, cursor, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, Store.tokenHash(token), typesJSON, start, time])
            try AuditChain.append([AuditDraft(action: "consumer.added", subject: "consumer \(name)",
                                              detail: .object(["types": .array(types.map { .string($0) })]))],
                                  actor: actor, runID: nil, at: time, db: db)
        }
        return token
    }

    /// Revokes a consumer: its token stops working at once. Audited.
    public func revokeConsumer(_ name: String, by actor: String, at date: Date = Date()) throws {
        try writer.write { db in
            let time = Timestamp.string(date)
            try db.execute(sql: "UPDATE consumer SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [time, name])
            guard db.changesCount == 1 else { throw StoreError(path: path, reason: "no active consumer named \(name)") }
            try AuditChain.append([AuditDraft(action: "consumer.revoked", subject: "consumer \(name)", detail: .object([:]))],
                                  actor: actor, runID: nil, at: time, db: db)
        }
    }

    /// Moves a consumer's cursor: forwards only (`ack`), or anywhere (`rewind`, audited).
    public func moveCursor(_ name: String, to sequence: Int64, rewind: Bool = false, by actor: String? = nil,
                           at date: Date = Date()) throws -> Consumer {
        try writer.write { db in
            guard let consumer = try Store.consumer(named: name, db: db), !consumer.isRevoked else {
                throw StoreError(path: path, reason: "no active consumer named \(name)")
            }
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            guard sequence >= 0, sequence <= newest else {
                throw StoreError(path: path, reason: "sequence \(sequence) is not between 0 and the newest event, \(newest)")
            }
            if let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox"), sequence < oldest - 1 {
                throw StoreError(path: path, reason: "events before \(oldest) were removed by retention; the earliest cursor is \(oldest - 1)")
            }
            guard rewind || sequence >= consumer.cursor else {
                throw StoreError(path: path, reason: "the cursor of \(name) is at \(consumer.cursor); it never moves backwards (rollcall consumer rewind)")
            }
            let time = Timestamp.string(date)
            try db.execute(sql: "UPDATE consumer SET cursor = ?, acked_at = ? WHERE name = ?", arguments: [sequence, time, name])
            if rewind {
                try AuditChain.append([AuditDraft(action: "consumer.rewound", subject: "consumer \(name)",
                                                  detail: .object(["from": .int(Int(consumer.cursor)), "to": .int(Int(sequence))]))],
                                      actor: actor ?? "rollcall", runID: nil, at: time, db: db)
            }
            var moved = consumer
            moved.cursor = sequence
            moved.ackedAt = time
            return moved
        }
    }

    public func consumers() throws -> [Consumer] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM consumer ORDER BY name").map(Store.consumer(_:))
        }
    }

    /// The active consumer holding this token; nil for an unknown or revoked one. The token's
    /// hash is looked up (a hash, not the token, so the lookup leaks nothing about other tokens)
    /// and compared again in constant time.
    public func consumer(token: String) throws -> Consumer? {
        let hash = Store.tokenHash(token)
        return try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM consumer WHERE token_hash = ?", arguments: [hash]) else { return nil }
            let stored: String = row["token_hash"]
            guard Store.constantTimeEqual(Array(stored.utf8), Array(hash.utf8)) else { return nil }
            let consumer = try Store.consumer(row)
            return consumer.isRevoked ? nil : consumer
        }
    }

    /// The newest sequence number in the outbox (0: none).
    public func newestSequence() throws -> Int64 {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0 }
    }

    /// The oldest event still in the outbox (nil: none). Sequence numbers start at 1 and have no
    /// gaps, so everything before it was removed by retention (`pruneOutbox`).
    public func oldestSequence() throws -> Int64? {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox") }
    }

    /// Up to `limit` events after `after` whose type starts with one of `types` (all when empty)
    /// and, when given, about `subject`; with the sequence number the page ends at (the newest
    /// sequence looked at, so that a consumer filtering types still moves on past others).
    /// Throws `FeedGone` when events after `after` were removed by retention: reading on would
    /// skip them silently.
    /// Each event comes rendered (`CloudEvent.line`, `thin`: without data), as the HTTP feed and
    /// the webhooks send it.
    public func feedLines(after: Int64, limit: Int, types: [String], subject: String?, thin: Bool) throws -> (events: [FeedEvent], through: Int64) {
        try writer.read { db in
            if let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox"), after < oldest - 1 {
                throw FeedGone(after: after, oldest: oldest)
            }
            var sql = "SELECT * FROM outbox WHERE seq > ?"
            var arguments: [any DatabaseValueConvertible] = [after]
            if let subject {
                sql += " AND subject = ?"
                arguments.append(subject)
            }
            if !types.isEmpty {
                sql += " AND (" + types.map { _ in "substr(type, 1, ?) = ?" }.joined(separator: " OR ") + ")"
                for prefix in types {
                    arguments.append(prefix.utf8.count)
                    arguments.append(prefix)
                }
            }
            sql += " ORDER BY seq LIMIT ?"
            arguments.append(limit)
            var events: [FeedEvent] = []
            events.reserveCapacity(min(limit, 1000))
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let seq: Int64 = row["seq"]
                let type: String = row["type"]
                let id: String = row["id"]
                let line = CloudEvent.line(id: id, source: row["source"], type: type, subject: row["subject"], time: row["time"], seq: seq,
                                           data: thin ? nil : row["data"] as String)
                events.append(FeedEvent(seq: seq, type: type, id: id, json: line))
            }
            // A short page has seen everything up to the newest event; a full one up to its last.
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            let through = events.count == limit ? (events.last?.seq ?? after) : max(after, newest)
            return (events, through)
        }
    }

    /// Removes events older than `retentionDays` (by their time) from the outbox, always keeping
    /// the newest (it carries the sequence the next event continues from). Audited as
    /// `outbox.pruned` with the range removed. Returns how many were removed.
    @discardableResult
    public func pruneOutbox(retentionDays: Int, now: Date = Date(), by actor: String = "rollcall") throws -> Int {
        let cutoff = Timestamp.string(now.addingTimeInterval(-Double(retentionDays) * 86_400))
        return try writer.write { db in
            guard let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox"),
                  let newest = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM outbox") else { return 0 }
            // Events are written in time order: the first one young enough ends the range. The scan
            // from the oldest costs what is removed, not the whole outbox.
            let keepFrom = try Int64.fetchOne(db, sql: "SELECT seq FROM outbox WHERE time >= ? ORDER BY seq LIMIT 1", arguments: [cutoff]) ?? newest
            guard keepFrom > oldest else { return 0 }
            try db.execute(sql: "DELETE FROM outbox WHERE seq < ?", arguments: [keepFrom])
            let removed = db.changesCount
            try AuditChain.append([AuditDraft(action: "outbox.pruned", subject: "outbox", detail: .object([
                "from": .int(Int(oldest)), "through": .int(Int(keepFrom - 1)), "events": .int(removed),
                "retention_days": .int(retentionDays),
            ]))], actor: actor, runID: nil, at: Timestamp.string(now), db: db)
            return removed
        }
    }

    static func consumer(named name: String, db: Database) throws -> Consumer? {
        try Row.fetchOne(db, sql: "SELECT * FROM consumer WHERE name = ?", arguments: [name]).map(consumer(_:))
    }

    static func consumer(_ row: Row) throws -> Consumer {
        let types = (try? JSONDecoder().decode([String].self, from: Data((row["types"] as String).utf8))) ?? []
        return Consumer(name: row["name"], types: types, cursor: row["cursor"], createdAt: row["created_at"],
                        ackedAt: row["acked_at"], revokedAt: row["revoked_at"])
    }

    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
