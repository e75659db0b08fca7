import RollcallCore
import Testing

/// The lifecycle over time: each step is one run on one day, with the HR data of that day; the
/// clock is the parameter. Policy: joiner 7 days before the start, delete 30 days after the end.
struct Timeline: Sendable, CustomTestStringConvertible {
    struct Step: Sendable {
        var day: String
        var person: HRRecord
        var accounts: [DirectoryAccount] = []
        var expected: [String]
    }

    var name: String
    var steps: [Step]
    var testDescription: String { name }
}

func hr(hire: String? = nil, end: String? = nil, status: EmploymentStatus = .active, department: String = "Sales") -> HRRecord {
    HRRecord(employeeID: "E1",
             attributes: PersonAttributes(givenName: "Ada", familyName: "L", email: "e1@example.test", department: department,
                                          status: status, hireDate: hire.flatMap(Day.init(iso:)), terminationDate: end.flatMap(Day.init(iso:))),
             origin: SourceLocation(source: "hr.csv", line: 2))
}

let account = [F.account("a1", key: "E1")]

@Suite struct LifecycleTests {
    static let timelines: [Timeline] = [
        Timeline(name: "a future start: nothing, then the joiner 7 days before, then started", steps: [
            .init(day: "2026-03-01", person: hr(hire: "2026-04-01"), expected: []),
            .init(day: "2026-03-24", person: hr(hire: "2026-04-01"), expected: []),
            .init(day: "2026-03-25", person: hr(hire: "2026-04-01"), expected: ["identity.joiner"]),
            .init(day: "2026-03-26", person: hr(hire: "2026-04-01"), expected: []),
            .init(day: "2026-04-01", person: hr(hire: "2026-04-01"), accounts: account, expected: ["account.linked", "identity.started"]),
            .init(day: "2026-04-02", person: hr(hire: "2026-04-01"), accounts: account, expected: []),
        ]),
        Timeline(name: "a start date moved later after the joiner: no second joiner", steps: [
            .init(day: "2026-03-28", person: hr(hire: "2026-04-01"), expected: ["identity.joiner"]),
            .init(day: "2026-03-29", person: hr(hire: "2026-05-01"), expected: ["identity.updated"]),
            .init(day: "2026-04-24", person: hr(hire: "2026-05-01"), expected: []),
            .init(day: "2026-05-01", person: hr(hire: "2026-05-01"), expected: ["identity.started"]),
        ]),
        Timeline(name: "changes before the announcement are silent; after it they are movers", steps: [
            .init(day: "2026-03-01", person: hr(hire: "2026-04-01"), expected: []),
            .init(day: "2026-03-02", person: hr(hire: "2026-04-01", department: "Legal"), expected: []),
            .init(day: "2026-03-26", person: hr(hire: "2026-04-01", department: "Legal"), expected: ["identity.joiner"]),
            .init(day: "2026-03-27", person: hr(hire: "2026-04-01", department: "Ops"), expected: ["identity.mover"]),
        ]),
        Timeline(name: "an offer withdrawn before and after the announcement", steps: [
            .init(day: "2026-03-01", person: hr(hire: "2026-04-01"), expected: []),
            .init(day: "2026-03-02", person: hr(hire: "2026-04-01", status: .terminated), expected: []),
            .init(day: "2026-03-27", person: hr(hire: "2026-04-01", status: .terminated), expected: []),
        ]),
        Timeline(name: "an announced pre-hire withdrawn is a leaver", steps: [
            .init(day: "2026-03-27", person: hr(hire: "2026-04-01"), expected: ["identity.joiner"]),
            .init(day: "2026-03-28", person: hr(hire: "2026-04-01", status: .terminated), expected: ["identity.leaver"]),
        ]),
        Timeline(name: "leave of absence: suspended, then resumed", steps: [
            .init(day: "2026-03-01", person: hr(), accounts: account, expected: ["account.linked"]),
            .init(day: "2026-03-02", person: hr(status: .suspended), accounts: account, expected: ["identity.suspended"]),
            .init(day: "2026-03-03", person: hr(status: .suspended), accounts: account, expected: []),
            .init(day: "2026-04-02", person: hr(), accounts: account, expected: ["identity.resumed"]),
        ]),
        Timeline(name: "termination date (the last day worked): leaver the day after, deprovision 30 days after that, once each", steps: [
            .init(day: "2026-03-01", person: hr(end: "2026-03-10"), accounts: account, expected: ["account.linked"]),
            .init(day: "2026-03-10", person: hr(end: "2026-03-10"), accounts: account, expected: []),
            .init(day: "2026-03-11", person: hr(end: "2026-03-10"), accounts: account, expected: ["identity.leaver"]),
            .init(day: "2026-04-09", person: hr(end: "2026-03-10"), accounts: account, expected: []),
            .init(day: "2026-04-10", person: hr(end: "2026-03-10"), accounts: account, expected: ["identity.deprovision"]),
            .init(day: "2026-04-11", person: hr(end: "2026-03-10"), accounts: account, expected: []),
        ]),
        Timeline(name: "terminated by status without a date: the grace counts from the day it was seen", steps: [
            .init(day: "2026-03-01", person: hr(), accounts: account, expected: ["account.linked"]),
            .init(day: "2026-03-05", person: hr(status: .terminated), accounts: account, expected: ["identity.leaver"]),
            .init(day: "2026-04-03", person: hr(status: .terminated), accounts: account, expected: []),
            .init(day: "2026-04-04", person: hr(status: .terminated), accounts: account, expected: ["identity.deprovision"]),
        ]),
        Timeline(name: "runs missed past the grace period: leaver and deprovision together", steps: [
            .init(day: "2026-01-01", person: hr(), accounts: account, expected: ["account.linked"]),
            .init(day: "2026-06-01", person: hr(end: "2026-02-01"), accounts: account,
                  expected: ["identity.leaver", "identity.deprovision"]),
        ]),
        Timeline(name: "a rehire after deprovisioning: announced in the new window, then started", steps: [
            .init(day: "2026-01-01", person: hr(end: "2025-12-31"), accounts: account, expected: ["account.linked", "identity.leaver"]),
            .init(day: "2026-02-15", person: hr(end: "2025-12-31"), accounts: account, expected: ["identity.deprovision"]),
            .init(day: "2026-03-01", person: hr(hire: "2026-04-01"), accounts: account, expected: []),
            .init(day: "2026-03-25", person: hr(hire: "2026-04-01"), accounts: account, expected: ["identity.rehire"]),
            .init(day: "2026-04-01", person: hr(hire: "2026-04-01"), accounts: account, expected: ["identity.started"]),
        ]),
        Timeline(name: "first seen long terminated with an account: leaver and deprovision", steps: [
            .init(day: "2026-03-15", person: hr(end: "2025-01-01"), accounts: account,
                  expected: ["account.linked", "identity.leaver", "identity.deprovision"]),
            .init(day: "2026-03-16", person: hr(end: "2025-01-01"), accounts: account, expected: []),
        ]),
        Timeline(name: "first seen on leave without an account: joiner and suspended", steps: [
            .init(day: "2026-03-15", person: hr(status: .suspended), expected: ["identity.joiner", "identity.suspended"]),
        ]),
    ]

    @Test(arguments: timelines)
    func announcesEachStepOnce(_ timeline: Timeline) throws {
        let reconciler = Reconciler(policy: LifecyclePolicy(prehireDays: 7, deprovisionAfterDays: 30))
        var state = StoredState()
        for step in timeline.steps {
            let today = try #require(Day(iso: step.day))
            let plan = try reconciler.plan(records: [step.person], accounts: step.accounts, state: state, today: today)
            #expect(plan.events.map(\.kind.rawValue) == step.expected, "\(step.day)")
            state = state.applying(plan)
            // The same day again: nothing new.
            let again = try reconciler.plan(records: [step.person], accounts: step.accounts, state: state, today: today)
            #expect(again.events.isEmpty, "\(step.day) twice: \(again.events.map(\.kind.rawValue))")
        }
    }

    /// `termination_date_is: first_day_gone`: the date itself is the first day without access.
    @Test func aFirstDayGoneDateIsALeaverOnThatDay() throws {
        let reconciler = Reconciler(policy: LifecyclePolicy(deprovisionAfterDays: 30, terminationDateIs: .firstDayGone))
        var state = StoredState()
        var seen: [String] = []
        for day in ["2026-03-01", "2026-03-09", "2026-03-10", "2026-04-08", "2026-04-09"] {
            let plan = try reconciler.plan(records: [hr(end: "2026-03-10")], accounts: account, state: state, today: try #require(Day(iso: day)))
            seen.append("\(day): " + plan.events.map(\.kind.rawValue).joined(separator: ","))
            state = state.applying(plan)
        }
        #expect(seen == ["2026-03-01: account.linked", "2026-03-09: ", "2026-03-10: identity.leaver", "2026-04-08: ", "2026-04-09: identity.deprovision"])
    }

    @Test func eventsCarryTheLifecycleState() throws {
        let plan = try Reconciler().plan(records: [hr(hire: "2026-03-20")], accounts: [], state: StoredState(),
                                         today: try #require(Day(iso: "2026-03-15")))
        #expect(plan.events.first?.kind == .joiner)
        #expect(plan.events.first?.data["lifecycle"] == .string("prehire"))
        #expect(plan.personUpserts.first?.lifecycleSince == Day(iso: "2026-03-15"))
    }

    @Test func daysAddAcrossMonthsAndLeapYears() {
        #expect(Day(iso: "2028-02-28")?.adding(days: 1) == Day(iso: "2028-02-29"))
        #expect(Day(iso: "2026-03-01")?.adding(days: -1) == Day(iso: "2026-02-28"))
        #expect(Day(iso: "2026-12-31")?.adding(days: 30) == Day(iso: "2027-01-30"))
        #expect(Day(iso: "1970-01-01")?.daysSinceEpoch == 0)
    }
}
