import RollcallCore
import Testing

/// Ordered correlation rules, disputes announced once, and accounts replaced by new ones.
@Suite struct CorrelationTests {
    static let rules = [CorrelationRule(hrField: .employeeID, attribute: "employeeNumber"), CorrelationRule(hrField: .email, attribute: "mail")]

    static func account(_ anchor: String, number: String?, mail: String?) -> DirectoryAccount {
        DirectoryAccount(anchor: anchor, dn: "uid=\(anchor),dc=t", correlationValue: number, moreCorrelationValues: [mail])
    }

    static func plan(_ records: [HRRecord], _ accounts: [DirectoryAccount], _ state: StoredState = StoredState()) throws -> Plan {
        try Reconciler().plan(records: records, directories: [DirectoryInput(name: "ldap", rules: rules, accounts: accounts)],
                              state: state, today: F.today)
    }

    @Test func rulesAreTriedInOrderAndTheLinkSaysWhichMatched() throws {
        let plan = try Self.plan([F.person("E1", email: "ada@example.test"), F.person("E2", email: "bo@example.test")],
                                 [Self.account("a1", number: nil, mail: "ADA@example.test"), Self.account("a2", number: "E2", mail: "other@x")])
        #expect(Set(plan.linkUpserts.map { "\($0.employeeID) \($0.anchor)" }) == ["E1 a1", "E2 a2"])
        let matchedBy = plan.events.filter { $0.kind == .linked }.map { "\($0.subject) \($0.data["matched_by"]?.stringValue ?? "-")" }
        #expect(matchedBy == ["E1 email = mail", "E2 employee_id = employeeNumber"])
    }

    @Test func aDisputeAtAStrongerRuleIsNotSettledByAWeakerOne() throws {
        let plan = try Self.plan([F.person("E3", email: "cy@example.test")],
                                 [Self.account("a1", number: "E3", mail: nil), Self.account("a2", number: "E3", mail: nil),
                                  Self.account("a3", number: nil, mail: "cy@example.test")])
        #expect(plan.linkUpserts.isEmpty)
        #expect(plan.ambiguities == [AmbiguousMatch(employeeID: "E3", directory: "ldap", anchors: ["a1", "a2"])])
        #expect(F.kinds(plan) == ["correlation.disputed E3", "account.orphaned a3"])
    }

    @Test func aDisputeIsAnnouncedOnceForgottenWhenSettledAndAnnouncedAgainWhenBack() throws {
        let person = [F.person("E1")]
        let two = [Self.account("a1", number: "E1", mail: nil), Self.account("a2", number: "E1", mail: nil)]
        var state = StoredState()
        var plan = try Self.plan(person, two, state)
        #expect(F.kinds(plan) == ["correlation.disputed E1"])
        #expect(plan.events.first?.data["anchors"] == .array(["a1", "a2"]))
        state = state.applying(plan)
        #expect(state.disputes == ["E1": ["ldap": ["a1", "a2"]]])

        plan = try Self.plan(person, two, state)
        #expect(plan.isEmpty)

        // A third candidate changes the dispute: announced again with the new set.
        plan = try Self.plan(person, two + [Self.account("a3", number: "E1", mail: nil)], state)
        #expect(F.kinds(plan) == ["correlation.disputed E1"])
        state = state.applying(plan)

        // Settled: the extra accounts are gone; the person is linked and the dispute forgotten.
        plan = try Self.plan(person, [two[0]], state)
        #expect(F.kinds(plan).contains("account.linked E1"))
        state = state.applying(plan)
        #expect(state.disputes.isEmpty)
    }

    @Test func aRecreatedAccountIsRelinkedNotRemovedAndLinked() throws {
        var state = StoredState()
        let first = try Self.plan([F.person("E1")], [Self.account("old", number: "E1", mail: nil)], state)
        state = state.applying(first)
        let plan = try Self.plan([F.person("E1")], [Self.account("new", number: "E1", mail: nil)], state)
        #expect(F.kinds(plan) == ["account.relinked E1"])
        let data = try #require(plan.events.first?.data)
        #expect(data["previous_anchor"] == .string("old"))
        #expect(data["account"]?["anchor"] == .string("new"))
        #expect(plan.summary.relinked == 1 && plan.summary.linked == 0)
        state = state.applying(plan)
        #expect(state.links == [Link(employeeID: "E1", directory: "ldap", anchor: "new")])
        #expect(state.accounts["ldap"]?.keys.sorted() == ["new"])
        #expect(try Self.plan([F.person("E1")], [Self.account("new", number: "E1", mail: nil)], state).isEmpty)
    }
}
