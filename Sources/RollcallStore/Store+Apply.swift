import Foundation
import GRDB
import RollcallCore

/// What a run is stamped with when it is written.
public struct RunStamp: Sendable {
    public var startedAt: Date
    public var finishedAt: Date
    /// CloudEvents `source` of the events this run emits.
    public var eventSource: String
    /// JSON text of the run report (rejected rows, ambiguities), stored with the run.
    public var report: String?
    /// How each directory was read, and where its next delta continues from.
    public var directories: [DirectoryRun]
    /// `StoredState.version` the plan was made from; nil skips the check.
    public var basedOn: Int64?
    /// Who applies it, for the audit log: `rollcall reconcile` for scheduled runs, the operator for
    /// actions taken by hand.
    public var actor = "rollcall reconcile"
    /// Audit entries of the action that made this run (e.g. an approval with its reason), written
    /// before the entries of the plan's changes.
    public var audit: [AuditDraft] = []
    /// The quarantined run this run's plan is the approval of (marked approved in the same transaction).
    public var approves: Int64?
    /// Decisions the guard holds back in this run (a pending copy is never added twice), with the
    /// guard's verdict for the `run.quarantined` event of the ones newly held.
    public var held: [HeldDecision] = []
    public var heldVerdict: JSONValue = .object([:])
    /// An approval of held decisions: the run that held them, those applied now, those dropped
    /// (no longer true today).
    /// The run's status: `applied` for reconciles and operators' actions; `review` for access
    /// review decisions and escalations, which change no identity state (a reconcile planned
    /// meanwhile still applies).
    public var status = "applied"
    /// Access review decisions recorded in the same transaction (`Store.decideReview`).
    public var reviewDecisions: [ReviewDecisionRow] = []
    /// Review items escalated in the same transaction.
    public var reviewEscalations: [Int64] = []
    public var approvesHeld: (run: Int64, applied: [HeldDecision], dropped: [HeldDecision])?

    public init(startedAt: Date, finishedAt: Date, eventSource: String, report: String? = nil, directories: [DirectoryRun] = []) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.eventSource = eventSource
        self.report = report
        self.directories = directories
    }

    /// full, delta, or mixed when directories were read differently (the run table's summary column).
    var directoryRead: String? {
        let kinds = Set(directories.map(\.read))
        return kinds.count > 1 ? "mixed" : kinds.first
    }
}

/// How one directory was read in one run.
public struct DirectoryRun: Sendable, Hashable, Codable {
    public var directory: String
    /// full or delta.
    public var read: String
    /// What the next delta continues from (syncrepl or DirSync cookie, uSNChanged checkpoint JSON);
    /// nil when the directory is read in full every run.
    public var cookie: [UInt8]?
    /// Accounts after the read.
    public var entries: Int
    /// SHA-256 of the search definition the cookie belongs to (`Store.fingerprint`).
    public var fingerprint: String?

    public init(directory: String, read: String, cookie: [UInt8]?, entries: Int, fingerprint: String? = nil) {
        self.directory = directory
        self.read = read
        self.cookie = cookie
        self.entries = entries
        self.fingerprint = fingerprint
    }
}

/// The result of applying a plan.
public struct AppliedRun: Sendable, Hashable, Codable {
    public var runID: Int64
    /// Sequence numbers of the events written, or nil when none were.
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    /// Decisions the guard held back in this run that were not pending already.
    public var newlyHeld = 0
}

extension Store {
    /// Applies a plan in ONE transaction: state, outbox events and the run record together.
    public func apply(_ plan: Plan, stamp: RunStamp) throws -> AppliedRun {
        do {
            return try applyTransaction(plan, stamp: stamp)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw Store.diskFull(path)
        }
    }

    /// SQLite's "database or disk is full", said with the place: the transaction was rolled back.
    static func diskFull(_ path: String) -> StoreError {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return StoreError(path: path, reason: "the disk holding \(folder) is full: the run's transaction was rolled back, nothing was applied; free space there and run again")
    }

    private func applyTransaction(_ plan: Plan, stamp: RunStamp) throws -> AppliedRun {
        let summary = String(decoding: try CloudEvent.encoder.encode(plan.summary), as: UTF8.self)
        let time = Timestamp.string(stamp.finishedAt)
        return try writer.write { db in
            if let basedOn = stamp.basedOn {
                let newest = try Store.newestAppliedRun(db)
                guard newest == basedOn else {
                    throw StoreError(path: path, reason: "run \(newest) was applied after this run read the store (it saw run \(basedOn)); nothing was applied, reconcile again")
                }
            }
            try db.execute(sql: """
                INSERT INTO run (started_at, finished_at, status, summary, report, directory_read)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [Timestamp.string(stamp.startedAt), time, stamp.status, summary, stamp.report, stamp.directoryRead])
            let runID = db.lastInsertedRowID
            for read in stamp.directories {
                try db.execute(sql: "INSERT INTO run_directory (run_id, directory, read, cookie, entries, fingerprint) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [runID, read.directory, read.read, read.cookie.map { Data($0) }, read.entries, read.fingerprint])
            }

            for rename in plan.personRenames {
                // (person_salt is not renamed: entries under the former id stay keyed by its salt.)
                for table in ["person", "link", "dispute", "person_alias", "entitlement_notice", "violation_notice", "drift_notice", "proposal", "hold",
                              "person_history", "link_history", "membership_history"] {
                    try db.execute(sql: "UPDATE \(table) SET employee_id = ? WHERE employee_id = ?", arguments: [rename.to, rename.from])
                }
                try db.execute(sql: "INSERT INTO person_alias (former_id, employee_id, run_id) VALUES (?, ?, ?)",
                               arguments: [rename.from, rename.to, runID])
                try db.execute(sql: "UPDATE held_decision SET subject = ? WHERE subject = ? AND directory = ''", arguments: [rename.to, rename.from])
            }
            // History first: a changed person's past version is read from the person row it replaces.
            try History.persons(plan.personUpserts, runID: runID, at: time, db: db)
            var personRow = try RowWriter(db, sql: PersonColumns.upsertSQL)
            for person in plan.personUpserts { try PersonColumns.write(person, run: runID, into: &personRow) }
            var accountRow = try RowWriter(db, sql: """
                INSERT INTO account (directory, anchor, dn, correlation_value, attributes, orphan_reported, updated_run, correlation_more,
                                     enabled, enabled_since, state_notice)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(directory, anchor) DO UPDATE SET dn = excluded.dn, correlation_value = excluded.correlation_value,
                    correlation_more = excluded.correlation_more,
                    attributes = excluded.attributes, orphan_reported = excluded.orphan_reported, updated_run = excluded.updated_run,
                    enabled = excluded.enabled, enabled_since = excluded.enabled_since, state_notice = excluded.state_notice
                """)
            for a in plan.accountUpserts {
                for text in [a.directory, a.anchor, a.dn, a.correlationValue, a.attributesJSON] { accountRow.text(text) }
                accountRow.bool(a.orphanReported)
                accountRow.int(runID)
                accountRow.text(CorrelationMore.text(a.moreCorrelationValues))
                accountRow.bool(a.enabled)
                accountRow.text(a.enabledSince?.description)
                accountRow.text(a.stateNotice?.rawValue)
                try accountRow.step()
            }
            let unlink = try db.cachedStatement(sql: "DELETE FROM link WHERE employee_id = ? AND directory = ?")
            for old in plan.linkRemovals { try unlink.execute(arguments: [old.employeeID, old.directory]) }
            let removeAccount = try db.cachedStatement(sql: "DELETE FROM account WHERE directory = ? AND anchor = ?")
            for key in plan.accountRemovals { try removeAccount.execute(arguments: [key.directory, key.anchor]) }
            var linkRow = try RowWriter(db, sql: "INSERT INTO link (employee_id, directory, anchor, linked_run) VALUES (?, ?, ?, ?)")
            for new in plan.linkUpserts {
                for text in [new.employeeID, new.directory, new.anchor] { linkRow.text(text) }
                linkRow.int(runID)
                try linkRow.step()
            }

            let forget = try db.cachedStatement(sql: "DELETE FROM dispute WHERE employee_id = ? AND directory = ?")
            for gone in plan.disputeRemovals { try forget.execute(arguments: [gone.employeeID, gone.directory]) }
            let remember = try db.cachedStatement(sql: """
                INSERT INTO dispute (employee_id, directory, anchors, run_id) VALUES (?, ?, ?, ?)
                ON CONFLICT(employee_id, directory) DO UPDATE SET anchors = excluded.anchors, run_id = excluded.run_id
                """)
            for dispute in plan.disputeUpserts {
                try remember.execute(arguments: [dispute.employeeID, dispute.directory,
                                                 CanonicalJSON.text(.array(dispute.anchors.map(JSONValue.string))), runID])
            }

            for id in plan.holdRemovals { try db.execute(sql: "DELETE FROM hold WHERE employee_id = ?", arguments: [id]) }
            for hold in plan.holdUpserts {
                try db.execute(sql: "INSERT OR REPLACE INTO hold (employee_id, reason, by, since, run_id) VALUES (?, ?, ?, ?, ?)",
                               arguments: [hold.employeeID, hold.reason, hold.by, hold.since, runID])
            }
            for gone in plan.proposalRemovals {
                try db.execute(sql: "DELETE FROM proposal WHERE employee_id = ? AND directory = ?", arguments: [gone.employeeID, gone.directory])
            }
            for proposal in plan.proposalUpserts {
                try db.execute(sql: """
                    INSERT INTO proposal (employee_id, directory, anchor, run_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT(employee_id, directory) DO UPDATE SET anchor = excluded.anchor, run_id = excluded.run_id
                    """, arguments: [proposal.employeeID, proposal.directory, proposal.anchor, runID])
            }
            for gone in plan.entitlementRemovals {
                try db.execute(sql: "DELETE FROM entitlement_notice WHERE employee_id = ? AND group_dn = ?", arguments: [gone.employeeID, gone.group])
            }
            for notice in plan.entitlementUpserts {
                try db.execute(sql: """
                    INSERT INTO entitlement_notice (employee_id, group_dn, action, run_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT(employee_id, group_dn) DO UPDATE SET action = excluded.action, run_id = excluded.run_id
                    """, arguments: [notice.employeeID, notice.group, notice.action.rawValue, runID])
            }
            for gone in plan.driftRemovals {
                try db.execute(sql: "DELETE FROM drift_notice WHERE employee_id = ? AND directory = ? AND attribute = ?",
                               arguments: [gone.employeeID, gone.directory, gone.attribute])
            }
            for notice in plan.driftUpserts {
                try db.execute(sql: """
                    INSERT INTO drift_notice (employee_id, directory, attribute, actual, run_id) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(employee_id, directory, attribute) DO UPDATE SET actual = excluded.actual, run_id = excluded.run_id
                    """, arguments: [notice.employeeID, notice.directory, notice.attribute, notice.actual, runID])
            }
            for gone in plan.violationRemovals {
                try db.execute(sql: "DELETE FROM violation_notice WHERE employee_id = ? AND rule = ?", arguments: [gone.employeeID, gone.rule])
            }
            for notice in plan.violationUpserts {
                try db.execute(sql: "INSERT OR REPLACE INTO violation_notice (employee_id, rule, run_id) VALUES (?, ?, ?)",
                               arguments: [notice.employeeID, notice.rule, runID])
            }
            try applyPrivileged(plan, runID: runID, db: db)
            for decision in plan.conversionDecisions {
                try db.execute(sql: "INSERT OR REPLACE INTO conversion_decision (employee_id, former_id, convert, run_id) VALUES (?, ?, ?, ?)",
                               arguments: [decision.employeeID, decision.formerID, decision.convert, runID])
            }

            var seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0
            let first = plan.events.isEmpty ? nil : seq + 1
            let insertEvent = try db.cachedStatement(sql: "INSERT INTO outbox (seq, id, run_id, source, type, subject, time, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            var eventIDs: [(id: String, dataHash: String)] = []
            eventIDs.reserveCapacity(plan.events.count)
            var eventRow = try RowWriter(db, sql: "INSERT INTO outbox (seq, id, run_id, source, type, subject, time, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for event in plan.events {
                seq += 1
                let id = UUID().uuidString.lowercased()
                eventRow.int(seq)
                eventRow.text(id)
                eventRow.int(runID)
                for text in [stamp.eventSource, event.kind.cloudEventType, event.subject, time, event.dataJSON] { eventRow.text(text) }
                try eventRow.step()
                eventIDs.append((id, AuditChain.sha256(event.dataJSON)))
            }
            var last = plan.events.isEmpty ? nil : seq
            try History.apply(plan, runID: runID, at: time, db: db)
            try Store.applyReviews(stamp, runID: runID, at: time, db: db)
            let redacted = try applyPurges(plan.personPurges, runID: runID, db: db)
            var heldAudit: [AuditDraft] = []
            var newlyHeld = 0
            if !stamp.held.isEmpty {
                let newly = try holdDecisions(stamp.held, runID: runID, at: time, db: db)
                newlyHeld = newly.count
                if !newly.isEmpty {
                    seq += 1
                    let data = Store.heldEventData(runID: runID, newly: newly, verdict: stamp.heldVerdict)
                    let text = CanonicalJSON.text(data)
                    let id = UUID().uuidString.lowercased()
                    try insertEvent.execute(arguments: [seq, id, runID, stamp.eventSource, EventKind.quarantined.cloudEventType, "run \(runID)", time, text])
                    heldAudit.append(AuditDraft(action: "run.held", subject: "run \(runID)", detail: data))
                    heldAudit.append(AuditDraft(action: "event", subject: "run \(runID)", detail: .object([
                        "seq": .int(Int(seq)), "id": .string(id), "type": .string(EventKind.quarantined.cloudEventType),
                        "data_sha256": .string(AuditChain.sha256(text)),
                    ])))
                    last = seq
                }
            }
            if let approval = stamp.approvesHeld {
                try decideHeld(run: approval.run, applied: approval.applied, dropped: approval.dropped, by: stamp.actor, at: time,
                               appliedRun: runID, db: db)
            }
            if let approved = stamp.approves {
                try db.execute(sql: """
                    UPDATE quarantine SET status = 'approved', decided_by = ?, decided_at = ?, applied_run = ? WHERE run_id = ? AND status = 'pending'
                    """, arguments: [stamp.actor, time, runID, approved])
                guard db.changesCount == 1 else { throw StoreError(path: path, reason: "run \(approved) is not a pending quarantined run; nothing was applied") }
            }
            var audit = try AuditChain.Appender(actor: stamp.actor, runID: runID, at: time, db: db)
            for draft in stamp.audit { try audit.append(draft) }
            try Store.auditDrafts(plan, runID: runID, firstSeq: first, ids: eventIDs, summary: summary) { try audit.append($0) }
            for draft in heldAudit { try audit.append(draft) }
            // A purge's redaction is itself in the chain, naming what it blanked.
            for (tombstone, seqs) in redacted {
                try audit.append(AuditDraft(action: "audit.redacted", subject: "tombstone:" + tombstone, detail: .object([
                    "seqs": .array(seqs.map { .int(Int($0)) }), "reason": .string("purge after lifecycle.purge_after_days"),
                ])))
            }
            let firstSeq = first ?? (last == nil ? nil : last)
            try db.execute(sql: "UPDATE run SET first_seq = ?, last_seq = ? WHERE id = ?", arguments: [firstSeq, last, runID])
            return AppliedRun(runID: runID, firstSeq: firstSeq, lastSeq: last, newlyHeld: newlyHeld)
        }
    }

    /// The audit entries of an applied plan, given to `emit` one at a time: the run, renames,
    /// decisions and purges, each account changed, then one `person.applied` entry per person the
    /// run touched (their row, the links added and removed, and the events about them: a first
    /// load writes one entry per person instead of one per row), then events about no person.
    /// Entries about a person carry their HR id, which a purge redacts by.
    static func auditDrafts(_ plan: Plan, runID: Int64, firstSeq: Int64?, ids: [(id: String, dataHash: String)],
                            summary: String, _ emit: (AuditDraft) throws -> Void) rethrows {
        let counts = (try? JSONDecoder().decode(JSONValue.self, from: Data(summary.utf8))) ?? .null
        try emit(AuditDraft(action: "run.applied", subject: "run \(runID)", detail: counts))
        for rename in plan.personRenames {
            try emit(AuditDraft(action: "person.renamed", subject: rename.to, hrID: rename.to,
                                     detail: .object(["from": .string(rename.from), "to": .string(rename.to)])))
        }
        for decision in plan.conversionDecisions {
            try emit(AuditDraft(action: "conversion.decided", subject: decision.employeeID, hrID: decision.employeeID,
                                detail: .object(["former_id": .string(decision.formerID), "convert": .bool(decision.convert)])))
        }
        for hold in plan.holdUpserts {
            try emit(AuditDraft(action: "hold.set", subject: hold.employeeID, hrID: hold.employeeID,
                                     detail: .object(["reason": .string(hold.reason), "by": .string(hold.by)])))
        }
        for id in plan.holdRemovals {
            try emit(AuditDraft(action: "hold.lifted", subject: id, hrID: id, detail: .object([:])))
        }
        for purge in plan.personPurges {
            try emit(AuditDraft(action: "person.purged", subject: "tombstone:\(purge.pseudonym)",
                                     detail: .object(["termination_date": JSONValue(purge.terminationDate?.description)])))
        }
        for account in plan.accountUpserts {
            var out = CanonicalJSON.Writer(capacity: 256)
            out.beginObject()
            out.field("attributes_sha256", AuditChain.sha256(account.attributesJSON))
            out.field("correlation_value", account.correlationValue)
            out.field("dn", account.dn)
            out.key("enabled")
            out.bool(account.enabled)
            out.field("enabled_since", account.enabledSince?.description)
            out.key("orphan_reported")
            out.bool(account.orphanReported)
            out.field("state_notice", account.stateNotice?.rawValue)
            out.endObject()
            try emit(AuditDraft(action: "account.changed", subject: "\(account.directory)/\(account.anchor)", canonicalDetail: out.text))
        }
        for key in plan.accountRemovals {
            try emit(AuditDraft(action: "account.removed", subject: "\(key.directory)/\(key.anchor)", detail: .object([:])))
        }
        // Each person's parts, by index into the plan's lists (no copies of the values).
        struct Parts { var person: Int?; var linksAdded: [Int] = []; var linksRemoved: [Int] = []; var events: [Int] = [] }
        var parts: [String: Parts] = [:]
        parts.reserveCapacity(plan.personUpserts.count)
        for (index, person) in plan.personUpserts.enumerated() { parts[person.employeeID, default: Parts()].person = index }
        for (index, link) in plan.linkUpserts.enumerated() { parts[link.employeeID, default: Parts()].linksAdded.append(index) }
        for (index, link) in plan.linkRemovals.enumerated() { parts[link.employeeID, default: Parts()].linksRemoved.append(index) }
        var aboutNobody: [Int] = []
        for (index, event) in plan.events.enumerated() {
            if let id = event.hrID { parts[id, default: Parts()].events.append(index) } else { aboutNobody.append(index) }
        }
        func write(_ links: [Int], of list: [Link], key: String, into out: inout CanonicalJSON.Writer) {
            guard !links.isEmpty else { return }
            out.key(key)
            out.beginArray()
            for index in links {
                out.beginObject()
                out.field("anchor", list[index].anchor)
                out.field("directory", list[index].directory)
                out.endObject()
            }
            out.endArray()
        }
        func write(event index: Int, into out: inout CanonicalJSON.Writer) {
            out.beginObject()
            out.field("data_sha256", ids[index].dataHash)
            out.field("id", ids[index].id)
            out.key("seq")
            out.int(Int((firstSeq ?? 0) + Int64(index)))
            out.field("type", plan.events[index].kind.cloudEventType)
            out.endObject()
        }
        // Written straight as canonical JSON (keys in order): a first load writes one per person.
        for id in parts.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let part = parts[id] else { continue }
            var out = CanonicalJSON.Writer(capacity: 768)
            out.beginObject()
            if !part.events.isEmpty {
                out.key("events")
                out.beginArray()
                for index in part.events { write(event: index, into: &out) }
                out.endArray()
            }
            write(part.linksAdded, of: plan.linkUpserts, key: "links_added", into: &out)
            write(part.linksRemoved, of: plan.linkRemovals, key: "links_removed", into: &out)
            if let person = part.person {
                out.key("person")
                PersonColumns.write(plan.personUpserts[person], into: &out)
            }
            out.endObject()
            try emit(AuditDraft(action: "person.applied", subject: id, hrID: id, canonicalDetail: out.text))
        }
        for index in aboutNobody {
            var out = CanonicalJSON.Writer(capacity: 160)
            write(event: index, into: &out)
            try emit(AuditDraft(action: "event", subject: plan.events[index].subject, canonicalDetail: out.text))
        }
    }

    /// Purged persons are erased: their rows everywhere, and in the outbox every other event about
    /// them (by subject or `data.hr_id`, under their current or a former id, this run's included)
    /// keeps its id, sequence number, type and time, but its subject and data become the
    /// tombstone. Only this run's `identity.purged` still names them. A tombstone row stays.
    /// Returns the audit entries whose content it removed, by tombstone, for the redaction entry
    /// the run appends (`audit verify` accepts missing content only where one names it).
    private func applyPurges(_ purges: [Tombstone], runID: Int64, db: Database) throws -> [(tombstone: String, seqs: [Int64])] {
        guard !purges.isEmpty else { return [] }
        try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS purging (employee_id TEXT PRIMARY KEY, pseudonym TEXT NOT NULL)")
        try db.execute(sql: "DELETE FROM purging")
        for purge in purges {
            guard !purge.pseudonym.isEmpty else { throw StoreError(path: path, reason: "a purge of \(purge.employeeID) has no pseudonym; nothing was applied") }
            try db.execute(sql: "INSERT INTO purging (employee_id, pseudonym) VALUES (?, ?)", arguments: [purge.employeeID, purge.pseudonym])
            try db.execute(sql: "INSERT OR REPLACE INTO tombstone (pseudonym, termination_date, run_id) VALUES (?, ?, ?)",
                           arguments: [purge.pseudonym, purge.terminationDate?.description, runID])
        }
        try db.execute(sql: """
            INSERT OR IGNORE INTO purging (employee_id, pseudonym)
            SELECT a.former_id, p.pseudonym FROM person_alias a JOIN purging p ON a.employee_id = p.employee_id
            """)
        try History.purge(db: db)
        try db.execute(sql: """
            UPDATE outbox SET subject = 'tombstone:' || p.pseudonym, data = json_object('purged', json('true'), 'tombstone', p.pseudonym)
            FROM purging p WHERE (outbox.subject = p.employee_id OR json_extract(outbox.data, '$.hr_id') = p.employee_id)
                AND NOT (outbox.run_id = ? AND outbox.type = ?)
            """, arguments: [runID, EventKind.purged.cloudEventType])
        // The audit log keeps its chain: entries about them lose their content, not their hashes.
        // Which ones is noted first (by content still present), to be named by a redaction entry.
        let before = Set(try Int64.fetchAll(db, sql: "SELECT seq FROM audit WHERE content IS NULL"))
        try db.execute(sql: """
            UPDATE audit SET content = NULL, subject = 'tombstone:' || p.pseudonym, hr_id = NULL
            FROM purging p WHERE audit.hr_id = p.employee_id
            """)
        // Their accounts' entries too (a DN and a correlation value name them): the accounts linked
        // to them, and any whose correlation value is their id.
        try db.execute(sql: """
            UPDATE audit SET content = NULL, subject = 'tombstone:' || p.pseudonym
            FROM purging p JOIN link l ON l.employee_id = p.employee_id
            WHERE audit.subject = l.directory || '/' || l.anchor AND audit.content IS NOT NULL
            """)
        try db.execute(sql: """
            UPDATE audit SET content = NULL, subject = 'tombstone:' || p.pseudonym
            FROM purging p
            WHERE audit.action LIKE 'account.%' AND audit.content IS NOT NULL
              AND json_extract(audit.content, '$.detail.correlation_value') = p.employee_id
            """)
        for table in ["person_salt", "person", "link", "dispute", "person_alias", "entitlement_notice", "violation_notice", "drift_notice", "proposal", "hold",
                      "conversion_decision"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE employee_id IN (SELECT employee_id FROM purging)")
        }
        try db.execute(sql: "DELETE FROM conversion_decision WHERE former_id IN (SELECT employee_id FROM purging)")
        try db.execute(sql: "DELETE FROM held_decision WHERE directory = '' AND subject IN (SELECT employee_id FROM purging)")
        try scrubStoredPlansAndReports(db: db)
        try db.execute(sql: "DELETE FROM purging")
        var redacted: [String: [Int64]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT seq, subject FROM audit WHERE content IS NULL ORDER BY seq") {
            let seq: Int64 = row[0]
            guard !before.contains(seq) else { continue }
            let subject: String = row[1]
            redacted[String(subject.dropFirst("tombstone:".count)), default: []].append(seq)
        }
        return redacted.sorted { $0.key < $1.key }.map { (tombstone: $0.key, seqs: $0.value) }
    }

    /// What else may still name a purged person: a quarantined run's stored plan (kept after its
    /// decision), a held decision about one of their accounts, a run report's rejected rows and
    /// warnings. A decided plan is dropped (its digest stays); a pending one is rejected (it can no
    /// longer be applied as stored); held decisions naming them are deleted; report entries naming
    /// them are removed. Matched by the HR id (current or former) inside the JSON text.
    private func scrubStoredPlansAndReports(db: Database) throws {
        let ids = try String.fetchAll(db, sql: "SELECT employee_id FROM purging")
        for id in ids {
            let quoted = CanonicalJSON.text(.string(id))
            try db.execute(sql: """
                UPDATE quarantine SET status = 'rejected', decided_by = 'rollcall (purge)', decided_at = datetime('now'),
                    reason = 'a person in this plan was purged; reconcile for a new plan'
                WHERE status = 'pending' AND instr(plan, ?) > 0
                """, arguments: [quoted])
            try db.execute(sql: "UPDATE quarantine SET plan = '{}' WHERE status != 'pending' AND instr(plan, ?) > 0", arguments: [quoted])
            try db.execute(sql: "DELETE FROM held_decision WHERE instr(data, ?) > 0", arguments: [quoted])
            let reports = try Row.fetchAll(db, sql: "SELECT id, report FROM run WHERE report IS NOT NULL AND instr(report, ?) > 0", arguments: [id])
            for row in reports {
                let runID: Int64 = row[0]
                let text: String = row[1]
                guard case .object(var report) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
                for (key, value) in report {
                    // Lists of entries (rejected rows, warnings, ambiguities): the ones naming them go.
                    if case .array(let items) = value {
                        report[key] = .array(items.filter { !Store.containsToken(CanonicalJSON.text($0), id) })
                    }
                }
                try db.execute(sql: "UPDATE run SET report = ? WHERE id = ?", arguments: [CanonicalJSON.text(.object(report)), runID])
            }
        }
    }

    /// Whether `token` appears in `text` as a whole word (E2 in "id E2 appears", not in "E20").
    static func containsToken(_ text: String, _ token: String) -> Bool {
        var rest = text[...]
        while let found = rest.range(of: token) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            let isWordCharacter = { (c: Character?) in c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
            if !isWordCharacter(before) && !isWordCharacter(after) { return true }
            rest = text[found.upperBound...]
        }
        return false
    }

    /// Privileged groups' baselines are replaced whole; unauthorised notices added and forgotten.
    private func applyPrivileged(_ plan: Plan, runID: Int64, db: Database) throws {
        for gone in plan.privilegedRemovals {
            for table in ["privileged_group", "privileged_member"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE directory = ? AND group_key = ?", arguments: [gone.directory, gone.group])
            }
        }
        for snapshot in plan.privilegedSnapshots {
            let key = snapshot.state.dn.lowercased()
            try db.execute(sql: "DELETE FROM privileged_member WHERE directory = ? AND group_key = ?", arguments: [snapshot.directory, key])
            try db.execute(sql: """
                INSERT INTO privileged_group (directory, group_key, dn, run_id) VALUES (?, ?, ?, ?)
                ON CONFLICT(directory, group_key) DO UPDATE SET dn = excluded.dn, run_id = excluded.run_id
                """, arguments: [snapshot.directory, key, snapshot.state.dn, runID])
            let member = try db.cachedStatement(sql: "INSERT INTO privileged_member (directory, group_key, member_key, member_dn) VALUES (?, ?, ?, ?)")
            for (memberKey, dn) in snapshot.state.members { try member.execute(arguments: [snapshot.directory, key, memberKey, dn]) }
        }
        for gone in plan.unauthorisedRemovals {
            try db.execute(sql: "DELETE FROM unauthorised_notice WHERE directory = ? AND group_key = ? AND member_key = ?",
                           arguments: [gone.directory, gone.group, gone.member])
        }
        for notice in plan.unauthorisedUpserts {
            try db.execute(sql: "INSERT OR REPLACE INTO unauthorised_notice (directory, group_key, member_key, run_id) VALUES (?, ?, ?, ?)",
                           arguments: [notice.directory, notice.group, notice.member, runID])
        }
    }

    /// Records a run that failed before anything was applied, so operators can see it in the history.
    @discardableResult
    public func recordFailedRun(startedAt: Date, finishedAt: Date, error: String, report: String? = nil) throws -> Int64 {
        try writer.write { db in
            try db.execute(sql: "INSERT INTO run (started_at, finished_at, status, error, report) VALUES (?, ?, 'failed', ?, ?)",
                           arguments: [Timestamp.string(startedAt), Timestamp.string(finishedAt), error, report])
            let runID = db.lastInsertedRowID
            try AuditChain.append([AuditDraft(action: "run.failed", subject: "run \(runID)", detail: .object(["error": .string(error)]))],
                                  actor: "rollcall reconcile", runID: runID, at: Timestamp.string(finishedAt), db: db)
            return runID
        }
    }
}
