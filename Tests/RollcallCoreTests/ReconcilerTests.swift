import RollcallCore
import Testing

/// One situation: what was stored before (as the inputs of an earlier run), what is read now, and
/// the events that must follow.
struct Situation: Sendable, CustomTestStringConvertible {
    var name: String
    var before: ([HRRecord], [DirectoryAccount])?
    var beforeDay: Day = F.today
    var records: [HRRecord]
    var accounts: [DirectoryAccount]
    var today: Day = F.today
    var expected: [String]

    var testDescription: String { name }
}

@Suite struct ReconcilerTests {
    static let situations: [Situation] = [
        Situation(name: "new active person without account is a joiner",
                  records: [F.person("E1")], accounts: [], expected: ["identity.joiner E1"]),
        Situation(name: "new active person with a matching account is linked, not a joiner",
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1")], expected: ["account.linked E1"]),
        Situation(name: "new terminated person with an account is a leaver",
                  records: [F.person("E1", status: .terminated)], accounts: [F.account("a1", key: "E1")],
                  expected: ["account.linked E1", "identity.leaver E1"]),
        Situation(name: "new terminated person without account: nothing to announce",
                  records: [F.person("E1", status: .terminated)], accounts: [], expected: []),
        Situation(name: "department change is a mover",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1", department: "Engineering")], accounts: [F.account("a1", key: "E1")],
                  expected: ["identity.mover E1"]),
        Situation(name: "title and manager change is one mover",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1", title: "Lead", manager: "E9")], accounts: [F.account("a1", key: "E1")],
                  expected: ["identity.mover E1"]),
        Situation(name: "name change is an update, not a mover",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1", given: "Augusta")], accounts: [F.account("a1", key: "E1")],
                  expected: ["identity.updated E1"]),
        Situation(name: "status terminated is a leaver",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1", status: .terminated)], accounts: [F.account("a1", key: "E1")],
                  expected: ["identity.leaver E1"]),
        Situation(name: "a future termination date is only an update",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1", end: "2026-03-16")], accounts: [F.account("a1", key: "E1")],
                  expected: ["identity.updated E1"]),
        Situation(name: "the day after the last day worked is a leaver",
                  before: ([F.person("E1", end: "2026-03-14")], [F.account("a1", key: "E1")]),
                  beforeDay: F.day("2026-03-14") ?? F.today, records: [F.person("E1", end: "2026-03-14")], accounts: [F.account("a1", key: "E1")],
                  today: F.day("2026-03-15") ?? F.today, expected: ["identity.leaver E1"]),
        Situation(name: "the last day worked itself is not yet a leaver",
                  before: ([F.person("E1", end: "2026-03-15")], [F.account("a1", key: "E1")]),
                  beforeDay: F.day("2026-03-14") ?? F.today, records: [F.person("E1", end: "2026-03-15")], accounts: [F.account("a1", key: "E1")],
                  today: F.day("2026-03-15") ?? F.today, expected: []),
        Situation(name: "a terminated person active again is a rehire, not a joiner",
                  before: ([F.person("E1", status: .terminated)], [F.account("a1", key: "E1")]),
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1")], expected: ["identity.rehire E1"]),
        Situation(name: "an account without a person is reported as an orphan",
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1"), F.account("svc", key: nil)],
                  expected: ["account.linked E1", "account.orphaned svc"]),
        Situation(name: "an orphan is reported once",
                  before: ([F.person("E1")], [F.account("a1", key: "E1"), F.account("svc", key: nil)]),
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1"), F.account("svc", key: nil)],
                  expected: []),
        Situation(name: "the joiner's account appearing later links it",
                  before: ([F.person("E1")], [F.account("x", key: "E0")]),
                  records: [F.person("E1")], accounts: [F.account("x", key: "E0"), F.account("a1", key: "E1")],
                  expected: ["account.linked E1"]),
        Situation(name: "a linked account missing from a complete read is removed",
                  before: ([F.person("E1"), F.person("E2")], [F.account("a1", key: "E1"), F.account("a2", key: "E2")]),
                  records: [F.person("E1"), F.person("E2")], accounts: [F.account("a1", key: "E1")],
                  expected: ["account.removed a2"]),
        Situation(name: "the link is kept by anchor when the correlation value changes",
                  before: ([F.person("E1")], [F.account("a1", key: "E1")]),
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1-old", dn: "uid=renamed,dc=example,dc=test")],
                  expected: []),
        Situation(name: "two accounts carrying one HR id link neither, and a disputed person is no joiner",
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1"), F.account("a2", key: "E1")],
                  expected: ["correlation.disputed E1"]),
        Situation(name: "a person absent from the HR read is missing, not a leaver (on_missing: report)",
                  before: ([F.person("E1"), F.person("E2")], [F.account("a1", key: "E1"), F.account("a2", key: "E2")]),
                  records: [F.person("E1")], accounts: [F.account("a1", key: "E1"), F.account("a2", key: "E2")],
                  expected: ["identity.missing E2"]),
    ]

    @Test(arguments: situations)
    func decides(_ situation: Situation) throws {
        let state = try situation.before.map { try F.settled($0.0, $0.1, today: situation.beforeDay) } ?? StoredState()
        let plan = try Reconciler().plan(records: situation.records, accounts: situation.accounts, state: state,
                                         today: situation.today)
        #expect(F.kinds(plan) == situation.expected)
        // Applying the plan and planning again with the same inputs yields nothing.
        let again = try Reconciler().plan(records: situation.records, accounts: situation.accounts,
                                          state: state.applying(plan), today: situation.today)
        #expect(again.isEmpty, "second plan: \(F.kinds(again)), \(again.personUpserts.count) person writes")
    }

    @Test func moverCarriesBeforeAndAfter() throws {
        let state = try F.settled([F.person("E1")], [F.account("a1", key: "E1")])
        let plan = try Reconciler().plan(records: [F.person("E1", department: "Engineering")],
                                         accounts: [F.account("a1", key: "E1")], state: state, today: F.today)
        let data = try #require(plan.events.first?.data)
        #expect(data["hr_id"] == .string("E1"))
        #expect(data["accounts"] == .array([.object(["directory": .string("ldap"), "anchor": .string("a1"),
                                                     "dn": .string("uid=a1,ou=people,dc=example,dc=test")])]))
        #expect(data["changes"] == .array([.object(["attribute": .string("department"), "before": .string("Sales"),
                                                    "after": .string("Engineering")])]))
    }

    @Test func aTerminationDateStillAheadFiresNothing() throws {
        let state = try F.settled([F.person("E1", end: "2050-01-01")], [F.account("a1", key: "E1")])
        let plan = try Reconciler().plan(records: [F.person("E1", end: "2050-01-01")], accounts: [F.account("a1", key: "E1")],
                                         state: state, today: F.today)
        #expect(plan.events.isEmpty)
        #expect(state.persons["E1"]?.lifecycle == .active)
    }

    @Test func ambiguousCandidatesAreReported() throws {
        let plan = try Reconciler().plan(records: [F.person("E1")],
                                         accounts: [F.account("a2", key: "E1"), F.account("a1", key: "E1")],
                                         state: StoredState(), today: F.today)
        #expect(plan.ambiguities == [AmbiguousMatch(employeeID: "E1", directory: "ldap", anchors: ["a1", "a2"])])
        #expect(plan.linkUpserts.isEmpty)
        #expect(plan.summary.ambiguous == 1)
        #expect(plan.summary.joiners == 0, "a person with disputed candidates may have an account: no joiner")
    }

    @Test func emailCorrelationIgnoresCase() throws {
        let plan = try Reconciler().plan(
            records: [F.person("E1", email: "Ada.Lovelace@Example.test")],
            accounts: [F.account("a1", key: "ada.lovelace@example.TEST")], key: .email, state: StoredState(), today: F.today)
        #expect(plan.linkUpserts == [Link(employeeID: "E1", directory: "ldap", anchor: "a1")])
    }

    @Test func emptyDirectoryReadIsRefusedWhenAccountsAreStored() throws {
        let state = try F.settled([F.person("E1")], [F.account("a1", key: "E1")])
        #expect(throws: ReconcileRefusal.self) {
            try Reconciler().plan(records: [F.person("E1")], accounts: [], state: state, today: F.today)
        }
    }

    @Test func emptyHRReadIsRefusedWhenPersonsAreStored() throws {
        let state = try F.settled([F.person("E1")], [F.account("a1", key: "E1")])
        #expect(throws: ReconcileRefusal.self) {
            try Reconciler().plan(records: [], accounts: [F.account("a1", key: "E1")], state: state, today: F.today)
        }
    }

    @Test func duplicateAnchorsAreRefused() {
        #expect(throws: ReconcileRefusal.self) {
            try Reconciler().plan(records: [], accounts: [F.account("a1", key: "E1"), F.account("a1", key: "E2")],
                                  state: StoredState(), today: F.today)
        }
    }

    @Test func summaryCountsWhatHappened() throws {
        let state = try F.settled([F.person("E1"), F.person("E2")], [F.account("a1", key: "E1"), F.account("a2", key: "E2")])
        let plan = try Reconciler().plan(
            records: [F.person("E1", department: "Legal"), F.person("E2", status: .terminated), F.person("E3")],
            accounts: [F.account("a1", key: "E1"), F.account("a2", key: "E2"), F.account("s", key: nil)],
            state: state, today: F.today)
        let s = plan.summary
        #expect([s.personsRead, s.entriesRead, s.matched, s.joiners, s.movers, s.leavers, s.orphans, s.events]
            == [3, 3, 2, 1, 1, 1, 1, 4])
    }
}

@Suite struct DirectoryDeltaTests {
    static let stored: [String: StoredAccount] = Dictionary(uniqueKeysWithValues: ["a1", "a2", "a3"].map {
        ($0, StoredAccount(directory: F.directory, account: F.account($0, key: "E-\($0)"), orphanReported: false))
    })

    @Test func changesAndDeletesPatchTheStoredView() {
        let moved = F.account("a2", key: "E-a2", dn: "uid=a2,ou=moved,dc=example,dc=test")
        let accounts = DirectoryDelta.apply(stored: Self.stored, changed: [moved, F.account("a4", key: "E4")], deleted: ["a3"], present: nil)
        #expect(Set(accounts.map(\.anchor)) == ["a1", "a2", "a4"])
        #expect(accounts.first { $0.anchor == "a2" }?.dn == "uid=a2,ou=moved,dc=example,dc=test")
    }

    @Test func aPresentListDropsWhatItDoesNotName() {
        let accounts = DirectoryDelta.apply(stored: Self.stored, changed: [F.account("a4", key: "E4")], deleted: [], present: ["a1"])
        #expect(Set(accounts.map(\.anchor)) == ["a1", "a4"])
    }

    @Test func aDeltaPlansLikeTheEquivalentFullRead() throws {
        let records = [F.person("E-a1"), F.person("E-a2"), F.person("E-a3")]
        let full = [F.account("a1", key: "E-a1"), F.account("a2", key: "E-a2"), F.account("a3", key: "E-a3")]
        let state = try F.settled(records, full)
        let viaDelta = DirectoryDelta.apply(stored: state.accounts[F.directory] ?? [:], changed: [], deleted: ["a3"], present: nil)
        let planDelta = try Reconciler().plan(records: records, accounts: viaDelta, state: state, today: F.today)
        let planFull = try Reconciler().plan(records: records, accounts: Array(full.prefix(2)), state: state, today: F.today)
        #expect(planDelta.events == planFull.events)
        #expect(F.kinds(planDelta) == ["account.removed a3"])
    }
}
