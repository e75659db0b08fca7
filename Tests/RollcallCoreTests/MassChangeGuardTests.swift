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
