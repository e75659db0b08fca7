import RollcallCore
import Testing

/// The operator's emergency stop: announced at once, and no reconcile gives access back until lifted.
@Suite struct HoldTests {
    static let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2")]

    @Test func disabledPersonsGetNothingBackUntilEnabled() throws {
        var state = try F.settled([F.person("E1"), F.person("E2")], Self.accounts)
        let disable = try HoldPlans.disable(employeeID: "E1", reason: "suspected phishing", by: "erin", at: "2026-03-15T09:00:00Z", state: state)
        #expect(F.kinds(disable) == ["identity.disabled E1"])
        let event = try #require(disable.events.first)
        #expect(event.data["reason"] == .string("suspected phishing"))
        #expect(event.data["by"] == .string("erin"))
        #expect(event.data["accounts"] == .array([.object(["directory": "ldap", "anchor": "a1", "dn": "uid=a1,ou=people,dc=example,dc=test"])]))
        state = state.applying(disable)
        #expect(state.holds["E1"]?.reason == "suspected phishing")

        // HR still has E1 active: nothing. On leave and back: the suspension is announced, the resume is not.
        #expect(try Reconciler().plan(records: [F.person("E1"), F.person("E2")], accounts: Self.accounts, state: state, today: F.today).isEmpty)
        var plan = try Reconciler().plan(records: [F.person("E1", status: .suspended), F.person("E2")], accounts: Self.accounts, state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.suspended E1"])
        state = state.applying(plan)
        plan = try Reconciler().plan(records: [F.person("E1"), F.person("E2")], accounts: Self.accounts, state: state, today: F.today)
        #expect(plan.events.isEmpty)
        state = state.applying(plan)

        // Enabled: the event says to restore access (HR has E1 active); reconciles go on as usual.
        let enable = try HoldPlans.enable(employeeID: "E1", by: "erin", state: state)
        #expect(F.kinds(enable) == ["identity.enabled E1"])
        #expect(enable.events.first?.data["restore"] == .bool(true))
        #expect(enable.events.first?.data["disabled_since"] == .string("2026-03-15T09:00:00Z"))
        state = state.applying(enable)
        #expect(state.holds.isEmpty)
        #expect(try Reconciler().plan(records: [F.person("E1"), F.person("E2")], accounts: Self.accounts, state: state, today: F.today).isEmpty)
    }

    @Test func aHeldPersonLosesManagedGroupsAndGetsNone() throws {
        let people = [EntitlementTests.person("E1", department: "Engineering"), EntitlementTests.person("E2", department: "Sales")]
        let groups = EntitlementTests.groups(eng: ["a1"], staff: ["a1"])
        var state = StoredState().applying(try EntitlementTests.plan(people, groups, StoredState()))
        state = state.applying(try HoldPlans.disable(employeeID: "E1", reason: "exit today", by: "erin", at: "2026-03-15T09:00:00Z", state: state))
        let plan = try EntitlementTests.plan(people, groups, state)
        let revokes = plan.events.filter { $0.kind == .revoke }
        #expect(revokes.map(\.subject) == ["E1", "E1"])
        #expect(revokes.allSatisfy { $0.data["reason"] == .string("the person is disabled by an operator") })
        #expect(!plan.events.contains { $0.kind == .grant && $0.subject == "E1" })
    }

    @Test(arguments: [
        ("disable", "E9", "no person E9 is stored"),
        ("disable", "E2", "E2 is already disabled (by erin"),
        ("disable-blank", "E1", "a reason is required"),
        ("enable", "E1", "E1 is not disabled"),
    ])
    func refusals(action: String, id: String, reason: String) throws {
        var state = try F.settled([F.person("E1"), F.person("E2")], Self.accounts)
        state = state.applying(try HoldPlans.disable(employeeID: "E2", reason: "x", by: "erin", at: "t", state: state))
        do {
            switch action {
            case "enable": _ = try HoldPlans.enable(employeeID: id, by: "erin", state: state)
            case "disable-blank": _ = try HoldPlans.disable(employeeID: id, reason: "  ", by: "erin", at: "t", state: state)
            default: _ = try HoldPlans.disable(employeeID: id, reason: "x", by: "erin", at: "t", state: state)
            }
            Issue.record("expected a refusal")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }
}
