import Crypto
import Foundation
import GRDB
import RollcallCore

/// What an access review covers.
public enum ReviewScope: Sendable, Hashable, CustomStringConvertible {
    /// Memberships of the watched privileged groups.
    case privileged
    /// Memberships of one group (DN).
    case group(String)
    /// Every membership of persons in one HR department.
    case department(String)

    /// `privileged`, `group:DN` or `department:NAME`.
    public init?(_ text: String) {
        if text == "privileged" { self = .privileged; return }
        if text.hasPrefix("group:"), text.count > 6 { self = .group(String(text.dropFirst(6))); return }
        if text.hasPrefix("department:"), text.count > 11 { self = .department(String(text.dropFirst(11))); return }
        return nil
    }

    public var description: String {
        switch self {
        case .privileged: "privileged"
        case .group(let dn): "group:\(dn)"
        case .department(let name): "department:\(name)"
        }
    }
}

/// Who reviews an item.
public enum ReviewerRule: Sendable, Hashable, CustomStringConvertible {
    /// The person's manager from HR (`manager_id`, a stored person still employed); else the fallback.
    case manager
    /// One configured owner (an HR id or another name the invitations use).
    case owner(String)

    public init?(_ text: String) {
        if text == "manager" { self = .manager; return }
        if text.hasPrefix("owner:"), text.count > 6 { self = .owner(String(text.dropFirst(6))); return }
        return nil
    }

    public var description: String {
        switch self {
        case .manager: "manager"
        case .owner(let id): "owner:\(id)"
        }
    }
}

public struct ReviewCampaign: Sendable, Codable, Hashable {
    public var id: Int64
    public var name: String
    public var scope: String
    public var reviewer: String
    public var fallback: String?
    public var due: String
    public var status: String
    public var createdAt: String
    public var createdBy: String
}

/// One (person, entitlement) to keep or revoke; or, in privileged and group scopes, an account
/// no person owns (a service account) and its membership.
public struct ReviewItem: Sendable, Codable, Hashable {
    public var id: Int64
    public var campaign: String
    /// nil: the member is no person's account.
    public var employeeID: String?
    public var displayName: String?
    public var department: String?
    public var lifecycle: String?
    public var directory: String
    public var group: String
    public var member: String
    /// `direct` or `nested`.
    public var how: String
    public var reviewer: String
    public var decision: String?
    public var comment: String?
    public var decidedBy: String?
    public var decidedAt: String?
    public var escalatedAt: String?
}

/// A decision as recorded with its run.
public struct ReviewDecisionRow: Sendable, Hashable {
    public var item: Int64
    public var decision: String
    public var comment: String?
    public var by: String
}

/// A reviewer's sign-in, from a link token (`rollcall review invite`).
public struct ReviewSession: Sendable, Hashable {
    public var campaign: String
    public var reviewer: String
    public var admin: Bool

    public init(campaign: String, reviewer: String, admin: Bool) {
        self.campaign = campaign
        self.reviewer = reviewer
        self.admin = admin
    }
}

public enum ReviewDecision: String, Sendable, CaseIterable {
    case keep, revoke
}

extension Store {
    /// Starts a campaign: one item per (person, group membership) in scope, open now, assigned to
    /// the person's manager (or the owner; the fallback where there is no manager). Audited.
    /// Refused when a person would have no reviewer.
    public func startReview(name: String, scope: ReviewScope, reviewer: ReviewerRule, fallback: String?, due: Day,
                            by actor: String, at date: Date = Date()) throws -> (campaign: ReviewCampaign, items: Int) {
        guard Name.isValid(name) else { throw StoreError(path: path, reason: "campaign name \"\(name)\" must be \(Name.rule)") }
        let time = Timestamp.string(date)
        return try writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM review_campaign WHERE name = ?", arguments: [name]) == true {
                throw StoreError(path: path, reason: "a review campaign named \(name) exists (rollcall review status \(name))")
            }
            var sql = """
                SELECT m.employee_id, m.directory, m.group_key, m.group_dn, m.member_dn, m.direct, p.manager_id,
                       (SELECT mp.lifecycle FROM person mp WHERE mp.employee_id = p.manager_id), m.member_key
                FROM membership_history m LEFT JOIN person p ON p.employee_id = m.employee_id
                WHERE m.to_run IS NULL
                """
            var arguments: StatementArguments = []
            switch scope {
            case .privileged:
                sql += " AND EXISTS (SELECT 1 FROM privileged_group g WHERE g.directory = m.directory AND g.group_key = m.group_key)"
            case .group(let dn):
                sql += " AND m.group_key = ?"
                arguments += [dn.lowercased()]
            case .department(let department):
                // Persons only: an account no person owns has no department.
                sql += " AND lower(p.department) = lower(?)"
                arguments += [department]
            }
            let rows = try Row.fetchAll(db, sql: sql + " ORDER BY m.employee_id IS NULL, m.employee_id, m.group_key, m.member_key", arguments: arguments)
            guard !rows.isEmpty else {
                throw StoreError(path: path, reason: "nothing to review in scope \(scope): no person holds a membership there now (memberships of the groups Rollcall reads, see rollcall access)")
            }
            var assigned: [(row: Row, reviewer: String)] = []
            var unassigned: Set<String> = []
            for row in rows {
                // An account no person owns (a service account) is named by its DN.
                let person: String = (row[0] as String?) ?? (row[4] as String)
                switch reviewer {
                case .owner(let owner): assigned.append((row, owner))
                case .manager:
                    let manager: String? = row[6]
                    let managerLifecycle: String? = row[7]
                    let employed = managerLifecycle.flatMap(LifecycleState.init(rawValue:))?.isEmployed == true
                    if let manager, employed, manager != person {
                        assigned.append((row, manager))
                    } else if let fallback {
                        assigned.append((row, fallback))
                    } else {
                        unassigned.insert(person)
                    }
                }
            }
            if !unassigned.isEmpty {
                throw StoreError(path: path, reason: "\(unassigned.count) persons or accounts have no employed manager (\(unassigned.sorted().prefix(5).joined(separator: ", "))\(unassigned.count > 5 ? ", ..." : "")): give --fallback REVIEWER; nothing was started")
            }
            try db.execute(sql: """
                INSERT INTO review_campaign (name, scope, reviewer, fallback, due, status, created_at, created_by) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)
                """, arguments: [name, scope.description, reviewer.description, fallback, due.description, time, actor])
            let campaignID = db.lastInsertedRowID
            var insert = try RowWriter(db, sql: """
                INSERT OR IGNORE INTO review_item (campaign_id, employee_id, directory, group_key, group_dn, member_dn, how, reviewer, member_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (row, reviewer) in assigned {
                insert.int(campaignID)
                insert.text(row[0] as String?)
                for index in 1..<5 { insert.text(row[index] as String) }
                insert.text((row[5] as Bool) ? "direct" : "nested")
                insert.text(reviewer)
                insert.text(row[8] as String)
                try insert.step()
            }
            let items = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM review_item WHERE campaign_id = ?", arguments: [campaignID]) ?? 0
            try AuditChain.append([AuditDraft(action: "review.started", subject: "review \(name)", detail: .object([
                "scope": .string(scope.description), "reviewer": .string(reviewer.description), "fallback": JSONValue(fallback),
                "due": .string(due.description), "items": .int(items),
            ]))], actor: actor, runID: nil, at: time, db: db)
            let campaign = ReviewCampaign(id: campaignID, name: name, scope: scope.description, reviewer: reviewer.description, fallback: fallback,
                                          due: due.description, status: "open", createdAt: time, createdBy: actor)
            return (campaign, items)
        }
    }

    public func reviewCampaign(_ name: String) throws -> ReviewCampaign? {
        try writer.read { db in try Store.campaign(name, db: db) }
    }

    public func reviewCampaigns() throws -> [ReviewCampaign] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM review_campaign ORDER BY id").map(Store.campaign)
        }
    }

    static func campaign(_ name: String, db: Database) throws -> ReviewCampaign? {
        try Row.fetchOne(db, sql: "SELECT * FROM review_campaign WHERE name = ?", arguments: [name]).map(Store.campaign)
    }

    static func campaign(_ row: Row) -> ReviewCampaign {
        ReviewCampaign(id: row["id"], name: row["name"], scope: row["scope"], reviewer: row["reviewer"], fallback: row["fallback"],
                       due: row["due"], status: row["status"], createdAt: row["created_at"], createdBy: row["created_by"])
    }

    /// A campaign's items, all or one reviewer's.
    public func reviewItems(campaign: String, reviewer: String? = nil) throws -> [ReviewItem] {
        try writer.read { db in
            var sql = """
                SELECT i.*, c.name AS campaign, p.department, p.lifecycle,
                       COALESCE(p.display_name, NULLIF(TRIM(COALESCE(p.given_name, '') || ' ' || COALESCE(p.family_name, '')), '')) AS display_name
                FROM review_item i
                JOIN review_campaign c ON c.id = i.campaign_id LEFT JOIN person p ON p.employee_id = i.employee_id
                WHERE c.name = ?
                """
            var arguments: StatementArguments = [campaign]
            if let reviewer {
                sql += " AND i.reviewer = ?"
                arguments += [reviewer]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY i.employee_id IS NULL, i.employee_id, i.member_dn, i.group_dn", arguments: arguments).map { row in
                ReviewItem(id: row["id"], campaign: row["campaign"], employeeID: row["employee_id"], displayName: row["display_name"],
                           department: row["department"], lifecycle: row["lifecycle"], directory: row["directory"], group: row["group_dn"],
                           member: row["member_dn"], how: row["how"], reviewer: row["reviewer"], decision: row["decision"],
                           comment: row["comment"], decidedBy: row["decided_by"], decidedAt: row["decided_at"], escalatedAt: row["escalated_at"])
            }
        }
    }

    /// Records decisions on items of one campaign, as `by` (the reviewer the items are assigned
    /// to, or an admin). A revoke is an `entitlement.revoke` event (reason `review`); every
    /// decision is an audit entry naming the reviewer. One transaction: all or nothing.
    public func decideReview(campaign name: String, items ids: [Int64], decision: ReviewDecision, comment: String?, by reviewer: String,
                             admin: Bool = false, eventSource: String, at date: Date = Date()) throws -> AppliedRun {
        guard !ids.isEmpty else { throw StoreError(path: path, reason: "no item was chosen") }
        if let comment, comment.count > 2000 { throw StoreError(path: path, reason: "a comment is at most 2000 characters") }
        let unique = Array(Set(ids)).sorted()
        let (campaign, items) = try writer.read { db -> (ReviewCampaign?, [Row]) in
            let campaign = try Store.campaign(name, db: db)
            let marks = Array(repeating: "?", count: unique.count).joined(separator: ",")
            var arguments: StatementArguments = [campaign?.id ?? -1]
            for id in unique { arguments += [id] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT i.*, COALESCE(a.anchor, (SELECT o.anchor FROM account o WHERE o.directory = i.directory AND lower(o.dn) = i.member_key
                                                                  AND i.employee_id IS NULL)) AS anchor,
                       a.dn AS account_dn FROM review_item i
                LEFT JOIN link l ON l.employee_id = i.employee_id AND l.directory = i.directory
                LEFT JOIN account a ON a.directory = l.directory AND a.anchor = l.anchor
                WHERE i.campaign_id = ? AND i.id IN (\(marks))
                """, arguments: arguments)
            return (campaign, rows)
        }
        guard let campaign else { throw StoreError(path: path, reason: "no review campaign \(name)") }
        guard campaign.status == "open" else { throw StoreError(path: path, reason: "review \(name) is closed: no more decisions") }
        guard items.count == unique.count else { throw StoreError(path: path, reason: "an item chosen is not in review \(name)") }
        var plan = Plan()
        var audit: [AuditDraft] = []
        var decisions: [ReviewDecisionRow] = []
        for row in items {
            let id: Int64 = row["id"]
            let person: String? = row["employee_id"]
            let anchor: String? = row["anchor"]
            // Identity events name the person; an account no person owns is named by its anchor (or DN).
            let subject = person ?? anchor ?? (row["member_dn"] as String)
            guard admin || (row["reviewer"] as String) == reviewer else {
                throw StoreError(path: path, reason: "item \(id) is not assigned to \(reviewer)")
            }
            if let done: String = row["decision"] { throw StoreError(path: path, reason: "item \(id) was decided already (\(done))") }
            if decision == .revoke {
                plan.events.append(EventDraft(kind: .revoke, subject: subject, data: .object([
                    "hr_id": JSONValue(person), "directory": .string(row["directory"]), "anchor": JSONValue(anchor),
                    "dn": .string((row["account_dn"] as String?) ?? row["member_dn"]), "group": .string(row["group_dn"]),
                    "reason": .string("review"), "review": .object([
                        "campaign": .string(name), "item": .int(Int(id)), "reviewer": .string(reviewer), "comment": JSONValue(comment),
                    ]),
                ])))
            }
            audit.append(AuditDraft(action: "review.decided", subject: subject, hrID: person, detail: .object([
                "campaign": .string(name), "item": .int(Int(id)), "group": .string(row["group_dn"]), "decision": .string(decision.rawValue),
                "reviewer": .string(reviewer), "comment": JSONValue(comment),
            ])))
            decisions.append(ReviewDecisionRow(item: id, decision: decision.rawValue, comment: comment, by: reviewer))
        }
        plan.summary.revokes = plan.events.count
        plan.summary.events = plan.events.count
        var stamp = RunStamp(startedAt: date, finishedAt: date, eventSource: eventSource,
                             report: CanonicalJSON.text(.object(["action": "review.decide", "campaign": .string(name), "by": .string(reviewer)])))
        stamp.status = "review"
        stamp.actor = "reviewer \(reviewer)"
        stamp.audit = audit
        stamp.reviewDecisions = decisions
        return try apply(plan, stamp: stamp)
    }

    /// Items of open campaigns past their due day, undecided and not yet escalated: one
    /// `review.escalated` event each (to the reviewer's attention), recorded once. nil when none.
    public func escalateReviews(today: Day, eventSource: String, at date: Date = Date()) throws -> AppliedRun? {
        let rows = try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT i.id, COALESCE(i.employee_id, i.member_dn), i.group_dn, i.directory, i.reviewer, c.name, c.due, i.employee_id FROM review_item i
                JOIN review_campaign c ON c.id = i.campaign_id
                WHERE c.status = 'open' AND c.due < ? AND i.decision IS NULL AND i.escalated_at IS NULL
                ORDER BY c.id, i.id
                """, arguments: [today.description])
        }
        guard !rows.isEmpty else { return nil }
        var plan = Plan()
        for row in rows {
            plan.events.append(EventDraft(kind: .reviewEscalated, subject: row[1], data: .object([
                "hr_id": JSONValue(row[7] as String?), "group": .string(row[2]), "directory": .string(row[3]),
                "review": .object(["campaign": .string(row[5]), "item": .int(Int(row[0] as Int64)), "reviewer": .string(row[4]), "due": .string(row[6])]),
            ])))
        }
        plan.summary.events = plan.events.count
        var stamp = RunStamp(startedAt: date, finishedAt: date, eventSource: eventSource,
                             report: CanonicalJSON.text(.object(["action": "review.escalate", "items": .int(rows.count)])))
        stamp.status = "review"
        stamp.actor = "rollcall review"
        stamp.reviewEscalations = rows.map { $0[0] }
        return try apply(plan, stamp: stamp)
    }

    /// Closes a campaign: no more decisions; undecided items stay undecided in its report. Audited.
    public func closeReview(_ name: String, by actor: String, at date: Date = Date()) throws {
        try writer.write { db in
            guard let campaign = try Store.campaign(name, db: db) else { throw StoreError(path: path, reason: "no review campaign \(name)") }
            guard campaign.status == "open" else { throw StoreError(path: path, reason: "review \(name) is closed already") }
            let time = Timestamp.string(date)
            try db.execute(sql: "UPDATE review_campaign SET status = 'closed', closed_at = ? WHERE id = ?", arguments: [time, campaign.id])
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM review_item WHERE campaign_id = ? AND decision IS NULL", arguments: [campaign.id]) ?? 0
            try AuditChain.append([AuditDraft(action: "review.closed", subject: "review \(name)", detail: .object(["undecided": .int(pending)]))],
                                  actor: actor, runID: nil, at: time, db: db)
        }
    }

    /// Sign-in tokens, one per reviewer (or one admin token), valid for `days`: the token is
    /// returned once, only its SHA-256 is stored. Audited (reviewers, not tokens).
    public func inviteReviewers(campaign name: String, reviewers requested: [String]?, admin: Bool, days: Int,
                                by actor: String, at date: Date = Date()) throws -> [(reviewer: String, token: String)] {
        try writer.write { db in
            guard let campaign = try Store.campaign(name, db: db) else { throw StoreError(path: path, reason: "no review campaign \(name)") }
            let assigned = try String.fetchAll(db, sql: "SELECT DISTINCT reviewer FROM review_item WHERE campaign_id = ? ORDER BY reviewer",
                                               arguments: [campaign.id])
            let reviewers = admin ? ["admin"] : (requested ?? assigned)
            for reviewer in reviewers where !admin && !assigned.contains(reviewer) {
                throw StoreError(path: path, reason: "\(reviewer) reviews nothing in \(name) (reviewers: \(assigned.prefix(10).joined(separator: ", ")))")
            }
            let time = Timestamp.string(date)
            let expires = Timestamp.string(date.addingTimeInterval(Double(days) * 86_400))
            var tokens: [(String, String)] = []
            for reviewer in reviewers {
                var random = SystemRandomNumberGenerator()
                let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
                let token = "rvt_" + Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                try db.execute(sql: """
                    INSERT INTO review_token (token_hash, campaign_id, reviewer, admin, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [Store.tokenHash(token), campaign.id, reviewer, admin, time, expires])
                tokens.append((reviewer, token))
            }
            try AuditChain.append([AuditDraft(action: "review.invited", subject: "review \(name)", detail: .object([
                "reviewers": .array(reviewers.map(JSONValue.string)), "admin": .bool(admin), "expires": .string(expires),
            ]))], actor: actor, runID: nil, at: time, db: db)
            return tokens
        }
    }

    /// The reviewer a sign-in token names, while it is valid; nil otherwise.
    public func reviewSession(token: String, at date: Date = Date()) throws -> ReviewSession? {
        try writer.read { db in
            try Row.fetchOne(db, sql: """
                SELECT c.name, t.reviewer, t.admin FROM review_token t JOIN review_campaign c ON c.id = t.campaign_id
                WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?
                """, arguments: [Store.tokenHash(token), Timestamp.string(date)]).map { ReviewSession(campaign: $0[0], reviewer: $0[1], admin: $0[2]) }
        }
    }

    /// Inside `apply`'s transaction: the decisions and escalations a review run records.
    static func applyReviews(_ stamp: RunStamp, runID: Int64, at time: String, db: Database) throws {
        for decision in stamp.reviewDecisions {
            try db.execute(sql: """
                UPDATE review_item SET decision = ?, comment = ?, decided_by = ?, decided_at = ?, decided_run = ? WHERE id = ? AND decision IS NULL
                """, arguments: [decision.decision, decision.comment, decision.by, time, runID, decision.item])
            guard db.changesCount == 1 else {
                throw StoreError(path: "review item \(decision.item)", reason: "it was decided meanwhile; nothing was applied")
            }
        }
        for item in stamp.reviewEscalations {
            try db.execute(sql: "UPDATE review_item SET escalated_at = ? WHERE id = ?", arguments: [time, item])
        }
    }
}
