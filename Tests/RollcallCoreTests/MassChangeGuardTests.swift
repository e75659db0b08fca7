import RollcallCore
import Testing

@Suite struct MassChangeGuardTests {
    /// `linked` persons linked, then a plan with `leavers` leaver events and `revokes` revokes.
    static func verdict(linked: Int, leavers: Int, revokes: Int = 0, policy: GuardPolicy = GuardPolicy(),
                        sources: [(String, Int, Int?)] = [], directories: [(String, Int, Int?)] = []) -> GuardVerdict {
        var state = StoredState()
        state.links = (0..<linked).map { Link(employeeID: "E\($0)", directory: "ldap", anchor: "a\($0)") }
        var plan = Plan()
        plan.events = (0..<leavers).map { EventDraft(kind: .leaver, subject: "E\($0)", data: .object([:])) }
            + (0..<revokes).map { EventDraft(kind: .revoke, subject: "E\($0)", data: .object([:])) }
            + [EventDraft(kind: .joiner, subject: "N", data: .object([:])),
               EventDraft(kind: .orphaned, subject: "x", data: .object(["action": "disable"])),
               EventDraft(kind: .orphaned, subject: "y", data: .object(["action": "report"]))]
        return MassChangeGuard.check(plan, state: state, policy: policy, sources: sources.map { ($0.0, $0.1, $0.2) },
                                     directories: directories.map { ($0.0, $0.1, $0.2) })
    }

    @Test(arguments: [
        // linked, leavers, revokes, tripped, why (each plan also disables one orphan)
        (10_000, 40, 10, true, "51 actions, more than 50"),
        (10_000, 30, 10, false, "41 actions: under the count, 0.4 %"),
        (100, 8, 0, false, "9 actions are 9 %, but fewer than the minimum count of 10"),
        (100, 10, 0, true, "11 actions are 11 % of 100"),
        (10, 3, 0, false, "4 actions among 10 people: under the minimum count"),
    ])
    func thresholds(linked: Int, leavers: Int, revokes: Int, tripped: Bool, why: String) {
        let verdict = Self.verdict(linked: linked, leavers: leavers, revokes: revokes)
        #expect(verdict.deprovisions == leavers + revokes + 1, "\(why)")
        #expect(verdict.actions["dev.rollcall.account.orphaned"] == 1)
        #expect(verdict.actions["dev.rollcall.identity.joiner"] == nil)
        #expect(verdict.tripped == tripped, "\(why): \(verdict.reasons)")
    }

    @Test func theReasonsNameTheThresholds() {
        let count = Self.verdict(linked: 10_000, leavers: 60)
        #expect(count.reasons == ["61 deprovisioning actions, more than max_deprovisions (50)"])
        let share = Self.verdict(linked: 100, leavers: 12)
        #expect(share.reasons == ["13 deprovisioning actions are 13 % of 100 linked identities, more than max_deprovision_percent (5)"])
    }

    @Test func aSourceOrDirectoryThatShrinksTrips() {
        let verdict = Self.verdict(linked: 1000, leavers: 0, sources: [("workday", 500, 1000), ("contractors", 95, 100), ("new", 10, nil)],
                                   directories: [("corp", 880, 1000), ("lab", 3, 20)])
        #expect(verdict.reasons == [
            "HR source workday has 500, 50 % fewer than the 1000 of the last applied run (max_shrink_percent 10)",
            "directory corp has 880, 12 % fewer than the 1000 of the last applied run (max_shrink_percent 10)",
            "directory lab has 3, 85 % fewer than the 20 of the last applied run (max_shrink_percent 10)",
        ])
        // contractors lost 5 (under the minimum count), "new" has no history.
    }
}

@Suite struct JoinerAndFirstRunGuardTests {
    static func plan(joiners: Int, persons: Int) -> Plan {
        var plan = Plan()
        plan.summary.personsRead = persons
        plan.events = (0..<joiners).map { EventDraft(kind: .joiner, subject: "N\($0)", data: .object([:])) }
        return plan
    }

    @Test(arguments: [
        // joiners, persons read, tripped, why
        (201, 100_000, true, "more than max_joiners (200)"),
        (150, 1_000, true, "15 % of 1000 persons"),
        (9, 20, false, "45 %, but fewer than the minimum count"),
        (50, 1_000, false, "a normal day: 5 %"),
    ])
    func joinerThresholds(joiners: Int, persons: Int, tripped: Bool, why: String) {
        let verdict = MassChangeGuard.check(Self.plan(joiners: joiners, persons: persons), state: StoredState(), policy: GuardPolicy(),
                                            sources: [], directories: [])
        #expect(verdict.joiners == joiners)
        #expect(verdict.tripped == tripped, "\(why): \(verdict.reasons)")
        #expect(verdict.held == (tripped ? [.joiners] : []))
    }

    @Test func theFirstRunTripsAsAWholeAndSaysWhatItWouldDo() {
        var plan = Self.plan(joiners: 3, persons: 10)
        plan.summary.matched = 7
        plan.summary.orphans = 2
        let verdict = MassChangeGuard.check(plan, state: StoredState(), policy: GuardPolicy(), sources: [], directories: [], firstRun: true)
        #expect(verdict.firstRun && verdict.tripped && verdict.held.isEmpty)
        #expect(verdict.reasons.first?.contains("7 persons matched an account, 3 would be joiners, 2 accounts would be orphans") == true)
    }

    /// Only what is guarded is held: a held person's whole part waits, the rest of the plan is
    /// untouched, and the two parts together are the plan.
    @Test func aPlanSplitsIntoWhatIsHeldAndWhatApplies() throws {
        let state = try F.settled([F.person("E1"), F.person("E2"), F.person("E3")],
                                  [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("a3", key: "E3")])
        let plan = try Reconciler().plan(records: [F.person("E1", status: .terminated), F.person("E2", department: "Legal"), F.person("E3"),
                                                   F.person("E4")],
                                         accounts: [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("a3", key: "E3"),
                                                    F.account("svc", key: nil)],
                                         state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.leaver E1", "identity.mover E2", "identity.joiner E4", "account.orphaned svc"])
        let held = plan.guardedDecisions(in: [.deprovisioning])
        #expect(held.map(\.subject) == ["E1"] && held.first?.kind == .leaver)
        let rest = plan.excluding(persons: ["E1"], accounts: [], state: state)
        let part = plan.restricted(to: ["E1"], accounts: [], state: state)
        #expect(F.kinds(rest) == ["identity.mover E2", "identity.joiner E4", "account.orphaned svc"])
        #expect(F.kinds(part) == ["identity.leaver E1"])
        #expect(rest.summary.leavers == 0 && rest.summary.movers == 1 && rest.summary.joiners == 1 && rest.summary.events == 3)
        #expect(rest.personUpserts.map(\.employeeID).sorted() == ["E2", "E4"])
        #expect(part.personUpserts.map(\.employeeID) == ["E1"])
        // Applying the rest and then the held part is applying the plan.
        let whole = state.applying(plan)
        let split = state.applying(rest).applying(part)
        #expect(split.persons == whole.persons && Set(split.links) == Set(whole.links))
        // The held person is planned the same way again by the next run: nothing else is.
        let next = try Reconciler().plan(records: [F.person("E1", status: .terminated), F.person("E2", department: "Legal"), F.person("E3"),
                                                   F.person("E4")],
                                         accounts: [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("a3", key: "E3"),
                                                    F.account("svc", key: nil)],
                                         state: state.applying(rest), today: F.today)
        #expect(F.kinds(next) == ["identity.leaver E1"])
        // An orphan to disable is held by its account.
        let disabling = HeldDecision(subject: "svc", directory: "ldap", kind: .orphaned, data: .object([:]))
        let withoutOrphan = plan.excluding(persons: [], accounts: [AccountKey(directory: "ldap", anchor: disabling.subject)], state: state)
        #expect(F.kinds(withoutOrphan) == ["identity.leaver E1", "identity.mover E2", "identity.joiner E4"])
        #expect(!withoutOrphan.accountUpserts.contains { $0.anchor == "svc" })
    }
}
