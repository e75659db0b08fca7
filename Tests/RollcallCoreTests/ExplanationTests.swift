import RollcallCore
import Testing

/// `explain` and `reconcile --identity` read the same plan a reconcile would apply.
@Suite struct ExplanationTests {
    @Test func explainsEachDirectorysSituationTheLifecycleAndTheEvents() throws {
        let people = [EntitlementTests.person("E1", department: "Engineering"), EntitlementTests.person("E2", department: "Sales")]
        let ldap = DirectoryInput(name: "ldap", rules: [CorrelationRule(hrField: .employeeID, attribute: "employeeNumber")],
                                  accounts: EntitlementTests.accounts, hrOwned: [(.department, "departmentNumber")])
        let lab = SituationTests.directory("lab", [F.account("l1", key: "E1")], unlinked: .report, unmatched: .ignore)
        let input = EntitlementInput(policy: EntitlementTests.policy, groups: EntitlementTests.groups(eng: ["a1"]))
        let plan = try Reconciler().plan(records: people, directories: [ldap, lab], state: StoredState(), today: F.today, entitlements: input)
        let explained = try #require(Explanation.of("E1", records: people, directories: [ldap, lab], state: StoredState(), plan: plan,
                                                    entitlements: input, policy: LifecyclePolicy(), today: F.today))
        #expect(explained["hr"]?["source"] == .string("hr:1"))
        #expect(explained["lifecycle"]?["after"] == .string("active"))
        #expect(explained["lifecycle"]?["why"]?.stringValue?.hasPrefix("HR status active") == true)
        guard case .array(let directories)? = explained["directories"] else { Issue.record("no directories"); return }
        #expect(directories.count == 2)
        #expect(directories[0]["situation"] == .string("proposed: a rule found an account; on_unlinked is report, so it waits for rollcall link"))
        #expect(directories[1]["situation"] == .string("unlinked: found now and linked"))
        #expect(directories[1]["matched_by"] == .string("employee_id = employeeNumber"))
        #expect(directories[1]["rules"] == .array([.object(["rule": "employee_id = employeeNumber", "hr_value": "E1"])]))
        #expect(directories[1]["hr_owned"] == .array([.object(["attribute": "department", "directory_attribute": "departmentNumber",
                                                              "hr": "Engineering", "directory": .null])]))
        #expect(explained["entitlements"]?["desired"] == .array([.object(["group": .string(EntitlementTests.staff), "rule": "staff"]),
                                                                .object(["group": .string(EntitlementTests.eng), "rule": "engineering"])]))
        #expect(explained["entitlements"]?["held"] == .array([.object(["group": .string(EntitlementTests.eng), "direct": .bool(true)])]))
        guard case .array(let events)? = explained["events"] else { Issue.record("no events"); return }
        #expect(events.compactMap { $0["type"]?.stringValue } == ["dev.rollcall.account.linked", "dev.rollcall.correlation.proposed",
                                                                  "dev.rollcall.entitlement.grant", "dev.rollcall.identity.drift"])
        #expect(Explanation.of("E9", records: people, directories: [ldap, lab], state: StoredState(), plan: plan, entitlements: input,
                               policy: LifecyclePolicy(), today: F.today) == nil)
    }

    @Test func aRestrictedPlanAppliesOnePersonAndTheRestWaits() throws {
        let records = [F.person("E1"), F.person("E2"), F.person("E3")]
        let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("a3", key: "E3"), F.account("svc", key: nil)]
        let state = try F.settled(records, accounts)
        let moved = [F.person("E1", department: "Legal"), F.person("E2", department: "Legal"), F.person("E3", status: .terminated)]
        let full = try Reconciler().plan(records: moved, accounts: accounts.dropLast() + [F.account("svc2", key: nil)], state: state, today: F.today)
        #expect(F.kinds(full) == ["identity.mover E1", "identity.mover E2", "identity.leaver E3", "account.orphaned svc2", "account.removed svc"])
        let one = full.restricted(to: "E2", state: state)
        #expect(F.kinds(one) == ["identity.mover E2"])
        #expect(one.personUpserts.map(\.employeeID) == ["E2"] && one.accountUpserts.isEmpty && one.accountRemovals.isEmpty)
        #expect(one.summary.movers == 1 && one.summary.events == 1 && one.summary.leavers == 0)
        // Applied alone, then the full plan again: E2's part is not repeated, the rest still comes.
        let after = try Reconciler().plan(records: moved, accounts: accounts.dropLast() + [F.account("svc2", key: nil)],
                                          state: state.applying(one), today: F.today)
        #expect(F.kinds(after) == ["identity.mover E1", "identity.leaver E3", "account.orphaned svc2", "account.removed svc"])
    }
}
