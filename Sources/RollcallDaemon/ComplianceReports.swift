import Foundation
import RollcallCore
import RollcallDirectory
import RollcallStore

/// The reports auditors ask for, each a table that states the run and audit head it is based on
/// (docs/governance.md). Read from the store alone; the configuration supplies the policy
/// (privileged groups, separation-of-duties rules, `reports.dormant_after_days`).
public struct ComplianceReports: Sendable {
    public enum Name: String, Sendable, CaseIterable {
        case orphans, dormant, leavers, privileged, violations, hygiene
    }

    let configuration: ResolvedConfiguration
    let store: Store
    let now: Date

    public init(configuration: ResolvedConfiguration, store: Store, now: Date = Date()) {
        self.configuration = configuration
        self.store = store
        self.now = now
    }

    /// Accounts no person is linked to.
    public func orphans() throws -> TabularReport {
        var rows: [[String?]] = []
        try store.reportAccounts { account in
            guard account.employeeID == nil else { return }
            rows.append([account.directory, account.anchor, account.dn, Self.state(account.enabled)])
        }
        return TabularReport(name: "orphans", title: "Accounts no HR person is linked to", basis: try store.currentBasis(),
                             columns: ["directory", "anchor", "dn", "state"], rows: rows)
    }

    /// Accounts whose last logon is older than `days` (Active Directory's lastLogonTimestamp,
    /// OpenLDAP's pwdLastSuccess), read from the attributes stored at the last run.
    public func dormant(days: Int? = nil) throws -> TabularReport {
        let days = days ?? configuration.dormantAfterDays
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        var rows: [[String?]] = []
        var withLogon: Set<String> = []
        var directories: Set<String> = []
        var never: [String: [[String?]]] = [:]
        try store.reportAccounts { account in
            directories.insert(account.directory)
            let attributes = CanonicalJSON.attributeMap(account.attributesJSON) ?? [:]
            let logon = attributes.first { ["lastlogontimestamp", "pwdlastsuccess"].contains($0.key.lowercased()) }
            guard let logon else {
                never[account.directory, default: []].append([account.directory, account.dn, account.employeeID, account.lifecycle,
                                                               Self.state(account.enabled), nil, nil])
                return
            }
            withLogon.insert(account.directory)
            let last = logon.value.first.flatMap { logon.key.lowercased() == "pwdlastsuccess" ? ADValues.generalizedTime($0) : ADValues.fileTime($0) }
            guard last.map({ $0 < cutoff }) ?? true else { return }
            rows.append([account.directory, account.dn, account.employeeID, account.lifecycle, Self.state(account.enabled),
                         last.map { Timestamp.day($0) }, last.map { String(Int(now.timeIntervalSince($0) / 86_400)) }])
        }
        // An account without the attribute never logged on, in a directory that reports logons at all.
        for directory in withLogon { rows += never[directory] ?? [] }
        var notes = ["last logon older than \(days) days (before \(Timestamp.day(cutoff))), or never; Active Directory updates lastLogonTimestamp only every 9 to 14 days"]
        for directory in directories.subtracting(withLogon).sorted() {
            notes.append("directory \(directory): no account carries lastLogonTimestamp or pwdLastSuccess; add the attribute to the directory's attributes (OpenLDAP 2.5+ keeps pwdLastSuccess with olcLastBind: TRUE on the database) to report dormancy")
        }
        rows.sort { ($0[0] ?? "", $0[1] ?? "") < ($1[0] ?? "", $1[1] ?? "") }
        return TabularReport(name: "dormant", title: "Dormant accounts", basis: try store.currentBasis(),
                             columns: ["directory", "dn", "hr_id", "lifecycle", "state", "last_logon", "days_since"], rows: rows, notes: notes)
    }

    /// Terminated and deprovisioned persons whose linked accounts are not known to be disabled.
    public func leavers() throws -> TabularReport {
        var rows: [[String?]] = []
        var unknown: Set<String> = []
        try store.reportAccounts { account in
            guard let id = account.employeeID, let lifecycle = account.lifecycle,
                  [LifecycleState.terminated.rawValue, LifecycleState.deprovisioned.rawValue].contains(lifecycle),
                  account.enabled != false else { return }
            if account.enabled == nil { unknown.insert(account.directory) }
            rows.append([id, account.displayName, lifecycle, account.directory, account.dn, Self.state(account.enabled)])
        }
        rows.sort { ($0[0] ?? "", $0[3] ?? "") < ($1[0] ?? "", $1[3] ?? "") }
        let notes = unknown.sorted().map { "directory \($0) does not report whether an account is enabled (configure disabled_when): its leavers' accounts are listed as unknown" }
        return TabularReport(name: "leavers", title: "Leavers with accounts not known to be disabled", basis: try store.currentBasis(),
                             columns: ["hr_id", "display_name", "lifecycle", "directory", "dn", "state"], rows: rows, notes: notes)
    }

    /// Members of watched privileged groups now, and what authorises each: a birthright rule
    /// (on the group or on a group nested in it), `allowed_members`, or nothing (unauthorised).
    public func privileged() throws -> TabularReport {
        let policy = configuration.entitlements?.policy
        let allowed = Set((policy?.privileged?.allowedMembers ?? []).map { $0.lowercased() })
        var rows: [[String?]] = []
        var persons: [String: StoredPerson] = [:]
        for member in try store.privilegedMembers() {
            var authorised: String
            if let run = member.unauthorisedSince {
                authorised = "unauthorised (announced in run \(run))"
            } else if allowed.contains(member.member.lowercased()) {
                authorised = "allowed_members"
            } else if let id = member.employeeID, let policy {
                if persons[id] == nil { persons[id] = try store.storedPerson(id) }
                let held = member.direct ? [member.group.lowercased()]
                    : Array(try store.directGroups(directory: member.directory, member: member.member))
                let rules = policy.birthright.filter { rule in
                    (rule.group.lowercased() == member.group.lowercased() || held.contains(rule.group.lowercased()))
                        && persons[id].map { rule.condition.matches($0.attributes) } == true
                }.map(\.name)
                authorised = rules.isEmpty ? "no rule now (not yet re-checked by a run)" : "rules: " + rules.joined(separator: ", ")
            } else {
                authorised = "no person's account"
            }
            rows.append([member.directory, member.group, member.member, member.employeeID, member.lifecycle, member.direct ? "direct" : "nested",
                         member.since, String(member.sinceRun), authorised])
        }
        var notes: [String] = []
        if policy?.privileged == nil && rows.isEmpty { notes.append("no privileged groups are watched (entitlements.privileged)") }
        return TabularReport(name: "privileged", title: "Privileged memberships and what authorises them", basis: try store.currentBasis(),
                             columns: ["directory", "group", "member", "hr_id", "lifecycle", "how", "since", "since_run", "authorised_by"],
                             rows: rows, notes: notes)
    }

    /// Separation-of-duties violations: open now (as announced), or during a period (from the
    /// membership history: two groups of a rule held at the same time within the period).
    public func violations(during window: (from: AccessWindow, to: AccessWindow)? = nil) throws -> TabularReport {
        guard let window else {
            let rows = try store.openViolations().map { [$0.employeeID, $0.rule, String($0.run), $0.at] as [String?] }
            return TabularReport(name: "violations", title: "Separation-of-duties violations open now", basis: try store.currentBasis(),
                                 columns: ["hr_id", "rule", "since_run", "since"], rows: rows)
        }
        let period = AccessWindow(start: window.from.start, end: window.to.end, description: "from \(window.from.start) to \(window.to.end)")
        var rows: [[String?]] = []
        for rule in configuration.entitlements?.policy.separation ?? [] {
            let groups = rule.groups.map { $0.lowercased() }
            let intervals = try store.membershipIntervals(groups: groups, in: period)
            // By holder (the person, else the member account), each group's intervals clipped to the period.
            struct Holder: Hashable, Comparable {
                var hrID: String?
                var member: String?
                static func < (a: Holder, b: Holder) -> Bool { (a.hrID ?? "", a.member ?? "") < (b.hrID ?? "", b.member ?? "") }
            }
            var byHolder: [Holder: [(group: String, from: String, to: String)]] = [:]
            for holding in intervals {
                let from = max(holding.from, period.start)
                let to = min(holding.to ?? period.end, period.end)
                // A person's memberships count together whichever of their accounts holds them.
                let holder = holding.hrID.map { Holder(hrID: $0, member: nil) } ?? Holder(hrID: nil, member: holding.member.lowercased())
                byHolder[holder, default: []].append((holding.dn, from, to))
            }
            for (holder, held) in byHolder.sorted(by: { $0.key < $1.key }) {
                // Every pair of different groups whose intervals overlap.
                var found: [(groups: String, from: String, to: String)] = []
                for (i, a) in held.enumerated() {
                    for b in held[(i + 1)...] where a.group.lowercased() != b.group.lowercased() {
                        let from = max(a.from, b.from)
                        let to = min(a.to, b.to)
                        if from < to { found.append(([a.group, b.group].sorted().joined(separator: " + "), from, to)) }
                    }
                }
                for overlap in found.sorted(by: { ($0.from, $0.groups) < ($1.from, $1.groups) }) {
                    rows.append([holder.hrID, holder.member, rule.name, overlap.groups, overlap.from, overlap.to])
                }
            }
        }
        var basis = try store.currentBasis()
        basis.window = period.description
        let notes = (configuration.entitlements?.policy.separation ?? []).isEmpty ? ["no separation_of_duties rules are configured"] : []
        return TabularReport(name: "violations", title: "Separation-of-duties violations during a period", basis: basis,
                             columns: ["hr_id", "member", "rule", "groups", "from", "to"], rows: rows, notes: notes)
    }

    /// HR data quality over the last runs: records rejected, warnings, persons missing, ambiguous matches.
    public func hygiene(runs count: Int = 10) throws -> TabularReport {
        var rows: [[String?]] = []
        for run in try store.runs(limit: count) {
            let report = run.report
            var reasons: [String: Int] = [:]
            if case .array(let rejected)? = report?["rejected_rows"] {
                for row in rejected { reasons[row["reason"]?.stringValue ?? "?", default: 0] += 1 }
            }
            let top = reasons.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3).map { "\($0.value)× \($0.key)" }.joined(separator: "; ")
            func count(_ key: String) -> String? {
                if case .array(let items)? = report?[key] { return String(items.count) }
                return nil
            }
            rows.append([String(run.id), run.finishedAt ?? run.startedAt, run.status, run.summary.map { String($0.personsRead) },
                         run.summary.map { String($0.rejectedRows) } ?? count("rejected_rows"), count("warnings"),
                         run.summary.map { String($0.missingFromHR) }, run.summary.map { String($0.ambiguous) }, top])
        }
        return TabularReport(name: "hygiene", title: "HR data quality over the last \(count) runs", basis: try store.currentBasis(),
                             columns: ["run", "at", "status", "persons_read", "rejected_rows", "warnings", "missing_from_hr", "ambiguous", "top_reasons"],
                             rows: rows)
    }

    static func state(_ enabled: Bool?) -> String {
        enabled.map { $0 ? "enabled" : "disabled" } ?? "unknown"
    }
}

extension Timestamp {
    /// The UTC day of a date, YYYY-MM-DD.
    static func day(_ date: Date) -> String { String(Timestamp.string(date).prefix(10)) }
}
