import RollcallCore
import Testing

/// Birthright groups (desired versus actual) and separation of duties, with the groups as read.
@Suite struct EntitlementTests {
    static let eng = "cn=eng,ou=groups,dc=t"
    static let staff = "cn=all-staff,ou=groups,dc=t"
    static let apCreate = "cn=ap-create,ou=groups,dc=t"
    static let apApprove = "cn=ap-approve,ou=groups,dc=t"
    static let apTeam = "cn=ap-team,ou=groups,dc=t"

    static let policy = EntitlementPolicy(directory: "ldap", birthright: [
        BirthrightRule(name: "staff", group: staff, condition: .oneOf(.employeeType, ["employee", "contractor"])),
        BirthrightRule(name: "engineering", group: eng,
                       condition: .all([.equals(.department, "Engineering"), .not(.equals(.employeeType, "contractor"))])),
    ], separation: [SeparationRule(name: "ap-create-approve", groups: [apCreate, apApprove])])

    static func person(_ id: String, department: String, status: EmploymentStatus = .active) -> HRRecord {
        HRRecord(employeeID: id, attributes: PersonAttributes(department: department, employeeType: "Employee", status: status),
                 origin: SourceLocation(source: "hr", line: 1))
    }

    static func dn(_ anchor: String) -> String { "uid=\(anchor),ou=people,dc=example,dc=test" }

    /// Groups with these direct members (account anchors or group DNs).
    static func groups(eng: [String] = [], staff: [String] = [], apCreate: [String] = [], apApprove: [String] = [],
                       apTeam: [String] = []) -> [DirectoryGroup] {
        func members(_ list: [String]) -> [String] { list.map { $0.hasPrefix("cn=") ? $0 : dn($0) } }
        return [DirectoryGroup(anchor: "g1", dn: Self.eng, members: members(eng)),
                DirectoryGroup(anchor: "g2", dn: Self.staff, members: members(staff)),
                DirectoryGroup(anchor: "g3", dn: Self.apCreate, members: members(apCreate)),
                DirectoryGroup(anchor: "g4", dn: Self.apApprove, members: members(apApprove)),
                DirectoryGroup(anchor: "g5", dn: Self.apTeam, members: members(apTeam))]
    }

    static let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2")]

    static func plan(_ records: [HRRecord], _ groups: [DirectoryGroup], _ state: StoredState) throws -> Plan {
        try Reconciler().plan(records: records, accounts: accounts, state: state, today: F.today,
                              entitlements: EntitlementInput(policy: policy, groups: groups))
    }

    static func entitlementEvents(_ plan: Plan) -> [String] {
        plan.events.filter { [.grant, .revoke, .violation].contains($0.kind) }.map { event in
            let object = event.data["group"]?.stringValue ?? event.data["rule"]?.stringValue ?? "?"
            return "\(event.kind.rawValue) \(event.subject) \(object)"
        }
    }

    @Test func desiredVersusActualOnceEachThenMoversAndLeavers() throws {
        let people = [Self.person("E1", department: "Engineering"), Self.person("E2", department: "Sales")]
        // E2 holds ap-create directly and ap-approve through ap-team: a violation outside Rollcall.
        var groups = Self.groups(eng: ["a1"], apCreate: ["a2"], apApprove: [Self.apTeam], apTeam: ["a2"])
        var state = StoredState()
        var plan = try Self.plan(people, groups, state)
        #expect(Self.entitlementEvents(plan) == [
            "entitlement.grant E1 \(Self.staff)", "entitlement.grant E2 \(Self.staff)", "policy.violation E2 ap-create-approve",
        ])
        let grant = try #require(plan.events.first { $0.kind == .grant })
        #expect(grant.data["rules"] == .array(["staff"]))
        #expect(grant.data["dn"] == .string(Self.dn("a1")))
        let violation = try #require(plan.events.first { $0.kind == .violation })
        #expect(violation.data["groups"] == .array([.string(Self.apCreate), .string(Self.apApprove)]))
        #expect(plan.summary.grants == 2 && plan.summary.violations == 1)
        state = state.applying(plan)

        // Nothing done yet downstream: nothing announced twice.
        #expect(Self.entitlementEvents(try Self.plan(people, groups, state)).isEmpty)

        // The grants are done and E1 moves to Sales: engineering is revoked (once).
        groups = Self.groups(eng: ["a1"], staff: ["a1", "a2"], apCreate: ["a2"], apApprove: [Self.apTeam], apTeam: ["a2"])
        let moved = [Self.person("E1", department: "Sales"), Self.person("E2", department: "Sales")]
        plan = try Self.plan(moved, groups, state)
        #expect(Self.entitlementEvents(plan) == ["entitlement.revoke E1 \(Self.eng)"])
        state = state.applying(plan)
        #expect(state.entitlementNotices == ["E1": [Self.eng: .revoke]])

        // E2 leaves the AP team: the violation ends (forgotten); E1 is terminated: everything is revoked.
        groups = Self.groups(staff: ["a1", "a2"], apCreate: ["a2"])
        plan = try Self.plan([Self.person("E1", department: "Sales", status: .terminated), Self.person("E2", department: "Sales")], groups, state)
        #expect(Self.entitlementEvents(plan) == ["entitlement.revoke E1 \(Self.staff)"])
        #expect(plan.events.first { $0.kind == .revoke }?.data["reason"] == .string("the person is terminated"))
        state = state.applying(plan)
        #expect(state.violationNotices.isEmpty)

        // The violation comes back: announced again.
        groups = Self.groups(staff: ["a1", "a2"], apCreate: ["a2"], apApprove: ["a2"])
        plan = try Self.plan([Self.person("E1", department: "Sales", status: .terminated), Self.person("E2", department: "Sales")], groups, state)
        #expect(Self.entitlementEvents(plan) == ["policy.violation E2 ap-create-approve"])
    }

    @Test func aRuleGroupMissingFromTheReadRefusesThePlan() {
        let groups = Array(Self.groups().dropFirst())
        #expect(throws: ReconcileRefusal.self) {
            try Self.plan([Self.person("E1", department: "Engineering")], groups, StoredState())
        }
    }

    @Test(arguments: [
        (Condition.equals(.department, " engineering "), true),
        (.oneOf(.location, ["Berlin", "Paris"]), false),
        (.prefix(.title, "senior"), true),
        (.any([.equals(.department, "Legal"), .prefix(.title, "Senior")]), true),
        (.not(.equals(.employeeType, "employee")), false),
        (.all([]), true),
        (.always, true),
    ])
    func conditions(_ condition: Condition, _ expected: Bool) {
        let attributes = PersonAttributes(department: "Engineering", title: "Senior Engineer", employeeType: "employee")
        #expect(condition.matches(attributes) == expected)
    }
}
