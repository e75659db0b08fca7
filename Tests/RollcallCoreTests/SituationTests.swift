import RollcallCore
import Testing

/// Per-directory reactions to correlation situations, and the operator's manual link.
@Suite struct SituationTests {
    static func directory(_ name: String, _ accounts: [DirectoryAccount], unlinked: UnlinkedAction = .link,
                          unmatched: UnmatchedAction = .joiner) -> DirectoryInput {
        DirectoryInput(name: name, rules: [CorrelationRule(hrField: .employeeID, attribute: "employeeNumber")], accounts: accounts,
                       unlinkedAction: unlinked, unmatchedAction: unmatched)
    }

    static func plan(_ records: [HRRecord], _ directories: [DirectoryInput], _ state: StoredState) throws -> Plan {
        try Reconciler().plan(records: records, directories: directories, state: state, today: F.today)
    }

    @Test func unlinkedReportProposesOnceAndWaitsForTheOperator() throws {
        let people = [F.person("E1"), F.person("E2")]
        let ldap = Self.directory("ldap", [F.account("a1", key: "E1"), F.account("a2", key: "E2")], unlinked: .report)
        var state = StoredState()
        var plan = try Self.plan(people, [ldap], state)
        // Found, not linked; no joiner (they have an account, just unconfirmed); the accounts are no orphans.
        #expect(F.kinds(plan) == ["correlation.proposed E1", "correlation.proposed E2"])
        let proposal = try #require(plan.events.first)
        #expect(proposal.data["account"]?["anchor"] == .string("a1"))
        #expect(proposal.data["matched_by"] == .string("employee_id = employeeNumber"))
        #expect(proposal.data["confirm"] == .string("rollcall link E1 --directory ldap --anchor a1"))
        #expect(plan.linkUpserts.isEmpty && plan.summary.proposed == 2 && plan.summary.orphans == 0)
        state = state.applying(plan)
        #expect(try Self.plan(people, [ldap], state).isEmpty)

        // The operator confirms E1: linked by hand, the proposal forgotten; the next run says nothing.
        let manual = try ManualLink.plan(employeeID: "E1", directory: "ldap", anchor: "a1", state: state)
        #expect(F.kinds(manual) == ["account.linked E1"])
        #expect(manual.events.first?.data["matched_by"] == .string("manual"))
        #expect(manual.events.first?.data["accounts"] == .array([.object(["directory": "ldap", "anchor": "a1", "dn": "uid=a1,ou=people,dc=example,dc=test"])]))
        state = state.applying(manual)
        #expect(state.proposals["E1"] == nil && state.proposals["E2"] == ["ldap": "a2"])
        plan = try Self.plan(people, [ldap], state)
        #expect(plan.isEmpty)

        // E2's account is replaced by another one: a new proposal; the old one is forgotten.
        let replaced = Self.directory("ldap", [F.account("a1", key: "E1"), F.account("b2", key: "E2")], unlinked: .report)
        plan = try Self.plan(people, [replaced], state)
        #expect(F.kinds(plan) == ["correlation.proposed E2", "account.removed a2"])
        #expect(plan.proposalRemovals == [LinkProposal(employeeID: "E2", directory: "ldap", anchor: "a2")])
    }

    @Test func unmatchedIgnoreDoesNotAskForAJoiner() throws {
        // corp provisions (default), lab does not: E1 has only a lab account and still needs a corp
        // one; E2 has a corp account; E3 has nothing.
        let corp = Self.directory("corp", [F.account("c2", key: "E2")])
        let lab = Self.directory("lab", [F.account("l1", key: "E1")], unmatched: .ignore)
        let people = [F.person("E1"), F.person("E2"), F.person("E3")]
        let plan = try Self.plan(people, [corp, lab], StoredState())
        #expect(F.kinds(plan) == ["account.linked E1", "identity.joiner E1", "account.linked E2", "identity.joiner E3"])

        // No directory provisions: nobody is a joiner, links still happen.
        let readOnly = try Self.plan(people, [Self.directory("corp", [F.account("c2", key: "E2")], unmatched: .ignore)], StoredState())
        #expect(F.kinds(readOnly) == ["account.linked E2"])

        // The defaults everywhere are the old rule: a joiner has no account in any directory.
        let defaults = try Self.plan(people, [corp, Self.directory("lab", [F.account("l1", key: "E1")])], StoredState())
        #expect(F.kinds(defaults) == ["account.linked E1", "account.linked E2", "identity.joiner E3"])
    }

    @Test func aManualLinkSettlesADispute() throws {
        let people = [F.person("E1")]
        let accounts = [F.account("x1", key: "E1"), F.account("x2", key: "E1")]
        var state = StoredState()
        var plan = try Self.plan(people, [Self.directory("ldap", accounts)], state)
        #expect(F.kinds(plan) == ["correlation.disputed E1"])
        state = state.applying(plan)
        let manual = try ManualLink.plan(employeeID: "E1", directory: "ldap", anchor: "x2", state: state)
        #expect(manual.disputeRemovals.map(\.anchors) == [["x1", "x2"]])
        state = state.applying(manual)
        // The stored link decides now; the other candidate is an orphan.
        plan = try Self.plan(people, [Self.directory("ldap", accounts)], state)
        #expect(F.kinds(plan) == ["account.orphaned x1"])
        #expect(state.disputes.isEmpty)
    }

    @Test(arguments: [
        ("E9", "ldap", "a2", "no person E9 is stored"),
        ("E1", "lab", "a2", "no accounts of a directory named lab"),
        ("E1", "ldap", "zz", "no stored account with anchor zz"),
        ("E2", "ldap", "a1", "is already linked to E1"),
        ("E1", "ldap", "a2", "E1 is already linked to uid=a1"),
    ])
    func manualLinkRefusals(id: String, directory: String, anchor: String, reason: String) throws {
        let state = try F.settled([F.person("E1"), F.person("E2")], [F.account("a1", key: "E1"), F.account("a2", key: nil)])
        do {
            _ = try ManualLink.plan(employeeID: id, directory: directory, anchor: anchor, state: state)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }
}
