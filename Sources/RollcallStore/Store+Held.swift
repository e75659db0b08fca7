import Foundation
import GRDB
import RollcallCore

/// One decision the guard held, as stored.
public struct HeldRecord: Sendable, Codable, Hashable {
    public var id: Int64
    /// The run that held it (`rollcall approve RUN` decides it).
    public var runID: Int64
    public var decision: HeldDecision
    public var heldAt: String
    /// pending | approved | rejected | dropped
    public var status: String
    public var decidedBy: String?
    public var decidedAt: String?
    public var appliedRun: Int64?
}

extension Store {
    /// Inserts the decisions not already pending (the unique index on pending rows decides, inside
    /// the run's transaction); returns the ones newly held.
    func holdDecisions(_ decisions: [HeldDecision], runID: Int64, at time: String, db: Database) throws -> [HeldDecision] {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO held_decision (run_id, subject, directory, kind, data, held_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(subject, directory, kind) WHERE status = 'pending' DO NOTHING
            """)
        var newly: [HeldDecision] = []
        for decision in decisions {
            try insert.execute(arguments: [runID, decision.subject, decision.directory ?? "", decision.kind.rawValue,
                                           CanonicalJSON.text(decision.data), time])
            if db.changesCount == 1 { newly.append(decision) }
        }
        return newly
    }

    /// The data of the `run.quarantined` event of a run that held decisions back: the guard's
    /// verdict, what was held and how to decide it (the same keys as a quarantined first run's).
    static func heldEventData(runID: Int64, newly: [HeldDecision], verdict: JSONValue) -> JSONValue {
        var counts: [String: JSONValue] = [:]
        for decision in newly {
            let type = decision.kind.cloudEventType
            if case .int(let count)? = counts[type] { counts[type] = .int(count + 1) } else { counts[type] = .int(1) }
        }
        return decisionData(runID: runID, verdict: verdict, applied: true, digest: nil, held: newly.count, byType: counts)
    }

    /// The `run.quarantined` event's data. It names no person (a purge could not rewrite a list of
    /// HR ids): `rollcall runs --held` lists the held decisions.
    static func decisionData(runID: Int64, verdict: JSONValue, applied: Bool, digest: String?, held: Int,
                             byType: [String: JSONValue]) -> JSONValue {
        var data: [String: JSONValue] = [
            "run": .int(Int(runID)), "applied": .bool(applied), "plan_sha256": JSONValue(digest),
            "held": .int(held), "held_by_type": .object(byType),
            "approve": .string("rollcall approve \(runID)"), "reject": .string("rollcall reject \(runID)"),
        ]
        if case .object(let fields) = verdict { for (key, value) in fields { data[key] = value } }
        return .object(data)
    }

    /// Marks an approval's decisions: those applied now approved, those no longer true dropped.
    func decideHeld(run: Int64, applied: [HeldDecision], dropped: [HeldDecision], by actor: String, at time: String,
                    appliedRun: Int64, db: Database) throws {
        // Applied: that decision pending in any run (the person's whole part was applied now).
        let approve = try db.cachedStatement(sql: """
            UPDATE held_decision SET status = 'approved', decided_by = ?, decided_at = ?, applied_run = ?
            WHERE subject = ? AND directory = ? AND kind = ? AND status = 'pending'
            """)
        for decision in applied {
            try approve.execute(arguments: [actor, time, appliedRun, decision.subject, decision.directory ?? "", decision.kind.rawValue])
        }
        let drop = try db.cachedStatement(sql: """
            UPDATE held_decision SET status = 'dropped', decided_by = ?, decided_at = ?
            WHERE run_id = ? AND subject = ? AND directory = ? AND kind = ? AND status = 'pending'
            """)
        for decision in dropped {
            try drop.execute(arguments: [actor, time, run, decision.subject, decision.directory ?? "", decision.kind.rawValue])
        }
    }

    /// Held decisions, pending first then newest (of one run, or all).
    public func heldDecisions(run: Int64? = nil, pendingOnly: Bool = false) throws -> [HeldRecord] {
        try writer.read { db in
            var sql = "SELECT id, run_id, subject, directory, kind, data, held_at, status, decided_by, decided_at, applied_run FROM held_decision"
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let run {
                conditions.append("run_id = ?")
                arguments += [run]
            }
            if pendingOnly { conditions.append("status = 'pending'") }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY status != 'pending', id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                guard let kind = EventKind(rawValue: row[4]) else { return nil }
                let data = (try? JSONDecoder().decode(JSONValue.self, from: Data((row[5] as String).utf8))) ?? .null
                let directory: String = row[3]
                return HeldRecord(id: row[0], runID: row[1],
                                  decision: HeldDecision(subject: row[2], directory: directory.isEmpty ? nil : directory, kind: kind, data: data),
                                  heldAt: row[6], status: row[7], decidedBy: row[8], decidedAt: row[9], appliedRun: row[10])
            }
        }
    }

    /// Drops a run's pending held decisions (`rollcall reject RUN`), with who and why in the audit log.
    /// Returns how many were pending.
    @discardableResult
    public func rejectHeld(run: Int64, by actor: String, reason: String?, at date: Date) throws -> Int {
        try writer.write { db in
            let time = Timestamp.string(date)
            try db.execute(sql: """
                UPDATE held_decision SET status = 'rejected', decided_by = ?, decided_at = ? WHERE run_id = ? AND status = 'pending'
                """, arguments: [actor, time, run])
            let count = db.changesCount
            guard count > 0 else { throw StoreError(path: path, reason: "run \(run) holds no pending decisions") }
            try AuditChain.append([AuditDraft(action: "admin.reject", subject: "run \(run)",
                                              detail: .object(["reason": JSONValue(reason), "held_decisions": .int(count)]))],
                                  actor: actor, runID: run, at: time, db: db)
            return count
        }
    }
}
