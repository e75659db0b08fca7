import Foundation
import GRDB
import RollcallCore

/// A webhook subscription's delivery state, as stored.
public struct WebhookState: Sendable, Codable, Hashable {
    public var name: String
    /// The last event delivered or given up; the next delivery is the first matching event after it.
    public var cursor: Int64
    /// Failed attempts at the event after the cursor.
    public var attempts: Int
    public var failingSince: String?
    public var nextAttemptAt: String?
    public var lastError: String?
    public var disabledAt: String?
    public var disabledReason: String?
    /// Events given up after the retry window.
    public var deadLetters: Int

    public init(name: String, cursor: Int64, attempts: Int = 0, failingSince: String? = nil, nextAttemptAt: String? = nil,
                lastError: String? = nil, disabledAt: String? = nil, disabledReason: String? = nil, deadLetters: Int = 0) {
        self.name = name
        self.cursor = cursor
        self.attempts = attempts
        self.failingSince = failingSince
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
        self.deadLetters = deadLetters
    }
}

/// A subscription added with `rollcall webhook add` (kept in the store, beside the configuration's).
public struct StoredWebhook: Sendable, Codable, Hashable {
    public var name: String
    public var url: String
    /// A path, or credential:NAME (resolved by the daemon in its $CREDENTIALS_DIRECTORY).
    public var secretFile: String
    public var types: [String]
    public var retryWindowHours: Double
    public var timeoutSeconds: Double
    public var createdAt: String
    public var createdBy: String

    public init(name: String, url: String, secretFile: String, types: [String], retryWindowHours: Double, timeoutSeconds: Double,
                createdAt: String = "", createdBy: String = "") {
        self.name = name
        self.url = url
        self.secretFile = secretFile
        self.types = types
        self.retryWindowHours = retryWindowHours
        self.timeoutSeconds = timeoutSeconds
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

extension Store {
    /// Adds a subscription, delivering the events after `startAfter` (nil: after the newest, i.e.
    /// from now on). Its state starts now, so nothing committed before the daemon sees it is
    /// missed. Audited (without the secret, which stays in its file).
    public func addWebhook(_ hook: StoredWebhook, startAfter: Int64?, by actor: String, at date: Date = Date()) throws {
        try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM webhook_subscription WHERE name = ?", arguments: [hook.name]) == true {
                throw StoreError(path: path, reason: "a webhook named \(hook.name) exists (rollcall webhook list)")
            }
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox") ?? 1
            let cursor = startAfter ?? newest
            guard cursor >= oldest - 1, cursor <= newest else {
                throw StoreError(path: path, reason: "--from must be between \(oldest) and \(newest + 1)")
            }
            let time = Timestamp.string(date)
            let types = CanonicalJSON.text(.array(hook.types.map { .string($0) }))
            try db.execute(sql: """
                INSERT INTO webhook_subscription (name, url, secret_file, types, retry_window_hours, timeout_seconds, created_at, created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [hook.name, hook.url, hook.secretFile, types, hook.retryWindowHours, hook.timeoutSeconds, time, actor])
            try db.execute(sql: "DELETE FROM webhook WHERE name = ?", arguments: [hook.name])
            try db.execute(sql: "INSERT INTO webhook (name, cursor) VALUES (?, ?)", arguments: [hook.name, cursor])
            try AuditChain.append([AuditDraft(action: "webhook.added", subject: "webhook \(hook.name)", detail: .object([
                "url": .string(hook.url), "types": .array(hook.types.map { .string($0) }), "from": .int(Int(cursor + 1)),
            ]))], actor: actor, runID: nil, at: time, db: db)
        }
    }

    /// Removes a subscription `webhook add` made: deliveries stop within seconds; its dead letters
    /// stay for `webhook list`. Audited.
    public func removeWebhook(_ name: String, by actor: String, at date: Date = Date()) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM webhook_subscription WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else { throw StoreError(path: path, reason: "no webhook named \(name) was added with rollcall webhook add") }
            try db.execute(sql: "DELETE FROM webhook WHERE name = ?", arguments: [name])
            let time = Timestamp.string(date)
            try AuditChain.append([AuditDraft(action: "webhook.removed", subject: "webhook \(name)", detail: .object([:]))],
                                  actor: actor, runID: nil, at: time, db: db)
        }
    }

    /// The subscriptions `webhook add` made, by name.
    public func storedWebhooks() throws -> [StoredWebhook] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_subscription ORDER BY name").map { row in
                let types = (try? JSONDecoder().decode([String].self, from: Data((row["types"] as String).utf8))) ?? []
                return StoredWebhook(name: row["name"], url: row["url"], secretFile: row["secret_file"], types: types,
                                     retryWindowHours: row["retry_window_hours"], timeoutSeconds: row["timeout_seconds"],
                                     createdAt: row["created_at"], createdBy: row["created_by"])
            }
        }
    }

    /// The subscription's state; a subscription seen for the first time starts after the newest
    /// event (a new receiver gets what happens from now on; `webhook replay` sends history).
    public func webhookState(_ name: String) throws -> WebhookState {
        try writer.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM webhook WHERE name = ?", arguments: [name]) == nil {
                let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
                try db.execute(sql: "INSERT INTO webhook (name, cursor) VALUES (?, ?)", arguments: [name, newest])
            }
            return try Store.webhookState(name, db: db)
        }
    }

    public func webhookStates() throws -> [WebhookState] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM webhook ORDER BY name").map { try Store.webhookState($0, db: db) }
        }
    }

    /// Delivered (or nothing to deliver up to `sequence`): the cursor moves on, the failure count resets.
    public func webhookDelivered(_ name: String, through sequence: Int64) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE webhook SET cursor = MAX(cursor, ?), attempts = 0, failing_since = NULL, next_attempt_at = NULL, last_error = NULL
                WHERE name = ?
                """, arguments: [sequence, name])
        }
    }

    /// Events that can no longer be delivered (removed by retention): the cursor moves past them
    /// and the reason stays as the last error, for `rollcall webhook list`.
    public func webhookSkipped(_ name: String, through sequence: Int64, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE webhook SET cursor = MAX(cursor, ?), attempts = 0, failing_since = NULL, next_attempt_at = NULL, last_error = ?
                WHERE name = ?
                """, arguments: [sequence, reason, name])
        }
    }

    /// A failed attempt at `sequence`: retried at `next`, or, past the window, given up (dead-lettered).
    public func webhookFailed(_ name: String, sequence: Int64, error: String, at date: Date, next: Date?, giveUp: Bool) throws {
        try writer.write { db in
            let time = Timestamp.string(date)
            if giveUp {
                try db.execute(sql: "INSERT OR REPLACE INTO webhook_dead_letter (name, seq, at, reason) VALUES (?, ?, ?, ?)",
                               arguments: [name, sequence, time, error])
                try db.execute(sql: """
                    UPDATE webhook SET cursor = MAX(cursor, ?), attempts = 0, failing_since = NULL, next_attempt_at = NULL, last_error = ?
                    WHERE name = ?
                    """, arguments: [sequence, error, name])
            } else {
                try db.execute(sql: """
                    UPDATE webhook SET attempts = attempts + 1, failing_since = COALESCE(failing_since, ?), next_attempt_at = ?, last_error = ?
                    WHERE name = ?
                    """, arguments: [time, next.map(Timestamp.string), error, name])
            }
        }
    }

    /// The receiver answered 410 Gone: nothing more is sent until `webhook replay`.
    public func webhookDisable(_ name: String, reason: String, at date: Date) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE webhook SET disabled_at = ?, disabled_reason = ? WHERE name = ?",
                           arguments: [Timestamp.string(date), reason, name])
        }
    }

    /// Sends again from after `sequence` (and re-enables a disabled subscription). Audited.
    public func webhookReplay(_ name: String, from sequence: Int64, by actor: String, at date: Date = Date()) throws {
        try writer.write { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox") ?? 1
            guard sequence >= oldest, sequence <= newest + 1 else {
                let removed = oldest > 1 ? " (events before \(oldest) were removed by retention)" : ""
                throw StoreError(path: path, reason: "--from must be between \(oldest) and \(newest + 1)\(removed)")
            }
            try db.execute(sql: "INSERT OR IGNORE INTO webhook (name, cursor) VALUES (?, ?)", arguments: [name, sequence - 1])
            try db.execute(sql: """
                UPDATE webhook SET cursor = ?, attempts = 0, failing_since = NULL, next_attempt_at = NULL, last_error = NULL,
                disabled_at = NULL, disabled_reason = NULL WHERE name = ?
                """, arguments: [sequence - 1, name])
            let time = Timestamp.string(date)
            try AuditChain.append([AuditDraft(action: "webhook.replay", subject: "webhook \(name)", detail: .object(["from": .int(Int(sequence))]))],
                                  actor: actor, runID: nil, at: time, db: db)
        }
    }

    static func webhookState(_ name: String, db: Database) throws -> WebhookState {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook WHERE name = ?", arguments: [name]) else {
            return WebhookState(name: name, cursor: 0, attempts: 0, deadLetters: 0)
        }
        let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhook_dead_letter WHERE name = ?", arguments: [name]) ?? 0
        return WebhookState(name: name, cursor: row["cursor"], attempts: row["attempts"], failingSince: row["failing_since"],
                            nextAttemptAt: row["next_attempt_at"], lastError: row["last_error"], disabledAt: row["disabled_at"],
                            disabledReason: row["disabled_reason"], deadLetters: dead)
    }
}
