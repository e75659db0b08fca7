import Foundation
import GRDB
import RollcallCore

/// Access history: intervals of what each person, link, account state and group membership was,
/// written in each run's transaction from its plan (docs/governance.md). Rows are open
/// (`to_run` NULL) while the thing lasts; the run that sees it end closes them.
enum History {
    /// A person's HR attributes as stored in `person_history.attributes`: canonical JSON with the
    /// keys of an event's `person` object.
    static func attributesJSON(_ a: PersonAttributes) -> String {
        var out = CanonicalJSON.Writer(capacity: 320)
        out.person(a)
        return out.text
    }

    /// Writes `plan`'s link, account and membership changes to the history tables. Inside the
    /// run's transaction, after the current tables were updated and before purges (which remove
    /// the purged persons' rows). Persons are written before the person rows change (`persons`).
    static func apply(_ plan: Plan, runID: Int64, at time: String, db: Database) throws {
        try links(plan, runID: runID, at: time, db: db)
        try accounts(plan, runID: runID, at: time, db: db)
        if let changes = plan.memberships { try memberships(changes, runID: runID, at: time, db: db) }
    }

    /// A person's versions. The open interval holds no attributes: they are the person row's
    /// (a first load writes one small row per person, not a second copy of everyone). When
    /// lifecycle or HR attributes change, the open interval is closed with the attributes the
    /// person row still holds, and a new open one starts. Call before the person rows are updated.
    static func persons(_ upserts: [StoredPerson], runID: Int64, at time: String, db: Database) throws {
        guard !upserts.isEmpty else { return }
        // A first load finds no open interval: nothing to compare or close, one insert each.
        let anyOpen = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM person_history WHERE to_run IS NULL)") ?? true
        let open = try db.cachedStatement(sql: "SELECT id FROM person_history WHERE employee_id = ? AND to_run IS NULL")
        let current = try db.cachedStatement(sql: PersonColumns.selectSQL + " WHERE employee_id = ?")
        var close = try RowWriter(db, sql: "UPDATE person_history SET to_run = ?, to_at = ?, attributes = ? WHERE id = ?")
        var insert = try RowWriter(db, sql: "INSERT INTO person_history (employee_id, lifecycle, from_run, from_at) VALUES (?, ?, ?, ?)")
        for person in upserts {
            if anyOpen, let id = try Int64.fetchOne(open, arguments: [person.employeeID]) {
                var past: String?
                if let row = try Row.fetchOne(current, arguments: [person.employeeID]) {
                    let before = try PersonColumns.decode(row)
                    // Other columns (source, missing_since) change the person row, not what they were.
                    if before.lifecycle == person.lifecycle && before.attributes == person.attributes { continue }
                    past = attributesJSON(before.attributes)
                }
                close.int(runID)
                close.text(time)
                close.text(past)
                close.int(id)
                try close.step()
            }
            insert.text(person.employeeID)
            insert.text(person.lifecycle.rawValue)
            insert.int(runID)
            insert.text(time)
            try insert.step()
        }
    }

    private static func links(_ plan: Plan, runID: Int64, at time: String, db: Database) throws {
        guard !plan.linkRemovals.isEmpty || !plan.linkUpserts.isEmpty else { return }
        var close = try RowWriter(db, sql: "UPDATE link_history SET to_run = ?, to_at = ? WHERE employee_id = ? AND directory = ? AND to_run IS NULL")
        func end(_ employeeID: String, _ directory: String) throws {
            close.int(runID)
            close.text(time)
            close.text(employeeID)
            close.text(directory)
            try close.step()
        }
        for link in plan.linkRemovals { try end(link.employeeID, link.directory) }
        guard !plan.linkUpserts.isEmpty else { return }
        var dns: [AccountKey: String] = [:]
        for account in plan.accountUpserts { dns[AccountKey(directory: account.directory, anchor: account.anchor)] = account.dn }
        let storedDN = try db.cachedStatement(sql: "SELECT dn FROM account WHERE directory = ? AND anchor = ?")
        let anyOpen = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM link_history WHERE to_run IS NULL)") ?? true
        var insert = try RowWriter(db, sql: "INSERT INTO link_history (employee_id, directory, anchor, dn, from_run, from_at) VALUES (?, ?, ?, ?, ?, ?)")
        for link in plan.linkUpserts {
            if anyOpen { try end(link.employeeID, link.directory) }
            let dn = try dns[AccountKey(directory: link.directory, anchor: link.anchor)]
                ?? String.fetchOne(storedDN, arguments: [link.directory, link.anchor]) ?? ""
            for text in [link.employeeID, link.directory, link.anchor, dn] { insert.text(text) }
            insert.int(runID)
            insert.text(time)
            try insert.step()
        }
    }

    /// Enabled or disabled, where the directory reports it (`disabled_when`, Active Directory).
    private static func accounts(_ plan: Plan, runID: Int64, at time: String, db: Database) throws {
        let stating = plan.accountUpserts.filter { $0.enabled != nil }
        guard !stating.isEmpty || !plan.accountRemovals.isEmpty else { return }
        var close = try RowWriter(db, sql: "UPDATE account_history SET to_run = ?, to_at = ? WHERE id = ?")
        func end(_ id: Int64) throws {
            close.int(runID)
            close.text(time)
            close.int(id)
            try close.step()
        }
        let open = try db.cachedStatement(sql: "SELECT id, enabled, dn FROM account_history WHERE directory = ? AND anchor = ? AND to_run IS NULL")
        for key in plan.accountRemovals {
            if let row = try Row.fetchOne(open, arguments: [key.directory, key.anchor]) { try end(row[0]) }
        }
        let anyOpen = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account_history WHERE to_run IS NULL)") ?? true
        var insert = try RowWriter(db, sql: "INSERT INTO account_history (directory, anchor, dn, enabled, from_run, from_at) VALUES (?, ?, ?, ?, ?, ?)")
        for account in stating {
            if anyOpen, let row = try Row.fetchOne(open, arguments: [account.directory, account.anchor]) {
                if row[1] == account.enabled && row[2] == account.dn { continue }
                try end(row[0])
            }
            for text in [account.directory, account.anchor, account.dn] { insert.text(text) }
            insert.bool(account.enabled)
            insert.int(runID)
            insert.text(time)
            try insert.step()
        }
    }

    private static func memberships(_ changes: MembershipChanges, runID: Int64, at time: String, db: Database) throws {
        var close = try RowWriter(db, sql: """
            UPDATE membership_history SET to_run = ?, to_at = ? WHERE directory = ? AND group_key = ? AND member_key = ? AND to_run IS NULL
            """)
        for key in changes.ended {
            close.int(runID)
            close.text(time)
            for text in [key.directory, key.group, key.member] { close.text(text) }
            try close.step()
        }
        var insert = try RowWriter(db, sql: """
            INSERT INTO membership_history (directory, group_key, group_dn, member_key, member_dn, direct, employee_id, from_run, from_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for membership in changes.started {
            for text in [membership.key.directory, membership.key.group, membership.groupDN, membership.key.member, membership.memberDN] {
                insert.text(text)
            }
            insert.bool(membership.direct)
            insert.text(membership.employeeID)
            insert.int(runID)
            insert.text(time)
            try insert.step()
        }
    }

    /// The open memberships: the state membership planning compares a run's read with.
    static func openMemberships(_ db: Database) throws -> [MembershipKey: Membership] {
        var result: [MembershipKey: Membership] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT directory, group_key, member_key, group_dn, member_dn, direct, employee_id FROM membership_history WHERE to_run IS NULL
            """)
        while let row = try rows.next() {
            let key = MembershipKey(directory: row[0], group: row[1], member: row[2])
            result[key] = Membership(key: key, groupDN: row[3], memberDN: row[4], direct: row[5], employeeID: row[6])
        }
        return result
    }

    /// A purge removes the persons in the `purging` temp table from history: their person and
    /// link intervals, the state intervals of the accounts they were linked to, and their
    /// finished memberships; a membership still open (an account left in a group) stays, no
    /// longer theirs.
    static func purge(db: Database) throws {
        try db.execute(sql: """
            DELETE FROM account_history WHERE EXISTS (
                SELECT 1 FROM link_history l JOIN purging p ON l.employee_id = p.employee_id
                WHERE l.directory = account_history.directory AND l.anchor = account_history.anchor);
            DELETE FROM person_history WHERE employee_id IN (SELECT employee_id FROM purging);
            DELETE FROM link_history WHERE employee_id IN (SELECT employee_id FROM purging);
            DELETE FROM membership_history WHERE employee_id IN (SELECT employee_id FROM purging) AND to_run IS NOT NULL;
            UPDATE membership_history SET employee_id = NULL WHERE employee_id IN (SELECT employee_id FROM purging);
            DELETE FROM review_item WHERE employee_id IN (SELECT employee_id FROM purging);
            """)
    }

    /// Open intervals for what a store holds when access history is added to it (the upgrade to
    /// v25): known since its newest applied run.
    static func seed(_ db: Database) throws {
        guard let newest = try Row.fetchOne(db, sql: "SELECT id, finished_at FROM run WHERE status = 'applied' ORDER BY id DESC LIMIT 1"),
              let runID: Int64 = newest[0], let time: String = newest[1] else { return }
        try db.execute(sql: """
            INSERT INTO person_history (employee_id, lifecycle, from_run, from_at) SELECT employee_id, lifecycle, ?, ? FROM person ORDER BY employee_id;
            """, arguments: [runID, time])
        try db.execute(sql: """
            INSERT INTO link_history (employee_id, directory, anchor, dn, from_run, from_at)
                SELECT l.employee_id, l.directory, l.anchor, COALESCE(a.dn, ''), ?, ? FROM link l
                LEFT JOIN account a ON a.directory = l.directory AND a.anchor = l.anchor;
            INSERT INTO account_history (directory, anchor, dn, enabled, from_run, from_at)
                SELECT directory, anchor, dn, enabled, ?, ? FROM account WHERE enabled IS NOT NULL;
            """, arguments: [runID, time, runID, time])
    }
}
