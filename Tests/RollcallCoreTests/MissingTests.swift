import RollcallCore
import Testing

/// Workers who drop out of every HR source: announced once as missing; with `on_missing: leave`
/// a leaver after the grace period; a known end keeps its calendar whether listed or not.
@Suite struct MissingTests {
    static func person(_ id: String, source: String = "staff", end: String? = nil, status: EmploymentStatus = .active) -> HRRecord {
        var record = F.person(id, status: status, end: end)
        record.source = source
        return record
    }

    static let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2")]

    /// Runs one day after another; returns each day's events.
    static func days(_ reconciler: Reconciler, _ steps: [(String, [HRRecord])], unusable: Set<String> = [],
                     state: inout StoredState) throws -> [String] {
        var seen: [String] = []
        for (day, records) in steps {
            let today = try #require(F.day(day))
            let plan = try reconciler.plan(records: records, directories: [DirectoryInput(name: F.directory, key: .employeeID, accounts: accounts)],
                                           state: state, today: today, unusable: unusable)
            seen.append("\(day): " + F.kinds(plan).joined(separator: ", "))
            state = state.applying(plan)
            // The same day again changes nothing.
            let again = try reconciler.plan(records: records, directories: [DirectoryInput(name: F.directory, key: .employeeID, accounts: accounts)],
                                            state: state, today: today, unusable: unusable)
            #expect(again.isEmpty, "\(day) twice: \(F.kinds(again))")
        }
        return seen
    }

    @Test func reportAnnouncesOnceAndForgetsWhenListedAgain() throws {
        var state = StoredState()
        let seen = try Self.days(Reconciler(), [
            ("2026-03-01", [Self.person("E1"), Self.person("E2")]),
            ("2026-03-02", [Self.person("E1")]),
            ("2026-05-02", [Self.person("E1")]),
            ("2026-05-03", [Self.person("E1"), Self.person("E2")]),
        ], state: &state)
        #expect(seen == ["2026-03-01: account.linked E1, account.linked E2", "2026-03-02: identity.missing E2", "2026-05-02: ", "2026-05-03: "])
        #expect(state.persons["E2"]?.missingSince == nil && state.persons["E2"]?.lifecycle == .active)
    }

    @Test func leaveMakesALeaverAfterTheGraceThenTheNormalPath() throws {
        var state = StoredState()
        let reconciler = Reconciler(policy: LifecyclePolicy(deprovisionAfterDays: 30), missing: ["staff": MissingPolicy(action: .leave, graceDays: 3)])
        let seen = try Self.days(reconciler, [
            ("2026-03-01", [Self.person("E1"), Self.person("E2")]),
            ("2026-03-02", [Self.person("E1")]),
            ("2026-03-04", [Self.person("E1")]),
            ("2026-03-05", [Self.person("E1")]),
            ("2026-04-03", [Self.person("E1")]),
            ("2026-04-04", [Self.person("E1")]),
            ("2026-06-01", [Self.person("E1"), Self.person("E2")]),
        ], state: &state)
        #expect(seen == ["2026-03-01: account.linked E1, account.linked E2", "2026-03-02: identity.missing E2", "2026-03-04: ",
                         "2026-03-05: identity.leaver E2", "2026-04-03: ", "2026-04-04: identity.deprovision E2",
                         "2026-06-01: identity.rehire E2"])
    }

    @Test func theEventsSayWhyAndWhen() throws {
        let reconciler = Reconciler(missing: ["staff": MissingPolicy(action: .leave, graceDays: 0)])
        let state = try F.settled([Self.person("E1"), Self.person("E2")], Self.accounts)
        let plan = try reconciler.plan(records: [Self.person("E1")], accounts: Self.accounts, state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.missing E2", "identity.leaver E2"])
        let missing = try #require(plan.events.first)
        #expect(missing.data["action"] == "leave")
        #expect(missing.data["source"] == "staff")
        #expect(missing.data["missing_since"] == .string(F.today.description))
        #expect(missing.data["leave_on"] == .string(F.today.description))
        #expect(missing.data["accounts"] == .array([.object(["directory": "ldap", "anchor": "a2", "dn": "uid=a2,ou=people,dc=example,dc=test"])]))
        let leaver = try #require(plan.events.last)
        #expect(leaver.data["reason"] == "missing_from_hr")
        #expect(leaver.data["lifecycle"] == "terminated")
        #expect(leaver.data["action"] == nil)
    }

    @Test func aKnownTerminationKeepsItsCalendarAfterTheFeedDropsThePerson() throws {
        var state = StoredState()
        // Listed until the last day worked, then gone from the export.
        let seen = try Self.days(Reconciler(), [
            ("2026-03-01", [Self.person("E1"), Self.person("E2", end: "2026-03-20")]),
            ("2026-03-20", [Self.person("E1"), Self.person("E2", end: "2026-03-20")]),
            ("2026-03-21", [Self.person("E1")]),
            ("2026-04-19", [Self.person("E1")]),
            ("2026-04-20", [Self.person("E1")]),
        ], state: &state)
        #expect(seen == ["2026-03-01: account.linked E1, account.linked E2", "2026-03-20: ", "2026-03-21: identity.leaver E2",
                         "2026-04-19: ", "2026-04-20: identity.deprovision E2"])
        // A leaver who drops out inside the grace period is still deprovisioned.
        var early = StoredState()
        let dropped = try Self.days(Reconciler(), [
            ("2026-03-01", [Self.person("E1"), Self.person("E2", status: .terminated)]),
            ("2026-03-02", [Self.person("E1")]),
            ("2026-03-31", [Self.person("E1")]),
        ], state: &early)
        #expect(dropped == ["2026-03-01: account.linked E1, account.linked E2, identity.leaver E2", "2026-03-02: ",
                            "2026-03-31: identity.deprovision E2"])
    }

    @Test func aRecordThatCouldNotBeUsedIsNotMissing() throws {
        var state = StoredState()
        let seen = try Self.days(Reconciler(missing: ["staff": MissingPolicy(action: .leave, graceDays: 0)]), [
            ("2026-03-01", [Self.person("E1"), Self.person("E2")]),
        ], state: &state)
        #expect(seen.count == 1)
        let skipped = try Self.days(Reconciler(missing: ["staff": MissingPolicy(action: .leave, graceDays: 0)]), [
            ("2026-03-02", [Self.person("E1")]),
        ], unusable: ["E2"], state: &state)
        #expect(skipped == ["2026-03-02: "])
    }

    @Test func eachSourceHasItsOwnReaction() throws {
        let reconciler = Reconciler(missing: ["contractors": MissingPolicy(action: .leave, graceDays: 0)])
        let state = try F.settled([Self.person("E1", source: "contractors"), Self.person("E2")], Self.accounts)
        let plan = try reconciler.plan(records: [Self.person("E3")], accounts: Self.accounts, state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.missing E1", "identity.leaver E1", "identity.missing E2", "identity.joiner E3"])
    }

    @Test func theGuardCountsPersonsWhomALeaverWillFollow() throws {
        let state = try F.settled((1...20).map { Self.person("E\($0)") }, [])
        let kept = (1...10).map { Self.person("E\($0)") }
        let policy = GuardPolicy(maxDeprovisions: 5)
        let reporting = try Reconciler().plan(records: kept, accounts: [], state: state, today: F.today)
        #expect(!MassChangeGuard.check(reporting, state: state, policy: policy, sources: [], directories: []).tripped)
        let leaving = try Reconciler(missing: ["staff": MissingPolicy(action: .leave, graceDays: 7)])
            .plan(records: kept, accounts: [], state: state, today: F.today)
        let verdict = MassChangeGuard.check(leaving, state: state, policy: policy, sources: [], directories: [])
        #expect(verdict.actions["dev.rollcall.identity.missing"] == 10)
        #expect(verdict.tripped)
    }
}
