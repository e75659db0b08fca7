import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// The compliance reports against a real slapd and store: days of runs with an orphan account, a
/// leaver, privileged members with and without a rule, a separation-of-duties violation that
/// came and went, and a bad HR row.
@Suite struct ComplianceReportTests {
    static let groups = "ou=services,dc=example,dc=test"
    static let payments = "cn=payments-approve,\(groups)"
    static let create = "cn=ap-create,\(groups)"
    static let approve = "cn=ap-approve,\(groups)"

    static func day(_ number: Int) -> @Sendable () -> Date {
        { Date(timeIntervalSince1970: 1_772_344_800 + Double(number - 1) * 86_400) }  // 2026-03-01T06:00:00Z + days
    }

    static func column(_ report: TabularReport, _ name: String) -> [String?] {
        guard let index = report.columns.firstIndex(of: name) else { return [] }
        return report.rows.map { $0[index] }
    }

    @Test func orphansLeaversPrivilegedViolationsAndHygiene() async throws {
        let rows = ReconcileJobTests.row(1) + ReconcileJobTests.row(2, department: "Finance") + ReconcileJobTests.row(3) + ReconcileJobTests.row(4)
        let world = try await ReconcileJobTests.world(people: 5, rows: rows, onBadRows: "skip", extra: """
            entitlements:
              groups: {base_dn: "\(Self.groups)", filter: "(objectClass=groupOfNames)"}
              birthright:
                - {name: finance-approvers, group: "\(Self.payments)", when: {department: {equals: Finance}}}
              separation_of_duties:
                - {name: ap, groups: ["\(Self.create)", "\(Self.approve)"]}
              privileged:
                groups: ["\(Self.payments)"]
            """)
        let p = { (i: Int) in "uid=p\(i),ou=people,dc=example,dc=test" }
        func group(_ dn: String, _ cn: String, _ members: [String]) -> String {
            "dn: \(dn)\nchangetype: add\nobjectClass: groupOfNames\ncn: \(cn)\n" + members.map { "member: \($0)\n" }.joined() + "\n"
        }
        try await world.slapd.modify(group(Self.payments, "payments-approve", [p(1), p(2), p(5)]) + group(Self.create, "ap-create", [p(2)])
                                     + group(Self.approve, "ap-approve", [p(4)]))
        _ = try await world.run(now: Self.day(1))
        // Day 2: E2 can also approve what they create; E3 leaves.
        try await world.slapd.modify("dn: \(Self.approve)\nchangetype: modify\nadd: member\nmember: \(p(2))\n-\n")
        try world.writeHR(ReconcileJobTests.row(1) + ReconcileJobTests.row(2, department: "Finance")
                          + ReconcileJobTests.row(3, status: "Terminated", end: "2026-03-01") + ReconcileJobTests.row(4))
        _ = try await world.run(now: Self.day(2))
        // Day 4: the violation ends; a bad HR row arrives.
        try await world.slapd.modify("dn: \(Self.approve)\nchangetype: modify\ndelete: member\nmember: \(p(2))\n-\n")
        try world.writeHR(ReconcileJobTests.row(1) + ReconcileJobTests.row(2, department: "Finance")
                          + ReconcileJobTests.row(3, status: "Terminated", end: "2026-03-01") + ReconcileJobTests.row(4)
                          + "E9,Given9,Family9,Sales,Analyst,Active,not-a-date\n")
        let outcome = try await world.run(now: Self.day(4))
        #expect(outcome.summary.rejectedRows == 1)
        let store = try world.store()
        let reports = ComplianceReports(configuration: world.configuration, store: store, now: Self.day(5)())

        let orphans = try reports.orphans()
        #expect(Self.column(orphans, "dn") == [p(5)])
        #expect(orphans.basis.newestRun == 3 && orphans.basis.auditHead != nil)

        let leavers = try reports.leavers()
        #expect(Self.column(leavers, "hr_id") == ["E3"])
        #expect(Self.column(leavers, "state") == ["unknown"])
        #expect(leavers.notes.contains { $0.contains("disabled_when") })

        let privileged = try reports.privileged()
        let authorised = Dictionary(uniqueKeysWithValues: zip(Self.column(privileged, "member").map { $0 ?? "" }, Self.column(privileged, "authorised_by")))
        #expect(authorised[p(2)] == "rules: finance-approvers")
        #expect(authorised[p(1)]??.hasPrefix("unauthorised (announced in run 1)") == true, "\(authorised)")
        // An account no person owns in a privileged group is unauthorised too (announced as such).
        #expect(authorised[p(5)] == "unauthorised (announced in run 1)")
        #expect(Self.column(privileged, "hr_id") == ["E1", "E2", nil])

        #expect(try reports.violations().rows.isEmpty)
        let during = try reports.violations(during: (try #require(AccessWindow("2026-03-01")), try #require(AccessWindow("2026-03-05"))))
        #expect(during.rows == [["E2", nil, "ap", "\(Self.approve) + \(Self.create)", "2026-03-02T06:00:00Z", "2026-03-04T06:00:00Z"]])
        let later = try reports.violations(during: (try #require(AccessWindow("2026-03-04T12:00:00Z")), try #require(AccessWindow("2026-03-05"))))
        #expect(later.rows.isEmpty)

        let hygiene = try reports.hygiene(runs: 2)
        #expect(Self.column(hygiene, "run") == ["3", "2"])
        #expect(Self.column(hygiene, "rejected_rows") == ["1", "0"])
        #expect(Self.column(hygiene, "top_reasons").first??.contains("not-a-date") == true, "\(hygiene.rows)")

        // The CLI: one command per report, CSV an auditor can open; `report --run N` as before.
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let csv = try await Shell.run(CLITests.binary, ["report", "privileged", "--config", config, "--csv"])
        #expect(csv.status == 0, "\(csv.error)")
        #expect(csv.output.hasPrefix("# now; newest run then: 3"), "\(csv.output)")
        #expect(csv.output.contains("\ndefault,\"\(Self.payments)\",\"\(p(2))\",E2,active,direct,2026-03-01T06:00:00Z,1,rules: finance-approvers\n"), "\(csv.output)")
        let run = try await Shell.run(CLITests.binary, ["report", "--config", config, "--run", "1"])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("\"run\" : 1"), "\(run.output)")
        let bad = try await Shell.run(CLITests.binary, ["report", "violations", "--config", config, "--from", "2026-03-01"])
        #expect(bad.status != 0 && bad.error.contains("--from and --to go together"), "\(bad.error)")
    }

    /// Dormancy from a real OpenLDAP that keeps each bind's time (`olcLastBind`, pwdLastSuccess),
    /// read by the configured attributes: a person who signed in is dormant only once the days
    /// have passed; the others never signed in.
    @Test func dormantFromOpenLDAPsLastBind() async throws {
        let base = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined(), lastBind: true)
        let file = base.directory.appendingPathComponent("rollcall.yaml")
        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "attributes: [uid]", with: "attributes: [uid, pwdLastSuccess]")
            .write(to: file, atomically: true, encoding: .utf8)
        let world = ReconcileJobTests.World(slapd: base.slapd, directory: base.directory, configuration: try ConfigurationLoader.load(path: file.path))
        // p1 signs in (a simple bind with its password); p2 and p3 never do.
        try await world.slapd.modify("dn: uid=p1,ou=people,dc=example,dc=test\nchangetype: modify\nreplace: userPassword\nuserPassword: s3cret-p1\n-\n")
        let bind = try await Shell.run("/usr/bin/ldapwhoami", ["-x", "-H", world.slapd.uri,
                                                               "-ZZ", "-D", "uid=p1,ou=people,dc=example,dc=test", "-w", "s3cret-p1"],
                                       environment: ["LDAPTLS_CACERT": world.slapd.caFile])
        #expect(bind.status == 0, "\(bind.error)")
        _ = try await world.run()
        let store = try world.store()
        let soon = try ComplianceReports(configuration: world.configuration, store: store, now: Date().addingTimeInterval(10 * 86_400)).dormant()
        #expect(Self.column(soon, "dn") == ["uid=p2,ou=people,dc=example,dc=test", "uid=p3,ou=people,dc=example,dc=test"], "\(soon.rows)")
        #expect(Self.column(soon, "last_logon") == [nil, nil])
        #expect(soon.notes.count == 1, "\(soon.notes)")
        let later = try ComplianceReports(configuration: world.configuration, store: store, now: Date().addingTimeInterval(120 * 86_400)).dormant()
        #expect(Self.column(later, "dn").first == "uid=p1,ou=people,dc=example,dc=test", "\(later.rows)")
        #expect(Self.column(later, "days_since").first == "120" && Self.column(later, "hr_id").first == "E1", "\(later.rows)")
        #expect(Self.column(later, "last_logon").first == Timestamp.string(Date()).prefix(10).description)
    }

    /// Dormancy from the logon times a directory reports (Active Directory's FILETIME
    /// lastLogonTimestamp, OpenLDAP's GeneralizedTime pwdLastSuccess), stored as accounts'
    /// attributes by a run: old and absent ones are dormant, recent ones are not.
    @Test func dormantAccountsByTheirLastLogon() async throws {
        let world = try await ReconcileJobTests.world(people: 1, rows: ReconcileJobTests.row(1))
        _ = try await world.run()
        let store = try world.store()
        let now = Date(timeIntervalSince1970: 1_773_576_000)  // 2026-03-15T12:00:00Z
        func fileTime(daysAgo: Double) -> String { String(Int64((now.timeIntervalSince1970 - daysAgo * 86_400 + 11_644_473_600) * 10_000_000)) }
        func account(_ directory: String, _ name: String, _ attributes: [String: [String]]) -> StoredAccount {
            StoredAccount(directory: directory, anchor: name, dn: "CN=\(name),DC=example", correlationValue: nil,
                          attributesJSON: CanonicalJSON.text(attributes), orphanReported: true, enabled: true)
        }
        var plan = Plan()
        plan.accountUpserts = [
            account("ad", "recent", ["lastLogonTimestamp": [fileTime(daysAgo: 3)]]),
            account("ad", "stale", ["lastLogonTimestamp": [fileTime(daysAgo: 200)]]),
            account("ad", "never", ["sAMAccountName": ["never"]]),
            account("ldap", "old", ["pwdLastSuccess": ["20250101000000Z"]]),
        ]
        _ = try store.apply(plan, stamp: RunStamp(startedAt: now, finishedAt: now, eventSource: "urn:test"))
        let report = try ComplianceReports(configuration: world.configuration, store: store, now: now).dormant()
        #expect(Self.column(report, "dn") == ["CN=never,DC=example", "CN=stale,DC=example", "CN=old,DC=example"])
        #expect(Self.column(report, "days_since") == [nil, "200", "438"])
        #expect(Self.column(report, "last_logon") == [nil, "2025-08-27", "2025-01-01"])
        // The bench-style OpenLDAP directory reads no logon time: it says so instead of calling everyone dormant.
        #expect(report.notes.contains { $0.contains("directory default: no account carries lastLogonTimestamp") })
        #expect(try ComplianceReports(configuration: world.configuration, store: store, now: now).dormant(days: 300).rows.count == 2)
    }
}
