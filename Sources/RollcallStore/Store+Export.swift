import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import RollcallCore

extension Store {
    /// Everything stored about one person, for a subject access request: the person, former ids,
    /// linked accounts with their attributes, operator hold, open proposals and disputes, what was
    /// announced and not yet done (entitlements, violations, drift), decisions the guard held and
    /// conversion decisions about them, every event about them (by
    /// subject, by `data.hr_id`, or about their accounts) and every audit entry about them.
    /// nil when no such person is stored (a purged person's data is gone).
    public func identityExport(_ employeeID: String) throws -> JSONValue? {
        guard let identity = try identity(employeeID) else { return nil }
        let id = identity.person.employeeID
        return try writer.read { db in
            func rows(_ sql: String, _ arguments: StatementArguments = [id]) throws -> [JSONValue] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    var object: [String: JSONValue] = [:]
                    for (column, value) in row {
                        object[column] = switch value.storage {
                        case .null: .null
                        case .int64(let number): .int(Int(number))
                        case .double(let number): .string(String(number))
                        case .string(let text): .string(text)
                        case .blob: .string("(binary)")
                        }
                    }
                    return .object(object)
                }
            }
            let ids = [id] + identity.formerIDs
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let anchors = identity.accounts.map(\.anchor)
            let anchorMarks = Array(repeating: "?", count: max(anchors.count, 1)).joined(separator: ", ")
            let events = try Row.fetchAll(db, sql: """
                SELECT * FROM outbox WHERE subject IN (\(marks)) OR json_extract(data, '$.hr_id') IN (\(marks)) OR subject IN (\(anchorMarks))
                ORDER BY seq
                """, arguments: StatementArguments(ids + ids + (anchors.isEmpty ? [""] : anchors)))
                .map { try Store.cloudEvent($0) }
            let encoder = JSONEncoder()
            let eventValues = try events.map { try JSONDecoder().decode(JSONValue.self, from: encoder.encode($0)) }
            var audit: [JSONValue] = []
            for row in try Row.fetchAll(db, sql: "SELECT seq, at, actor, action, subject, content FROM audit WHERE hr_id IN (\(marks)) ORDER BY seq",
                                        arguments: StatementArguments(ids)) {
                let detail = try (row["content"] as String?).map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))["detail"] ?? .null }
                audit.append(.object(["seq": .int(Int(row["seq"] as Int64)), "at": .string(row["at"]), "actor": .string(row["actor"]),
                                      "action": .string(row["action"]), "subject": .string(row["subject"]), "detail": detail ?? .null]))
            }
            let person = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(identity.person))
            let accounts = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(identity.accounts))
            return .object([
                "hr_id": .string(id),
                "former_ids": .array(identity.formerIDs.map(JSONValue.string)),
                "person": person,
                "accounts": accounts,
                "hold": try rows("SELECT reason, by, since FROM hold WHERE employee_id = ?").first ?? .null,
                "proposals": .array(try rows("SELECT directory, anchor FROM proposal WHERE employee_id = ?")),
                "disputes": .array(try rows("SELECT directory, anchors FROM dispute WHERE employee_id = ?")),
                "entitlement_notices": .array(try rows("SELECT group_dn, action FROM entitlement_notice WHERE employee_id = ?")),
                "violation_notices": .array(try rows("SELECT rule FROM violation_notice WHERE employee_id = ?")),
                "drift_notices": .array(try rows("SELECT directory, attribute, actual FROM drift_notice WHERE employee_id = ?")),
                "held_decisions": .array(try rows("""
                    SELECT run_id, kind, data, held_at, status, decided_by, decided_at FROM held_decision WHERE directory = '' AND subject = ?
                    """)),
                "conversion_decisions": .array(try rows("SELECT employee_id, former_id, convert FROM conversion_decision WHERE employee_id = ? OR former_id = ?",
                                                        [id, id])),
                // Access history: what they were and held, and the access reviews about them.
                "person_history": .array(try rows("""
                    SELECT lifecycle, attributes, from_run, from_at, to_run, to_at FROM person_history WHERE employee_id = ? ORDER BY from_at
                    """)),
                "link_history": .array(try rows("""
                    SELECT directory, anchor, dn, from_run, from_at, to_run, to_at FROM link_history WHERE employee_id = ? ORDER BY from_at
                    """)),
                "membership_history": .array(try rows("""
                    SELECT directory, group_dn, member_dn, direct, from_run, from_at, to_run, to_at FROM membership_history
                    WHERE employee_id = ? ORDER BY from_at
                    """)),
                "review_items": .array(try rows("""
                    SELECT c.name AS campaign, i.group_dn, i.reviewer, i.decision, i.comment, i.decided_by, i.decided_at, i.escalated_at
                    FROM review_item i JOIN review_campaign c ON c.id = i.campaign_id WHERE i.employee_id = ? ORDER BY i.id
                    """)),
                "events": .array(eventValues),
                "audit": .array(audit),
            ])
        }
    }
}

extension Store {
    /// A consistent copy of the whole store in a new file (`VACUUM INTO` from a read snapshot, so
    /// reconciles go on meanwhile), checked before it is reported done: integrity and audit chain.
    /// Refuses to overwrite a file.
    public func backup(to file: String) throws -> AuditVerification {
        // Created here, empty, owner-only, and only if nothing is there (O_EXCL: no race with
        // another file of that name); VACUUM INTO then fills it. A failure removes it.
        let descriptor = Glibc.open(file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(path: file, reason: errno == EEXIST ? "already exists; a backup never overwrites a file"
                                                                 : "cannot be created (errno \(errno))")
        }
        Glibc.close(descriptor)
        do {
            return try fillBackup(file)
        } catch {
            for suffix in ["", "-wal", "-shm", ".open-lock"] { unlink(file + suffix) }
            if let database = error as? DatabaseError, database.resultCode == .SQLITE_FULL {
                let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
                throw StoreError(path: file, reason: "the disk holding \(folder) is full: no backup was written (the partial file is removed)")
            }
            throw error
        }
    }

    private func fillBackup(_ file: String) throws -> AuditVerification {
        // VACUUM INTO reads one consistent snapshot itself; it must not run inside a transaction.
        try writer.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [file]) }
        let copy = try Store.open(path: file, create: false)
        let integrity = try copy.writer.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        guard integrity == ["ok"] else {
            throw StoreError(path: file, reason: "the copy fails its integrity check: \(integrity.prefix(3).joined(separator: "; "))")
        }
        let audit = try copy.verifyAudit()
        guard audit.ok else {
            throw StoreError(path: file, reason: "the copy's audit log does not verify at entry \(audit.firstBad ?? 0): \(audit.problem ?? "")")
        }
        return audit
    }
}
