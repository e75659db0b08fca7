import Foundation
import RollcallCore
import RollcallDaemon
@testable import RollcallStore
import RollcallTestSupport
import Testing

/// Access history against a real slapd: days of generated changes (HR moves and leavers, group
/// members added and removed, directly and through a nested group), one run a day; afterwards
/// `access` for every day must give back the state the store had that day, from history alone.
@Suite struct AccessHistoryTests {
    static let groups = "ou=services,dc=example,dc=test"
    static let approve = "cn=payments-approve,\(groups)"
    static let nested = "cn=approvers-emea,\(groups)"
    static let staff = "cn=all-staff,\(groups)"

    static func person(_ i: Int) -> String { "uid=p\(i),ou=people,dc=example,dc=test" }

    /// What the store held after a day's run, as `access` should report it.
    struct Snapshot: Equatable {
        var persons: [String: String] = [:]          // hr id → "lifecycle department"
        var accounts: Set<String> = []                // "hr directory anchor"
        var memberships: Set<String> = []             // "hr|- group member direct|nested"
    }

    /// Persons and links from the store's current tables; memberships from the groups as the
    /// test made them in the directory (not from the history under test).
    static func snapshot(_ store: Store, groups: [String: Set<String>]) throws -> Snapshot {
        let state = try store.loadState()
        var snapshot = Snapshot()
        for (id, person) in state.persons { snapshot.persons[id] = "\(person.lifecycle.rawValue) \(person.attributes.department ?? "")" }
        for link in state.links { snapshot.accounts.insert("\(link.employeeID) \(link.directory) \(link.anchor)") }
        func owner(_ member: String) -> String {
            guard member.hasPrefix("uid=p"), let number = member.dropFirst(5).split(separator: ",").first else { return "-" }
            return "E\(number)"
        }
        for (group, members) in groups {
            for member in members where member != nested {
                snapshot.memberships.insert("\(owner(member)) \(group) \(member) direct")
            }
        }
        if groups[approve]?.contains(nested) == true {
            for member in groups[nested] ?? [] where groups[approve]?.contains(member) != true {
                snapshot.memberships.insert("\(owner(member)) \(approve) \(member) nested")
            }
        }
        return snapshot
    }

    static func snapshot(_ report: AccessReport) -> Snapshot {
        var snapshot = Snapshot()
        for person in report.persons {
            snapshot.persons[person.hrID] = "\(person.lifecycle) \(person.attributes["department"]?.stringValue ?? "")"
            for holding in person.holdings {
                if holding.kind == "account" { snapshot.accounts.insert("\(person.hrID) \(holding.directory) \(holding.member)") }
                else { snapshot.memberships.insert("\(person.hrID) \(holding.dn.lowercased()) \(holding.member.lowercased()) \(holding.state ?? "")") }
            }
        }
        for holding in report.unowned where holding.kind == "group" {
            snapshot.memberships.insert("- \(holding.dn.lowercased()) \(holding.member.lowercased()) \(holding.state ?? "")")
        }
        return snapshot
    }

    @Test func everyDaysAnswerIsTheStateTheStoreHadThatDay() async throws {
        let people = 8
        var rows = (1...people).map { (i: Int) in (department: i % 2 == 0 ? "Finance" : "Sales", status: "Active", end: "") }
        func hr() -> String { rows.enumerated().map { ReconcileJobTests.row($0.offset + 1, department: $0.element.department, status: $0.element.status, end: $0.element.end) }.joined() }
        let world = try await ReconcileJobTests.world(people: people, rows: hr(), extra: """
            entitlements:
              groups: {base_dn: "\(Self.groups)", filter: "(objectClass=groupOfNames)"}
              birthright:
                - {name: finance-approvers, group: "\(Self.approve)", when: {department: {equals: Finance}}}
                - {name: everyone, group: "\(Self.staff)"}
            """)
        try await world.slapd.modify("""
            dn: \(Self.nested)
            changetype: add
            objectClass: groupOfNames
            cn: approvers-emea
            member: \(Self.person(5))

            dn: \(Self.approve)
            changetype: add
            objectClass: groupOfNames
            cn: payments-approve
            member: \(Self.person(2))
            member: \(Self.nested)

            dn: \(Self.staff)
            changetype: add
            objectClass: groupOfNames
            cn: all-staff
            member: \(Self.person(1))
            member: \(Self.person(2))
            member: cn=svc-backup,ou=services,dc=example,dc=test

            """)
        var groups: [String: Set<String>] = [
            Self.nested: [Self.person(5)], Self.approve: [Self.person(2), Self.nested],
            Self.staff: [Self.person(1), Self.person(2), "cn=svc-backup,ou=services,dc=example,dc=test"],
        ]
        let store = try world.store()
        var generator = SeededGenerator(seed: 14)
        let first = Day(year: 2026, month: 3, day: 1) ?? Day(year: 2000, month: 1, day: 1)!
        var snapshots: [Snapshot] = []
        let days = 12
        for offset in 0..<days {
            let day = first.adding(days: offset)
            if offset > 0 {
                // HR: someone moves between Sales and Finance; now and then someone leaves.
                let mover = Int.random(in: 0..<people, using: &generator)
                if rows[mover].status == "Active" { rows[mover].department = rows[mover].department == "Sales" ? "Finance" : "Sales" }
                if offset % 4 == 0 {
                    let leaver = Int.random(in: 0..<people, using: &generator)
                    rows[leaver].status = "Terminated"
                    rows[leaver].end = day.adding(days: -1).description
                }
                try world.writeHR(hr())
                // The directory: a member added to or removed from a group, directly or in the
                // nested one (never the last member: groupOfNames needs one).
                let group = [Self.approve, Self.staff, Self.nested][Int.random(in: 0..<3, using: &generator)]
                let current = groups[group] ?? []
                let people = (1...people).map(Self.person).filter { !current.contains($0) }
                let removable = current.filter { $0 != Self.nested }.sorted()
                let removing = removable.count > 1 && (people.isEmpty || Bool.random(using: &generator))
                let member = removing ? removable[Int.random(in: 0..<removable.count, using: &generator)]
                                      : people[Int.random(in: 0..<people.count, using: &generator)]
                try await world.slapd.modify("dn: \(group)\nchangetype: modify\n\(removing ? "delete" : "add"): member\nmember: \(member)\n-\n")
                if removing { groups[group]?.remove(member) } else { groups[group, default: []].insert(member) }
            }
            let at = "\(day.description)T06:00:00Z"
            guard let now = ISO8601DateFormatter().date(from: at) else { Issue.record("bad time \(at)"); return }
            _ = try await world.run(now: { now })
            snapshots.append(try Self.snapshot(store, groups: groups))
        }
        // Something happened: memberships both began and ended over the days.
        #expect(zip(snapshots, snapshots.dropFirst()).contains { !$0.0.memberships.subtracting($0.1.memberships).isEmpty })
        #expect(zip(snapshots, snapshots.dropFirst()).contains { !$0.1.memberships.subtracting($0.0.memberships).isEmpty })
        #expect(snapshots.last?.persons.values.contains { $0.hasPrefix("terminated") || $0.hasPrefix("deprovisioned") } == true)

        for offset in 0..<days {
            let day = first.adding(days: offset)
            // An instant after the day's run: exactly that day's state.
            let noon = try #require(AccessWindow("\(day.description)T12:00:00Z"))
            #expect(Self.snapshot(try store.access(in: noon)) == snapshots[offset], "as of \(day) noon")
            // The whole day: the state before its run and after it, together.
            let whole = Self.snapshot(try store.access(in: try #require(AccessWindow(day.description))))
            let before = offset > 0 ? snapshots[offset - 1] : Snapshot()
            #expect(whole.memberships == snapshots[offset].memberships.union(before.memberships), "as of \(day)")
            #expect(whole.accounts == snapshots[offset].accounts.union(before.accounts))
            #expect(Set(whole.persons.keys) == Set(snapshots[offset].persons.keys).union(before.persons.keys))
            // One group: its members that day, people and service accounts alike.
            let members = Self.snapshot(try store.access(in: noon, group: Self.approve.uppercased())).memberships
            #expect(members == snapshots[offset].memberships.filter { $0.contains(" \(Self.approve) ") }, "group as of \(day)")
        }
        // Before the first run nothing is known.
        #expect(try store.access(in: try #require(AccessWindow("2026-02-28"))).persons.isEmpty)

        // What was granted and removed between day 3 and day 8 is what differs between the
        // state before day 3's run and after day 8's (and more, where something came and went).
        let (_, changes) = try store.accessChanges(from: try #require(AccessWindow(first.adding(days: 3).description)),
                                                   to: try #require(AccessWindow(first.adding(days: 8).description)))
        func key(_ change: AccessChange) -> String {
            "\(change.holding.hrID ?? "-") \(change.holding.dn.lowercased()) \(change.holding.member.lowercased()) \(change.holding.state ?? "")"
        }
        let granted = Set(changes.filter { $0.change == "granted" && $0.holding.kind == "group" }.map(key))
        let removed = Set(changes.filter { $0.change == "removed" && $0.holding.kind == "group" }.map(key))
        #expect(snapshots[8].memberships.subtracting(snapshots[2].memberships).isSubset(of: granted))
        #expect(snapshots[2].memberships.subtracting(snapshots[8].memberships).isSubset(of: removed))
        #expect(!granted.isEmpty || !removed.isEmpty)
        #expect(changes.allSatisfy { $0.at >= "\(first.adding(days: 3).description)T00:00:00Z" && $0.at < "\(first.adding(days: 9).description)T00:00:00Z" })
    }

    /// The CLI: one command per question, JSON and CSV an auditor can open (DNs with commas stay
    /// one field), and a clear error for a date it cannot read.
    @Test func theCommandAnswersInTextJSONAndCSV() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2, department: "Finance")
                                                      + ReconcileJobTests.row(3), extra: """
            entitlements:
              groups: {base_dn: "\(Self.groups)", filter: "(objectClass=groupOfNames)"}
              birthright:
                - {name: finance-approvers, group: "\(Self.approve)", when: {department: {equals: Finance}}}
            """)
        try await world.slapd.modify("dn: \(Self.approve)\nchangetype: add\nobjectClass: groupOfNames\ncn: payments-approve\nmember: \(Self.person(2))\nmember: \(Self.person(3))\n\n")
        _ = try await world.run()
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let today = String(Timestamp.string(ReconcileJobTests.clock()).prefix(10))  // the runs' day

        let json = try await Shell.run(CLITests.binary, ["access", "--config", config, "--as-of", today, "--group", Self.approve, "--json"])
        #expect(json.status == 0, "\(json.error)")
        let report = try JSONDecoder().decode(AccessReport.self, from: Data(json.output.utf8))
        #expect(report.persons.map(\.hrID) == ["E2", "E3"])
        #expect(report.persons.allSatisfy { $0.holdings.count == 1 && $0.holdings[0].state == "direct" && $0.holdings[0].to == nil })
        #expect(report.basis.newestRun == 1 && report.basis.auditHead != nil)

        // Everyone, written a person at a time: still one JSON document, the same as the store's answer.
        let everyone = try await Shell.run(CLITests.binary, ["access", "--config", config, "--as-of", today, "--json"])
        #expect(everyone.status == 0, "\(everyone.error)")
        let streamed = try JSONDecoder().decode(AccessReport.self, from: Data(everyone.output.utf8))
        let whole = try world.store().access(in: try #require(AccessWindow(today)))
        #expect(streamed.persons == whole.persons && streamed.unowned == whole.unowned && streamed.persons.map(\.hrID) == ["E1", "E2", "E3"])
        #expect(streamed.persons.first { $0.hrID == "E2" }?.holdings.map(\.kind) == ["account", "group"])

        let csv = try await Shell.run(CLITests.binary, ["access", "as-of", "--config", config, "--as-of", today, "--person", "E2", "--csv"])
        #expect(csv.status == 0, "\(csv.error)")
        let file = world.directory.appendingPathComponent("access.csv")
        try csv.output.write(to: file, atomically: true, encoding: .utf8)
        let parsed = try await Shell.run("/usr/bin/python3", ["-c", """
            import csv, sys, json
            lines = [l for l in open(sys.argv[1], newline='').read().splitlines() if not l.startswith('#')]
            print(json.dumps([row for row in csv.DictReader(lines)]))
            """, file.path])
        let rows = try JSONDecoder().decode([[String: String]].self, from: Data(parsed.output.utf8))
        #expect(rows.map { $0["kind"] ?? "" }.sorted() == ["account", "group"])
        #expect(rows.first { $0["kind"] == "group" }?["dn"] == Self.approve)
        #expect(rows.allSatisfy { $0["hr_id"] == "E2" && $0["from_run"] == "1" })

        let diff = try await Shell.run(CLITests.binary, ["access", "diff", "--config", config, "--from", today, "--to", today])
        #expect(diff.status == 0, "\(diff.error)")
        #expect(diff.output.contains("granted: E2 member of \(Self.approve)"), "\(diff.output)")

        let bad = try await Shell.run(CLITests.binary, ["access", "--config", config, "--as-of", "31/03/2026"])
        #expect(bad.status != 0)
        #expect(bad.error.contains("--as-of 31/03/2026 is neither a date"), "\(bad.error)")
    }
}

/// A small deterministic generator (SplitMix64) so the generated days are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
