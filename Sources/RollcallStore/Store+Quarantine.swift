import Foundation
import GRDB
import RollcallCore

/// A run the mass-change guard stopped: its plan, waiting for an operator.
public struct QuarantinedRun: Sendable {
    public var runID: Int64
    public var plan: Plan
    /// SHA-256 of the plan's JSON: an approval applies it only if a new plan has the same digest.
    public var digest: String
    public var basedOn: Int64
    /// pending | approved | rejected
    public var status: String
    public var verdict: JSONValue
}

extension Store {
    /// The digest of a plan: SHA-256 of its JSON with sorted keys (plans are deterministic).
    public static func digest(_ plan: Plan) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return AuditChain.sha256(String(decoding: try encoder.encode(plan), as: UTF8.self))
    }

    /// Records a quarantined run in one transaction: the run (status `quarantined`), its plan, a
    /// `run.quarantined` event and the audit entries. No state is changed.
    @discardableResult
    public func quarantine(_ plan: Plan, stamp: RunStamp, verdict: JSONValue) throws -> AppliedRun {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let planJSON = String(decoding: try encoder.encode(plan), as: UTF8.self)
        let digest = AuditChain.sha256(planJSON)
        let summary = String(decoding: try CloudEvent.encoder.encode(plan.summary), as: UTF8.self)
        let time = Timestamp.string(stamp.finishedAt)
        var reasons = ""
        if case .array(let items)? = verdict["reasons"] { reasons = items.compactMap(\.stringValue).joined(separator: "; ") }
        let why = "quarantined by the mass-change guard: \(reasons)"
        return try writer.write { db in
            try db.execute(sql: """
                INSERT INTO run (started_at, finished_at, status, summary, report, directory_read, error)
                VALUES (?, ?, 'quarantined', ?, ?, ?, ?)
                """, arguments: [Timestamp.string(stamp.startedAt), time, summary, stamp.report, stamp.directoryRead, why])
            let runID = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO quarantine (run_id, plan, digest, based_on, verdict, status) VALUES (?, ?, ?, ?, ?, 'pending')
                """, arguments: [runID, planJSON, digest, stamp.basedOn ?? 0, CanonicalJSON.text(verdict)])
            let data = Store.decisionData(runID: runID, verdict: verdict, applied: false, digest: digest, held: plan.events.count,
                                          byType: [:])
            let seq = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0) + 1
            let id = UUID().uuidString.lowercased()
            let text = CanonicalJSON.text(data)
            try db.execute(sql: "INSERT INTO outbox (seq, id, run_id, source, type, subject, time, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [seq, id, runID, stamp.eventSource, EventKind.quarantined.cloudEventType, "run \(runID)", time, text])
            try db.execute(sql: "UPDATE run SET first_seq = ?, last_seq = ? WHERE id = ?", arguments: [seq, seq, runID])
            try AuditChain.append([
                AuditDraft(action: "run.quarantined", subject: "run \(runID)", detail: data),
                AuditDraft(action: "event", subject: "run \(runID)", detail: .object([
                    "seq": .int(Int(seq)), "id": .string(id), "type": .string(EventKind.quarantined.cloudEventType),
                    "data_sha256": .string(AuditChain.sha256(text)),
                ])),
            ], actor: stamp.actor, runID: runID, at: time, db: db)
            return AppliedRun(runID: runID, firstSeq: seq, lastSeq: seq)
        }
    }

    /// A pending quarantined run whose plan has this digest (the same plan quarantined before).
    public func pendingQuarantine(digest: String) throws -> Int64? {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT run_id FROM quarantine WHERE status = 'pending' AND digest = ? ORDER BY run_id DESC LIMIT 1",
                               arguments: [digest])
        }
    }

    public func quarantined(_ runID: Int64) throws -> QuarantinedRun? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT plan, digest, based_on, status, verdict FROM quarantine WHERE run_id = ?",
                                             arguments: [runID]) else { return nil }
            let text: String = row[0]
            // The stored plan must still be the one its digest was taken of: a plan changed in the
            // store (its digest left alone) is never what an approval applies.
            guard AuditChain.sha256(text) == (row[1] as String) else {
                throw StoreError(path: path, reason: "the stored plan of run \(runID) does not match its digest: it was changed in the store; nothing was applied (reject it and reconcile for a new plan)")
            }
            let plan = try JSONDecoder().decode(Plan.self, from: Data(text.utf8))
            let verdict = try JSONDecoder().decode(JSONValue.self, from: Data((row[4] as String).utf8))
            return QuarantinedRun(runID: runID, plan: plan, digest: row[1], basedOn: row[2], status: row[3], verdict: verdict)
        }
    }

    /// Marks a pending quarantined run rejected, with who and why, in the audit log too.
    public func rejectQuarantined(_ runID: Int64, by actor: String, reason: String?, at date: Date) throws {
        try writer.write { db in
            let status = try String.fetchOne(db, sql: "SELECT status FROM quarantine WHERE run_id = ?", arguments: [runID])
            guard let status else { throw StoreError(path: path, reason: "run \(runID) was not quarantined") }
            guard status == "pending" else { throw StoreError(path: path, reason: "run \(runID) was already \(status)") }
            let time = Timestamp.string(date)
            try db.execute(sql: "UPDATE quarantine SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ? WHERE run_id = ?",
                           arguments: [actor, time, reason, runID])
            try AuditChain.append([AuditDraft(action: "admin.reject", subject: "run \(runID)", detail: .object(["reason": JSONValue(reason)]))],
                                  actor: actor, runID: runID, at: time, db: db)
        }
    }

    /// Appends audit entries of an operator's action that changed nothing else (e.g. a refused approval).
    public func recordAdminAction(_ drafts: [AuditDraft], by actor: String, runID: Int64?, at date: Date) throws {
        try writer.write { db in try AuditChain.append(drafts, actor: actor, runID: runID, at: Timestamp.string(date), db: db) }
    }

    /// Persons per HR source (from the run report) and accounts per directory at the newest applied
    /// run that had them: what the guard compares this run's sizes with.
    public func lastSizes() throws -> (sources: [String: Int], directories: [String: Int]) {
        try writer.read { db in
            var directories: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT d.directory, d.entries FROM run_directory d JOIN run r ON r.id = d.run_id
                WHERE r.status = 'applied' AND d.run_id = (SELECT MAX(d2.run_id) FROM run_directory d2 JOIN run r2 ON r2.id = d2.run_id
                                                          WHERE r2.status = 'applied' AND d2.directory = d.directory)
                """) {
                directories[row[0] as String] = row[1] as Int
            }
            var sources: [String: Int] = [:]
            // Only the counts are taken out of each report (reports can list thousands of warnings).
            let reports = try String.fetchCursor(db, sql: """
                SELECT json_extract(report, '$.persons_by_source') FROM run
                WHERE status = 'applied' AND json_valid(report) AND json_extract(report, '$.persons_by_source') IS NOT NULL
                ORDER BY id DESC LIMIT 50
                """)
            while let text = try reports.next() {
                guard case .object(let counts)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
                for (name, value) in counts where sources[name] == nil {
                    if case .int(let count) = value { sources[name] = count }
                }
            }
            return (sources, directories)
        }
    }
}
