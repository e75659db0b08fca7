import RollcallCore
import Testing

/// HR-owned attributes against the directory's values.
@Suite struct DriftTests {
    static func account(title: String?, mail: String = "E1@Example.TEST") -> DirectoryAccount {
        var attributes = ["mail": [mail]]
        if let title { attributes["title"] = [title] }
        return DirectoryAccount(anchor: "a1", dn: "uid=a1,dc=t", correlationValue: "E1", attributes: attributes)
    }

    static func plan(_ record: HRRecord, _ account: DirectoryAccount, _ state: StoredState) throws -> Plan {
        try Reconciler().plan(records: [record], directories: [
            DirectoryInput(name: "ldap", rules: [CorrelationRule(hrField: .employeeID, attribute: "employeeNumber")], accounts: [account],
                           hrOwned: [(.title, "title"), (.email, "mail")]),
        ], state: state, today: F.today)
    }

    static func drifts(_ plan: Plan) -> [String] {
        plan.events.filter { $0.kind == .drift }.map {
            "\($0.data["attribute"]?.stringValue ?? "") \($0.data["expected"]?.stringValue ?? "-") \($0.data["actual"]?.stringValue ?? "-")"
        }
    }

    @Test func aDriftIsAnnouncedOnceForgottenWhenFixedAndAnnouncedWhenItComesBack() throws {
        let person = F.person("E1", title: "Analyst")
        var state = StoredState()
        var plan = try Self.plan(person, Self.account(title: "Engineer"), state)
        #expect(Self.drifts(plan) == ["title Analyst Engineer"], "e-mail compares case-insensitively")
        #expect(plan.events.first { $0.kind == .drift }?.data["directory_attribute"] == .string("title"))
        state = state.applying(plan)
        #expect(try Self.plan(person, Self.account(title: "Engineer"), state).isEmpty)

        plan = try Self.plan(person, Self.account(title: "Analyst"), state)
        #expect(Self.drifts(plan).isEmpty)
        state = state.applying(plan)
        #expect(state.driftNotices.isEmpty)

        plan = try Self.plan(person, Self.account(title: nil), state)
        #expect(Self.drifts(plan) == ["title Analyst -"])
        state = state.applying(plan)
        // A different wrong value is a new drift.
        plan = try Self.plan(person, Self.account(title: "Lead"), state)
        #expect(Self.drifts(plan) == ["title Analyst Lead"])
        state = state.applying(plan)

        // A leaver's attributes no longer matter: the drift is forgotten, nothing announced.
        plan = try Self.plan(F.person("E1", title: "Analyst", status: .terminated), Self.account(title: "Lead"), state)
        #expect(Self.drifts(plan).isEmpty)
        #expect(state.applying(plan).driftNotices.isEmpty)
    }

    @Test func aQuietRunLooksAtNothing() throws {
        let person = F.person("E1", title: "Analyst")
        let state = StoredState().applying(try Self.plan(person, Self.account(title: "Analyst"), StoredState()))
        #expect(try Self.plan(person, Self.account(title: "Analyst"), state).isEmpty)
    }
}
