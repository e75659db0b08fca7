import RollcallCore
import Testing

/// Retention: a deprovisioned person is purged `purge_after_days` after the termination, once,
/// leaving a tombstone that keeps a terminated record still in HR from coming back.
@Suite struct PurgeTests {
    static let reconciler = Reconciler(policy: LifecyclePolicy(deprovisionAfterDays: 30, purgeAfterDays: 90),
                                       pseudonym: { "tomb-" + String($0.reversed()) })

    static func plan(_ records: [HRRecord], _ accounts: [DirectoryAccount], _ state: StoredState, on day: String) throws -> Plan {
        try reconciler.plan(records: records, accounts: accounts, state: state, today: try #require(F.day(day)))
    }

    @Test func purgedOnceAfterRetentionThenTheRecordStaysPurged() throws {
        let leaver = F.person("E1", end: "2025-12-31")  // the last day worked: gone from 2026-01-01
        let stays = F.person("E2")
        var state = StoredState()
        var plan = try Self.plan([leaver, stays], [F.account("a1", key: "E1"), F.account("a2", key: "E2")], state, on: "2025-12-01")
        state = state.applying(plan)
        var timeline: [String] = []
        for day in ["2026-01-01", "2026-01-31", "2026-03-31", "2026-04-01", "2026-04-02"] {
            // Downstream deletes the account when told to.
            let accounts = day < "2026-01-31" ? [F.account("a1", key: "E1"), F.account("a2", key: "E2")] : [F.account("a2", key: "E2")]
            plan = try Self.plan([leaver, stays], accounts, state, on: day)
            timeline.append("\(day): " + F.kinds(plan).joined(separator: ", "))
            state = state.applying(plan)
        }
        #expect(timeline == [
            "2026-01-01: identity.leaver E1", "2026-01-31: identity.deprovision E1, account.removed a1", "2026-03-31: ",
            "2026-04-01: identity.purged tombstone:tomb-1E", "2026-04-02: ",
        ])
        #expect(state.persons["E1"] == nil && state.persons["E2"] != nil)
        #expect(state.tombstones == ["tomb-1E"])
        // The day after, HR still lists E1 as terminated: left out and counted, nothing stored.
        plan = try Self.plan([leaver, stays], [F.account("a2", key: "E2")], state, on: "2026-04-02")
        #expect(plan.isEmpty)
        #expect(plan.summary.purgedInHR == 1 && plan.summary.personsRead == 1)
        // Rehired later: a new person (the old one is gone for good).
        plan = try Self.plan([F.person("E1"), stays], [F.account("a2", key: "E2")], state, on: "2026-06-01")
        #expect(F.kinds(plan) == ["identity.joiner E1"])
    }

    @Test func thePurgeEventAndWhatItErases() throws {
        var state = try F.settled([F.person("E1", status: .terminated, end: "2025-01-01")], [F.account("a1", key: "E1")],
                                  today: try #require(F.day("2026-03-01")))
        let plan = try Self.plan([F.person("E1", status: .terminated, end: "2025-01-01")], [F.account("a1", key: "E1")], state, on: "2026-03-15")
        // Its account, still in the directory, belongs to nobody now: an orphan, in the same run.
        #expect(F.kinds(plan) == ["identity.purged tombstone:tomb-1E", "account.orphaned a1"])
        let event = try #require(plan.events.first { $0.kind == .purged })
        #expect(event.data["tombstone"] == .string("tomb-1E"))
        #expect(event.data["termination_date"] == .string("2025-01-01"))
        #expect(event.data["purge_after_days"] == .int(90))
        #expect(event.data["accounts"] == .array([.object(["directory": "ldap", "anchor": "a1", "dn": "uid=a1,ou=people,dc=example,dc=test"])]))
        #expect(event.data["person"] == nil && event.data["hr_id"] == nil, "the purge event names the tombstone only")
        #expect(plan.personPurges == [Tombstone(employeeID: "E1", pseudonym: "tomb-1E", terminationDate: F.day("2025-01-01"))])
        #expect(plan.personUpserts.isEmpty)
        state = state.applying(plan)
        #expect(state.persons.isEmpty && state.links.isEmpty)
        let next = try Self.plan([F.person("E1", status: .terminated, end: "2025-01-01")], [F.account("a1", key: "E1")], state, on: "2026-03-16")
        #expect(next.isEmpty)
    }

    @Test func aPersonGoneFromHRIsPurgedTooAndANewcomerPastRetentionIsAnnouncedFirst() throws {
        let gone = F.person("E1", status: .terminated, end: "2025-01-01")
        let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2")]
        var state = try F.settled([gone, F.person("E2")], accounts, today: try #require(F.day("2026-03-01")))
        // E1 is no longer in the export and its account disappears in the same run: the purge
        // drops the link first, so the removal names nobody.
        var plan = try Self.plan([F.person("E2")], [F.account("a2", key: "E2")], state, on: "2026-03-15")
        #expect(F.kinds(plan) == ["identity.purged tombstone:tomb-1E", "account.removed a1"])
        #expect(plan.events.last?.data["hr_id"] == .null)
        state = state.applying(plan)
        #expect(try Self.plan([F.person("E2")], [F.account("a2", key: "E2")], state, on: "2026-03-15").isEmpty)
        // Seen for the first time long after the retention: announced today, purged the next day
        // (its account, still there, is then an orphan).
        let people = [F.person("E2"), F.person("E3", end: "2020-01-01")]
        let read = [F.account("a2", key: "E2"), F.account("a3", key: "E3")]
        plan = try Self.plan(people, read, state, on: "2026-03-15")
        #expect(F.kinds(plan) == ["account.linked E3", "identity.leaver E3", "identity.deprovision E3"])
        state = state.applying(plan)
        #expect(try Self.plan(people, read, state, on: "2026-03-15").isEmpty)
        plan = try Self.plan(people, read, state, on: "2026-03-16")
        #expect(F.kinds(plan) == ["identity.purged tombstone:tomb-3E", "account.orphaned a3"])
    }

    @Test func purgingWithoutAPseudonymIsRefused() {
        let reconciler = Reconciler(policy: LifecyclePolicy(purgeAfterDays: 90))
        #expect(throws: ReconcileRefusal.self) {
            try reconciler.plan(records: [F.person("E1")], accounts: [], state: StoredState(), today: F.today)
        }
    }
}
