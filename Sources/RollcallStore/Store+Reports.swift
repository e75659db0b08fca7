import Foundation
import GRDB
import RollcallCore

/// A report as a table: what an auditor exports (CSV, JSON) and the review page shows. Every
/// report states what it is based on.
public struct TabularReport: Sendable, Codable {
    public var name: String
    public var title: String
    public var basis: AccessBasis
    public var columns: [String]
    public var rows: [[String?]]
    /// What the reader should know about the data (attributes not read, groups not watched).
    public var notes: [String]

    public init(name: String, title: String, basis: AccessBasis, columns: [String], rows: [[String?]], notes: [String] = []) {
        self.name = name
        self.title = title
        self.basis = basis
        self.columns = columns
        self.rows = rows
        self.notes = notes
    }

    /// Rows as objects keyed by column (the JSON form).
    public var objects: [[String: String?]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row).map { ($0, $1) }) }
    }
}

/// A member of a watched privileged group now.
public struct PrivilegedMember: Sendable {
    public var directory: String
    public var group: String
    public var member: String
    public var employeeID: String?
    public var lifecycle: String?
    public var direct: Bool
    public var since: String
    public var sinceRun: Int64
    /// The run that announced `privileged.unauthorised` for it, while that lasts.
    public var unauthorisedSince: Int64?
}

/// A stored account with what reports need about it.
public struct ReportAccount: Sendable {
    public var directory: String
    public var anchor: String
    public var dn: String
    public var attributesJSON: String
    public var enabled: Bool?
    public var employeeID: String?
    public var lifecycle: String?
    public var displayName: String?
}

extension Store {
    /// The basis of a report about the store as it is now.
    public func currentBasis() throws -> AccessBasis {
        try writer.read { db in
            var basis = try Store.accessBasis(AccessWindow.now, db: db)
            basis.window = "now"
            return basis
        }
    }

    /// Every stored account with its linked person, if any (a cursor: the callback sees one at a time).
    public func reportAccounts(_ body: (ReportAccount) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT a.directory, a.anchor, a.dn, a.attributes, a.enabled, l.employee_id, p.lifecycle, p.display_name
                FROM account a LEFT JOIN link l ON l.directory = a.directory AND l.anchor = a.anchor
                LEFT JOIN person p ON p.employee_id = l.employee_id
                ORDER BY a.directory, a.dn
                """)
            while let row = try rows.next() {
                try body(ReportAccount(directory: row[0], anchor: row[1], dn: row[2], attributesJSON: row[3], enabled: row[4],
                                       employeeID: row[5], lifecycle: row[6], displayName: row[7]))
            }
        }
    }

    /// The watched privileged groups' members now (the open memberships of access history),
    /// with the member's person and the run that opened an unauthorised notice, if one is open.
    public func privilegedMembers() throws -> [PrivilegedMember] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT g.directory, g.dn, m.member_dn, m.employee_id, p.lifecycle, m.direct, m.from_run, m.from_at, u.run_id
                FROM privileged_group g
                JOIN membership_history m ON m.directory = g.directory AND m.group_key = g.group_key AND m.to_run IS NULL
                LEFT JOIN person p ON p.employee_id = m.employee_id
                LEFT JOIN unauthorised_notice u ON u.directory = m.directory AND u.group_key = m.group_key AND u.member_key = m.member_key
                ORDER BY g.dn, m.member_dn
                """).map { row in
                PrivilegedMember(directory: row[0], group: row[1], member: row[2], employeeID: row[3], lifecycle: row[4], direct: row[5],
                                 since: row[7], sinceRun: row[6], unauthorisedSince: row[8])
            }
        }
    }

    /// A stored person by current HR id.
    public func storedPerson(_ id: String) throws -> StoredPerson? {
        try writer.read { db in
            try Row.fetchOne(db, sql: PersonColumns.selectSQL + " WHERE employee_id = ?", arguments: [id]).map(PersonColumns.decode)
        }
    }

    /// The groups (lower-cased DNs) this account is directly in now, among the groups read.
    public func directGroups(directory: String, member: String) throws -> Set<String> {
        try writer.read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT group_key FROM membership_history WHERE directory = ? AND member_key = ? AND direct AND to_run IS NULL
                """, arguments: [directory, member.lowercased()]))
        }
    }

    /// Separation-of-duties violations announced and still open, with the run that announced them.
    public func openViolations() throws -> [(employeeID: String, rule: String, run: Int64, at: String?)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.employee_id, v.rule, v.run_id, r.finished_at FROM violation_notice v LEFT JOIN run r ON r.id = v.run_id
                ORDER BY v.employee_id, v.rule
                """).map { ($0[0], $0[1], $0[2], $0[3]) }
        }
    }

    /// Membership intervals of these groups (lower-cased DNs) overlapping [window.start, window.end).
    public func membershipIntervals(groups: [String], in window: AccessWindow) throws -> [AccessHolding] {
        guard !groups.isEmpty else { return [] }
        return try writer.read { db in
            let marks = Array(repeating: "?", count: groups.count).joined(separator: ",")
            var arguments = StatementArguments(groups)
            arguments += [window.end, window.start]
            return try Row.fetchAll(db, sql: """
                SELECT \(AccessHolding.membershipColumns) FROM membership_history
                WHERE group_key IN (\(marks)) AND from_at < ? AND (to_at IS NULL OR to_at > ?)
                ORDER BY employee_id, from_at
                """, arguments: arguments).map(AccessHolding.membership)
        }
    }
}

extension AccessWindow {
    /// This second.
    public static var now: AccessWindow {
        AccessWindow(Timestamp.string(Date())) ?? AccessWindow(start: "", end: "", description: "now")
    }

    /// A span given by its ends (ISO 8601 UTC).
    public init(start: String, end: String, description: String) {
        self.start = start
        self.end = end
        self.description = description
    }
}
