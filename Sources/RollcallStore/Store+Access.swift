import Foundation
import GRDB
import RollcallCore

/// A span of time access questions are asked about: an instant (`2026-03-31T17:00:00Z`) or a
/// whole UTC day (`2026-03-31`: anything held at any moment of that day).
public struct AccessWindow: Sendable, Hashable, CustomStringConvertible {
    /// ISO 8601 UTC, second precision: intervals that overlap [start, end) count.
    public var start: String
    public var end: String
    public var description: String

    /// From `YYYY-MM-DD` or an ISO 8601 date-time with a zone; nil for anything else.
    public init?(_ text: String) {
        if let day = Day(iso: text), text.count == 10 {
            start = "\(day.description)T00:00:00Z"
            end = "\(day.adding(days: 1).description)T00:00:00Z"
            description = "the day \(day.description) (UTC)"
            return
        }
        guard let date = Timestamp.date(text) else { return nil }
        start = Timestamp.string(date)
        end = Timestamp.string(date.addingTimeInterval(1))
        description = "the instant \(start)"
    }
}

/// One thing a person (or an account no person is linked to) held: an account or a group
/// membership, with the interval the store knows it for.
public struct AccessHolding: Sendable, Hashable, Codable {
    /// `account` (a link to a directory account) or `group` (a membership of a group Rollcall reads).
    public var kind: String
    public var hrID: String?
    public var directory: String
    /// The account's DN, or the group's.
    public var dn: String
    /// Accounts: the anchor. Groups: the member account's DN.
    public var member: String
    /// Accounts: `enabled`, `disabled` (where the directory reports it) or nil. Groups: `direct` or `nested`.
    public var state: String?
    public var fromRun: Int64
    public var from: String
    public var toRun: Int64?
    public var to: String?

    enum CodingKeys: String, CodingKey {
        case kind, directory, dn, member, state, from, to
        case hrID = "hr_id"
        case fromRun = "from_run"
        case toRun = "to_run"
    }
}

/// A person as they were in the window, with what they held.
public struct AccessPerson: Sendable, Hashable, Codable {
    public var hrID: String
    public var lifecycle: String
    /// The HR attributes (the keys of an event's `person`).
    public var attributes: JSONValue
    public var holdings: [AccessHolding]

    enum CodingKeys: String, CodingKey {
        case lifecycle, attributes, holdings
        case hrID = "hr_id"
    }
}

/// What the answer is based on: the newest run applied by the end of the window and the audit
/// head when the answer was produced (an auditor's export names both).
public struct AccessBasis: Sendable, Hashable, Codable {
    public var window: String
    public var newestRun: Int64?
    public var newestRunAt: String?
    public var auditHead: String?
    public var historySince: String?

    enum CodingKeys: String, CodingKey {
        case window
        case newestRun = "newest_run"
        case newestRunAt = "newest_run_at"
        case auditHead = "audit_head"
        case historySince = "history_since"
    }
}

public struct AccessReport: Sendable, Hashable, Codable {
    public var basis: AccessBasis
    public var persons: [AccessPerson]
    /// Group members that were no person's account in the window (service accounts, orphans).
    public var unowned: [AccessHolding]
}

/// A holding that began (`granted`) or ended (`removed`) between two times.
public struct AccessChange: Sendable, Hashable, Codable {
    public var change: String
    public var run: Int64
    public var at: String
    public var holding: AccessHolding
}

extension AccessHolding {
    /// The columns `membership(_:)` reads, in its order.
    static let membershipColumns = "employee_id, directory, group_dn, member_dn, direct, from_run, from_at, to_run, to_at"

    /// A `membership_history` row selected with `membershipColumns`.
    static func membership(_ row: Row) -> AccessHolding {
        let direct: Bool = row[4]
        return AccessHolding(kind: "group", hrID: row[0], directory: row[1], dn: row[2], member: row[3],
                             state: direct ? "direct" : "nested", fromRun: row[5], from: row[6], toRun: row[7], to: row[8])
    }
}

/// How a person was in a window, from their versions: the stored attributes of a past version,
/// or (an open version holds none) the person row's.
struct PersonDescriber {
    let current: Statement
    let lastVersion: Statement
    let end: String

    init(_ db: Database, window: AccessWindow) throws {
        current = try db.cachedStatement(sql: PersonColumns.selectSQL + " WHERE employee_id = ?")
        lastVersion = try db.cachedStatement(sql: """
            SELECT lifecycle, attributes FROM person_history WHERE employee_id = ? AND from_at < ? ORDER BY from_at DESC LIMIT 1
            """)
        end = window.end
    }

    /// The person from a version's lifecycle and stored attributes (nil: an open version).
    func person(_ id: String, lifecycle: String, attributes stored: String?, holdings: [AccessHolding]) throws -> AccessPerson {
        var text = stored
        if text == nil, let row = try Row.fetchOne(current, arguments: [id]) {
            text = History.attributesJSON(try PersonColumns.decode(row).attributes)
        }
        return AccessPerson(hrID: id, lifecycle: lifecycle, attributes: text.map { CanonicalJSON.value($0) ?? .string($0) } ?? .null,
                            holdings: holdings)
    }

    /// The person as their last version before the window's end describes them; nil when none.
    func lastSeen(_ id: String, holdings: [AccessHolding]) throws -> AccessPerson? {
        guard let row = try Row.fetchOne(lastVersion, arguments: [id, end]) else { return nil }
        return try person(id, lifecycle: row[0], attributes: row[1], holdings: holdings)
    }
}

extension Store {
    /// Who held what in `window`, from the history tables alone (no directory read).
    /// `person` (current or former HR id) or `group` (DN, any case) narrows it.
    public func access(in window: AccessWindow, person: String? = nil, group: String? = nil) throws -> AccessReport {
        guard group == nil else { return try accessOfGroup(in: window, group: group) }
        var persons: [AccessPerson] = []
        let (basis, unowned) = try access(in: window, person: person, begin: { _ in }) { persons.append($0) }
        return AccessReport(basis: basis, persons: persons, unowned: unowned)
    }

    /// The same answer for everyone (or one person), one person at a time in HR id order, so that
    /// a million persons are never held at once: the person, link and membership intervals are
    /// read as three cursors ordered by HR id and merged.
    /// `begin` gets the basis before the first person.
    public func access(in window: AccessWindow, person: String? = nil, begin: (AccessBasis) throws -> Void,
                       each: (AccessPerson) throws -> Void) throws -> (basis: AccessBasis, unowned: [AccessHolding]) {
        try writer.read { db in
            let basis = try Store.accessBasis(window, db: db)
            try begin(basis)
            let id = try person.map { try String.fetchOne(db, sql: "SELECT employee_id FROM person_alias WHERE former_id = ?", arguments: [$0]) ?? $0 }
            let only = id == nil ? "" : " AND employee_id = ?"
            func arguments(_ count: Int) -> StatementArguments {
                var arguments: StatementArguments = []
                for _ in 0..<count { arguments += [window.end, window.start] }
                if let id { arguments += [id] }
                return arguments
            }
            let overlap = "from_at < ? AND (to_at IS NULL OR to_at > ?)"
            let persons = try Row.fetchCursor(try db.makeStatement(sql: """
                SELECT employee_id, lifecycle, attributes FROM person_history WHERE \(overlap)\(only) ORDER BY employee_id, from_at
                """), arguments: arguments(1))
            let links = try Row.fetchCursor(try db.makeStatement(sql: """
                SELECT l.employee_id, l.directory, l.dn, l.anchor, l.from_run, l.from_at, l.to_run, l.to_at,
                       (SELECT a.enabled FROM account_history a WHERE a.directory = l.directory AND a.anchor = l.anchor
                           AND a.from_at < ? AND (a.to_at IS NULL OR a.to_at > ?) ORDER BY a.from_at DESC LIMIT 1)
                FROM link_history l WHERE l.\(overlap)\(id == nil ? "" : " AND l.employee_id = ?") ORDER BY l.employee_id, l.directory, l.from_at
                """), arguments: arguments(2))
            let memberships = try Row.fetchCursor(try db.makeStatement(sql: """
                SELECT \(AccessHolding.membershipColumns)
                FROM membership_history WHERE \(overlap) AND employee_id IS NOT NULL\(only) ORDER BY employee_id, group_key, member_key, from_at
                """), arguments: arguments(1))
            let describer = try PersonDescriber(db, window: window)
            func link(_ row: Row) -> AccessHolding {
                let enabled: Bool? = row[8]
                return AccessHolding(kind: "account", hrID: row[0], directory: row[1], dn: row[2], member: row[3],
                                     state: enabled.map { $0 ? "enabled" : "disabled" }, fromRun: row[4], from: row[5], toRun: row[6], to: row[7])
            }
            // SQLite orders text by its bytes: compare the same way.
            func before(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
            var nextPerson = try persons.next()
            var nextLink = try links.next()
            var nextMembership = try memberships.next()
            var unowned: [AccessHolding] = []
            while true {
                let heads = [nextPerson?[0] as String?, nextLink?[0] as String?, nextMembership?[0] as String?].compactMap { $0 }
                guard let owner = heads.min(by: before) else { break }
                // The person's versions in the window: the last describes them.
                var described: (lifecycle: String, attributes: String?)?
                while let row = nextPerson, (row[0] as String) == owner {
                    described = (row[1], row[2])
                    nextPerson = try persons.next()
                }
                var holdings: [AccessHolding] = []
                while let row = nextLink, (row[0] as String) == owner {
                    holdings.append(link(row))
                    nextLink = try links.next()
                }
                while let row = nextMembership, (row[0] as String) == owner {
                    holdings.append(AccessHolding.membership(row))
                    nextMembership = try memberships.next()
                }
                let person = try described.map { try describer.person(owner, lifecycle: $0.lifecycle, attributes: $0.attributes, holdings: holdings) }
                    ?? describer.lastSeen(owner, holdings: holdings)
                guard let person else {
                    unowned += holdings
                    continue
                }
                try each(person)
            }
            if id == nil {
                unowned += try Row.fetchAll(db, sql: """
                    SELECT \(AccessHolding.membershipColumns) FROM membership_history
                    WHERE \(overlap) AND employee_id IS NULL ORDER BY group_key, member_key, from_at
                    """, arguments: [window.end, window.start]).map(AccessHolding.membership)
            }
            return (basis, unowned)
        }
    }

    /// One group's members in the window (small: held whole), each with the person whose account
    /// it was, as the window last saw them.
    private func accessOfGroup(in window: AccessWindow, group: String?) throws -> AccessReport {
        try writer.read { db in
            let basis = try Store.accessBasis(window, db: db)
            let describer = try PersonDescriber(db, window: window)
            var persons: [String: AccessPerson] = [:]
            var unowned: [AccessHolding] = []
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(AccessHolding.membershipColumns)
                FROM membership_history WHERE from_at < ? AND (to_at IS NULL OR to_at > ?) AND group_key = ?
                ORDER BY group_key, member_key, from_at
                """, arguments: [window.end, window.start, group?.lowercased()])
            for holding in rows.map(AccessHolding.membership) {
                if let owner = holding.hrID, persons[owner] == nil, let person = try describer.lastSeen(owner, holdings: []) {
                    persons[owner] = person
                }
                guard let owner = holding.hrID, persons[owner] != nil else {
                    unowned.append(holding)
                    continue
                }
                persons[owner]?.holdings.append(holding)
            }
            let ordered = persons.values.sorted { $0.hrID.utf8.lexicographicallyPrecedes($1.hrID.utf8) }
            return AccessReport(basis: basis, persons: ordered, unowned: unowned)
        }
    }

    /// Holdings granted (begun) and removed (ended) within [from.start, to.end): group
    /// memberships, account links, and accounts enabled or disabled.
    public func accessChanges(from: AccessWindow, to: AccessWindow) throws -> (basis: AccessBasis, changes: [AccessChange]) {
        try writer.read { db in
            let start = from.start
            let end = to.end
            var basis = try Store.accessBasis(to, db: db)
            basis.window = "from \(from.start) to \(to.end)"
            var changes: [AccessChange] = []
            func collect(_ sql: String, _ make: (Row) -> AccessHolding) throws {
                for row in try Row.fetchAll(db, sql: sql + " WHERE from_at >= ? AND from_at < ?", arguments: [start, end]) {
                    let holding = make(row)
                    changes.append(AccessChange(change: "granted", run: holding.fromRun, at: holding.from, holding: holding))
                }
                for row in try Row.fetchAll(db, sql: sql + " WHERE to_at >= ? AND to_at < ?", arguments: [start, end]) {
                    let holding = make(row)
                    if let run = holding.toRun, let at = holding.to { changes.append(AccessChange(change: "removed", run: run, at: at, holding: holding)) }
                }
            }
            try collect("SELECT \(AccessHolding.membershipColumns) FROM membership_history", AccessHolding.membership)
            try collect("SELECT employee_id, directory, dn, anchor, from_run, from_at, to_run, to_at FROM link_history") { row in
                AccessHolding(kind: "account", hrID: row[0], directory: row[1], dn: row[2], member: row[3], state: "linked",
                              fromRun: row[4], from: row[5], toRun: row[6], to: row[7])
            }
            // Enabled intervals only: an account enabled is access granted, its end access removed.
            try collect("""
                SELECT (SELECT l.employee_id FROM link_history l WHERE l.directory = a.directory AND l.anchor = a.anchor ORDER BY l.from_at DESC LIMIT 1),
                       a.directory, a.dn, a.anchor, a.from_run, a.from_at, a.to_run, a.to_at
                FROM (SELECT * FROM account_history WHERE enabled) a
                """) { row in
                AccessHolding(kind: "account", hrID: row[0], directory: row[1], dn: row[2], member: row[3], state: "enabled",
                              fromRun: row[4], from: row[5], toRun: row[6], to: row[7])
            }
            changes.sort { ($0.at, $0.run, $0.holding.hrID ?? "", $0.holding.dn, $0.change) < ($1.at, $1.run, $1.holding.hrID ?? "", $1.holding.dn, $1.change) }
            return (basis, changes)
        }
    }

    static func accessBasis(_ window: AccessWindow, db: Database) throws -> AccessBasis {
        let newest = try Row.fetchOne(db, sql: "SELECT id, finished_at FROM run WHERE status = 'applied' AND finished_at < ? ORDER BY id DESC LIMIT 1",
                                      arguments: [window.end])
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        // Rows are only ever appended, so each table's first row is its oldest (no scan of either).
        let since = try String.fetchOne(db, sql: """
            SELECT MIN(from_at) FROM (SELECT from_at FROM (SELECT from_at FROM person_history ORDER BY id LIMIT 1)
                                      UNION ALL SELECT from_at FROM (SELECT from_at FROM membership_history ORDER BY id LIMIT 1))
            """)
        return AccessBasis(window: window.description, newestRun: newest?[0], newestRunAt: newest?[1],
                           auditHead: head.map { "\($0[0] as Int64):\($0[1] as String)" }, historySince: since)
    }
}
