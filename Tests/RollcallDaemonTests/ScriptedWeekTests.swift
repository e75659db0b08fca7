import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// A week of HR and directory changes against a real slapd, one reconcile a day with the clock set:
/// exactly the expected events each day. Two HR sources (employees and contractors), a pre-hire, a
/// mover, a leaver with a grace period, a contractor converted to an employee, an account deleted
/// and recreated, and birthright groups.
@Suite struct ScriptedWeekTests {
    static let groups = "ou=services,dc=example,dc=test"

    static func entry(_ uid: String, number: String, mail: String) -> String {
        "dn: uid=\(uid),ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: \(uid)\ncn: \(uid)\nsn: \(uid)\n"
            + "employeeNumber: \(number)\nmail: \(mail)\n\n"
    }

    static func dn(_ uid: String) -> String { "uid=\(uid),ou=people,dc=example,dc=test" }

    struct Row {
        var id: String
        var mail: String
        var department = "Sales"
        var type = "employee"
        var hire = "2020-01-01"
        var end = ""
        var family = "Doe"
        var line: String { "\(id),\(mail),\(department),\(type),\(hire),\(end),\(family)\n" }
    }

    @Test func aWeekOfChangesGivesExactlyTheExpectedEvents() async throws {
        let people = (1...4).map { Self.entry("p\($0)", number: "E\($0)", mail: "e\($0)@example.test") }.joined()
            + Self.entry("p6", number: "C6", mail: "c6@example.test")
        let slapd = try await SlapdFixture.start(ldif: people)
        func group(_ name: String, _ members: [String]) -> String {
            "dn: cn=\(name),\(Self.groups)\nchangetype: add\nobjectClass: groupOfNames\ncn: \(name)\n"
                + (["cn=nobody"] + members.map(Self.dn)).map { "member: \($0)\n" }.joined() + "\n"
        }
        try await slapd.modify(group("all-staff", ["p1", "p2", "p3", "p4", "p6"]) + group("eng", ["p1"]))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("week-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var employees = [Row(id: "E1", mail: "e1@example.test", department: "Engineering"),
                         Row(id: "E2", mail: "e2@example.test", department: "Engineering"),
                         Row(id: "E3", mail: "e3@example.test"),
                         Row(id: "E4", mail: "e4@example.test"),
                         Row(id: "E5", mail: "e5@example.test", hire: "2026-03-05")]
        var contractors = [Row(id: "C6", mail: "c6@example.test", type: "contractor", family: "Hopper")]
        func writeHR() throws {
            let header = "id,mail,department,type,hire,end,family\n"
            try (header + employees.map(\.line).joined()).write(to: folder.appendingPathComponent("employees.csv"), atomically: true, encoding: .utf8)
            try (header + contractors.map(\.line).joined()).write(to: folder.appendingPathComponent("contractors.csv"), atomically: true, encoding: .utf8)
        }
        try writeHR()
        let fields = "{employee_id: id, email: mail, department: department, employee_type: type, hire_date: hire, termination_date: end, family_name: family}"
        try """
            store: {path: rollcall.sqlite}
            events: {source: "urn:rollcall:week"}
            guard: {first_run: apply}  # the first run applies as planned (its hold is GuardRunTests' subject)
            lifecycle: {prehire_days: 2, deprovision_after_days: 3}
            directories:
              - uri: \(slapd.uri)
                ca_file: \(slapd.caFile)
                bind_dn: \(SlapdFixture.syncDN)
                bind_password_file: \(slapd.syncPasswordFile)
                base_dn: \(SlapdFixture.peopleBase)
                filter: (objectClass=inetOrgPerson)
                correlation: {hr_field: employee_id, directory_attribute: employeeNumber}
            hr:
              conversion_key: email
              sources:
                - {name: employees, path: employees.csv, fields: \(fields)}
                - {name: contractors, path: contractors.csv, allow_empty: true, fields: \(fields)}
            entitlements:
              groups: {base_dn: "\(Self.groups)", filter: "(objectClass=groupOfNames)"}
              birthright:
                - {name: all-staff, group: "cn=all-staff,\(Self.groups)"}
                - {name: eng, group: "cn=eng,\(Self.groups)", when: {department: {equals: Engineering}}}
            """.write(to: folder.appendingPathComponent("rollcall.yaml"), atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: folder.appendingPathComponent("rollcall.yaml").path)
        let store = try Store.open(path: configuration.storePath)
        var seen: Int64 = 0

        func day(_ date: String) async throws -> [String] {
            let noon = try #require(ISO8601DateFormatter().date(from: "\(date)T12:00:00Z"))
            _ = try await ReconcileJob(configuration: configuration, logger: Logger(label: "test"), now: { noon }).run(dryRun: false)
            let events = try store.events(after: seen, limit: 1000)
            seen = events.last?.rollcallseq ?? seen
            return events.map { event in
                let type = event.type.replacingOccurrences(of: "dev.rollcall.", with: "")
                let group = event.data["group"]?.stringValue.map { " " + ($0.split(separator: ",").first.map(String.init) ?? $0) } ?? ""
                return "\(type) \(event.subject)\(group)"
            }
        }
        func members(_ name: String, add: [String] = [], delete: [String] = []) -> String {
            "dn: cn=\(name),\(Self.groups)\nchangetype: modify\n"
                + (add.isEmpty ? "" : "add: member\n" + add.map { "member: \(Self.dn($0))\n" }.joined() + "-\n")
                + (delete.isEmpty ? "" : "delete: member\n" + delete.map { "member: \(Self.dn($0))\n" }.joined() + "-\n") + "\n"
        }

        // Monday: the baseline. Five accounts linked (E5 starts Thursday: pending); E2 lacks eng.
        #expect(try await day("2026-03-02") == ["account.linked C6", "account.linked E1", "account.linked E2", "account.linked E3",
                                                 "account.linked E4", "entitlement.grant E2 cn=eng"])
        // Tuesday: E5 is two days from the start: the joiner. The eng grant was done.
        try await slapd.modify(members("eng", add: ["p2"]))
        #expect(try await day("2026-03-03") == ["identity.joiner E5"])
        // Wednesday: E5's account appears; E3 moves to Engineering.
        try await slapd.modify(Self.entry("p5", number: "E5", mail: "e5@example.test").replacingOccurrences(of: "inetOrgPerson\n", with: "inetOrgPerson\n").replacingOccurrences(of: "dn: uid=p5,ou=people,dc=example,dc=test\n", with: "dn: uid=p5,ou=people,dc=example,dc=test\nchangetype: add\n"))
        employees[2].department = "Engineering"
        try writeHR()
        #expect(try await day("2026-03-04") == ["identity.mover E3", "account.linked E5",
                                                 "entitlement.grant E3 cn=eng", "entitlement.grant E5 cn=all-staff"])
        // Thursday: E5 starts; E4's termination date (the last day worked) was yesterday.
        try await slapd.modify(members("eng", add: ["p3"]) + members("all-staff", add: ["p5"]))
        employees[3].end = "2026-03-04"
        try writeHR()
        #expect(try await day("2026-03-05") == ["identity.leaver E4", "identity.started E5", "entitlement.revoke E4 cn=all-staff"])
        // Friday: the contractor C6 is hired as employee E6 (same e-mail, new id, other source).
        try await slapd.modify(members("all-staff", delete: ["p4"]))
        contractors = []
        employees.append(Row(id: "E6", mail: "c6@example.test", family: "Hopper"))
        try writeHR()
        #expect(try await day("2026-03-06") == ["identity.converted E6", "identity.mover E6"])
        #expect(try store.identity("C6")?.person.employeeID == "E6")
        // Saturday: nothing changes, nothing is said.
        #expect(try await day("2026-03-07") == [])
        // Sunday: E4's grace period ends; E2's account is deleted and recreated under a new entryUUID.
        try await slapd.modify("dn: \(Self.dn("p2"))\nchangetype: delete\n\n"
                               + Self.entry("p2", number: "E2", mail: "e2@example.test").replacingOccurrences(of: "dn: uid=p2,ou=people,dc=example,dc=test\n", with: "dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: add\n"))
        #expect(try await day("2026-03-08") == ["account.relinked E2", "identity.deprovision E4"])
    }
}
