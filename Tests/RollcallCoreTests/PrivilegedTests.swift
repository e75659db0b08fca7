import RollcallCore
import Testing

/// Privileged groups: every change of their effective membership, and memberships no rule grants.
@Suite struct PrivilegedTests {
    static let admins = "CN=Admins,ou=groups,dc=t"
    static let dbas = "cn=dbas,ou=groups,dc=t"
    static let ops = "cn=ops,ou=groups,dc=t"
    static let breakGlass = "uid=breakglass,ou=people,dc=example,dc=test"

    /// Admins contains the DBAs group; a birthright rule gives SRE people the ops group, which is
    /// nested in admins, so their admin rights are granted.
    static let policy = EntitlementPolicy(directory: "ldap", birthright: [
        BirthrightRule(name: "sre-ops", group: ops, condition: .equals(.department, "SRE")),
    ], separation: [], privileged: PrivilegedPolicy(groups: [admins], allowedMembers: [breakGlass]))

    static func dn(_ anchor: String) -> String { "uid=\(anchor),ou=people,dc=example,dc=test" }

    static func groups(admins: [String], dbas: [String] = [], ops: [String] = []) -> [DirectoryGroup] {
        func members(_ list: [String]) -> [String] { list.map { $0.contains("=") ? $0 : dn($0) } }
        return [DirectoryGroup(anchor: "g1", dn: Self.admins, members: members(admins)),
                DirectoryGroup(anchor: "g2", dn: Self.dbas, members: members(dbas)),
                DirectoryGroup(anchor: "g3", dn: Self.ops, members: members(ops))]
    }

    static let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("a3", key: "E3")]
    static let people = [F.person("E1", department: "SRE"), F.person("E2", department: "Sales"), F.person("E3", department: "SRE")]

    static func plan(_ groups: [DirectoryGroup], _ state: StoredState, records: [HRRecord] = people) throws -> Plan {
        try Reconciler().plan(records: records, accounts: accounts, state: state, today: F.today,
                              entitlements: EntitlementInput(policy: policy, groups: groups))
    }

    static func privileged(_ plan: Plan) -> [String] {
        plan.events.filter { [.privilegedChange, .privilegedUnauthorised].contains($0.kind) }.map { event in
            let change = event.data["change"]?.stringValue.map { " \($0)" } ?? ""
            return "\(event.kind.rawValue)\(change) \(event.subject) \(event.data["member"]?.stringValue ?? "?")"
        }
    }

    @Test func firstSightIsTheBaselineThenEveryChangeOnce() throws {
        // E1 is an admin through ops (granted: SRE), E2 directly (no rule), the break-glass account directly.
        var groups = Self.groups(admins: [Self.ops, "a2", Self.breakGlass], ops: ["a1"])
        var state = StoredState()
        var plan = try Self.plan(groups, state)
        // No change events on first sight (nothing to compare with); E2 is flagged at once.
        #expect(Self.privileged(plan) == ["privileged.unauthorised E2 \(Self.dn("a2"))"])
        let flag = try #require(plan.events.first { $0.kind == .privilegedUnauthorised })
        #expect(flag.data["severity"] == .string("high"))
        #expect(flag.data["group"] == .string(Self.admins))
        #expect(flag.data["nested"] == .bool(false))
        #expect(flag.data["reason"] == .string("no birthright rule gives this person the group"))
        #expect(plan.summary.unauthorised == 1 && plan.summary.privilegedChanges == 0)
        state = state.applying(plan)
        #expect(state.privileged["ldap"]?[Self.admins.lowercased()]?.members.count == 3)
        #expect(try Self.plan(groups, state).isEmpty)

        // E3 (SRE) joins ops: added through nesting, authorised. Someone adds an unknown account to
        // dbas (nested in admins... not yet) and E2 is taken out.
        groups = Self.groups(admins: [Self.ops, Self.breakGlass], ops: ["a1", "a3"])
        plan = try Self.plan(groups, state)
        #expect(Self.privileged(plan) == [
            "privileged.membership_changed added E3 \(Self.dn("a3"))",
            "privileged.membership_changed removed E2 \(Self.dn("a2"))",
        ])
        let added = try #require(plan.events.first { $0.data["change"] == .string("added") })
        #expect(added.data["nested"] == .bool(true))
        #expect(added.data["authorised"] == .bool(true))
        #expect(added.data["rules"] == .array(["sre-ops"]))
        #expect(added.data["severity"] == .string("high"))
        // E2's unauthorised membership ended: forgotten, so a return is flagged again.
        #expect(plan.unauthorisedRemovals.map(\.member) == [Self.dn("a2")])
        state = state.applying(plan)
        #expect(try Self.plan(groups, state).isEmpty)

        // dbas is nested into admins, with a service account nobody in HR owns: added and unauthorised.
        let service = "cn=svc-backup,ou=services,dc=example,dc=test"
        groups = Self.groups(admins: [Self.ops, Self.breakGlass, Self.dbas], dbas: [service], ops: ["a1", "a3"])
        plan = try Self.plan(groups, state)
        #expect(Self.privileged(plan) == [
            "privileged.membership_changed added \(service) \(service)",
            "privileged.unauthorised \(service) \(service)",
        ])
        #expect(plan.events.first { $0.kind == .privilegedChange }?.data["authorised"] == .bool(false))
        #expect(plan.events.first { $0.kind == .privilegedUnauthorised }?.data["reason"] == .string("the member is not the account of a person in HR"))
        state = state.applying(plan)

        // E1 leaves SRE (a mover): still an admin through ops, now without a rule: flagged, no change event.
        let moved = [F.person("E1", department: "Sales"), F.person("E2", department: "Sales"), F.person("E3", department: "SRE")]
        plan = try Self.plan(groups, state, records: moved)
        #expect(Self.privileged(plan) == ["privileged.unauthorised E1 \(Self.dn("a1"))"])
    }

    @Test func aTerminatedAdminIsUnauthorisedAndAMissingGroupRefuses() throws {
        let groups = Self.groups(admins: [Self.ops], ops: ["a1"])
        let records = [F.person("E1", department: "SRE", status: .terminated), F.person("E2", department: "Sales"), F.person("E3", department: "SRE")]
        let plan = try Self.plan(groups, StoredState(), records: records)
        let flag = try #require(plan.events.first { $0.kind == .privilegedUnauthorised })
        #expect(flag.subject == "E1")
        #expect(flag.data["reason"] == .string("the person is terminated"))

        let withoutAdmins = Self.groups(admins: []).filter { $0.dn != Self.admins }
        #expect(throws: ReconcileRefusal.self) { try Self.plan(withoutAdmins, StoredState()) }
    }

    @Test func aGroupNoLongerWatchedIsForgottenSilently() throws {
        let groups = Self.groups(admins: ["a2"])
        let found = EntitlementInput(policy: Self.policy, groups: groups, privileged: [Self.admins, Self.dbas])
        var state = StoredState()
        var plan = try Reconciler().plan(records: Self.people, accounts: Self.accounts, state: state, today: F.today, entitlements: found)
        state = state.applying(plan)
        #expect(state.privileged["ldap"]?.count == 2)
        // dbas is no longer reported as protected (e.g. adminCount cleared): no events, baseline dropped.
        let fewer = EntitlementInput(policy: Self.policy, groups: groups, privileged: [Self.admins])
        plan = try Reconciler().plan(records: Self.people, accounts: Self.accounts, state: state, today: F.today, entitlements: fewer)
        #expect(Self.privileged(plan).isEmpty)
        #expect(plan.privilegedRemovals == [PrivilegedGroupKey(directory: "ldap", group: Self.dbas)])
        state = state.applying(plan)
        #expect(state.privileged["ldap"]?.keys.sorted() == [Self.admins.lowercased()])
    }
}
