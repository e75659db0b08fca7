import RollcallCore
import Testing

/// Several directories at once: one person, one account per directory; identity events once per
/// person; account events per directory.
@Suite struct MultiDirectoryTests {
    static func reads(ad: [DirectoryAccount], ldap: [DirectoryAccount]) -> [DirectoryInput] {
        [DirectoryInput(name: "corp-ad", key: .employeeID, accounts: ad),
         DirectoryInput(name: "lab-ldap", key: .email, accounts: ldap)]
    }

    static let ad = [F.account("g1", key: "E1", dn: "CN=Ada,OU=People,DC=corp")]
    static let ldap = [F.account("u1", key: "E1@example.test", dn: "uid=ada,ou=people,dc=lab")]

    @Test func aPersonIsLinkedInEachDirectoryByThatDirectorysRule() throws {
        let plan = try Reconciler().plan(records: [F.person("E1")], directories: Self.reads(ad: Self.ad, ldap: Self.ldap),
                                         state: StoredState(), today: F.today)
        #expect(F.kinds(plan) == ["account.linked E1", "account.linked E1"])
        #expect(Set(plan.linkUpserts) == [Link(employeeID: "E1", directory: "corp-ad", anchor: "g1"),
                                          Link(employeeID: "E1", directory: "lab-ldap", anchor: "u1")])
        let linked = plan.events.compactMap { $0.data["account"]?["directory"] }
        #expect(linked == [.string("corp-ad"), .string("lab-ldap")])
        #expect(plan.summary.matched == 1 && plan.summary.entriesRead == 2)
    }

    @Test func identityEventsComeOnceAndNameEveryAccount() throws {
        let state = try Self.settled()
        let plan = try Reconciler().plan(records: [F.person("E1", department: "Legal")],
                                         directories: Self.reads(ad: Self.ad, ldap: Self.ldap), state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.mover E1"])
        let accounts = plan.events.first?.data["accounts"]
        #expect(accounts == .array([
            .object(["directory": .string("corp-ad"), "anchor": .string("g1"), "dn": .string("CN=Ada,OU=People,DC=corp")]),
            .object(["directory": .string("lab-ldap"), "anchor": .string("u1"), "dn": .string("uid=ada,ou=people,dc=lab")]),
        ]))
    }

    @Test func aJoinerIsAPersonWithoutAnAccountInAnyDirectory() throws {
        let plan = try Reconciler().plan(records: [F.person("E1"), F.person("E2")],
                                         directories: Self.reads(ad: Self.ad, ldap: []), state: StoredState(), today: F.today)
        #expect(F.kinds(plan) == ["account.linked E1", "identity.joiner E2"])
    }

    @Test func theSameAnchorInTwoDirectoriesIsTwoAccounts() throws {
        let plan = try Reconciler().plan(records: [F.person("E1"), F.person("E2")],
                                         directories: Self.reads(ad: [F.account("x", key: "E1")], ldap: [F.account("x", key: "E2@example.test")]),
                                         state: StoredState(), today: F.today)
        #expect(Set(plan.accountUpserts.map(\.key)) == [AccountKey(directory: "corp-ad", anchor: "x"), AccountKey(directory: "lab-ldap", anchor: "x")])
        #expect(Set(plan.linkUpserts.map(\.employeeID)) == ["E1", "E2"])
    }

    @Test func anEmptyReadOfOneDirectoryIsRefusedAndNamed() throws {
        let state = try Self.settled()
        do {
            _ = try Reconciler().plan(records: [F.person("E1")], directories: Self.reads(ad: Self.ad, ldap: []), state: state, today: F.today)
            Issue.record("an empty read of lab-ldap was accepted")
        } catch {
            #expect(error.description.contains("lab-ldap"))
        }
    }

    @Test func anAccountGoneFromOneDirectoryUnlinksOnlyThere() throws {
        let state = try Self.settled()
        let plan = try Reconciler().plan(records: [F.person("E1")],
                                         directories: Self.reads(ad: [F.account("other", key: nil)], ldap: Self.ldap),
                                         state: state, today: F.today)
        #expect(F.kinds(plan) == ["account.orphaned other", "account.removed g1"])
        #expect(plan.linkRemovals == [Link(employeeID: "E1", directory: "corp-ad", anchor: "g1")])
        #expect(plan.events.last?.data["directory"] == .string("corp-ad"))
        let after = state.applying(plan)
        #expect(after.links == [Link(employeeID: "E1", directory: "lab-ldap", anchor: "u1")])
    }

    @Test func aDirectoryNoLongerConfiguredIsLeftAlone() throws {
        let state = try Self.settled()
        let plan = try Reconciler().plan(records: [F.person("E1")],
                                         directories: [DirectoryInput(name: "corp-ad", key: .employeeID, accounts: Self.ad)],
                                         state: state, today: F.today)
        #expect(plan.isEmpty)
        #expect(state.applying(plan).accounts["lab-ldap"]?.count == 1)
    }

    @Test func oneAccountFoundByTwoPersonsIsLinkedToNeither() throws {
        let shared = [F.account("u1", key: "team@example.test")]
        let plan = try Reconciler().plan(records: [F.person("E1", email: "team@example.test"), F.person("E2", email: "TEAM@example.test")],
                                         directories: Self.reads(ad: [], ldap: shared), state: StoredState(), today: F.today)
        #expect(plan.linkUpserts.isEmpty)
        #expect(plan.ambiguities == [AmbiguousMatch(employeeID: "E1", directory: "lab-ldap", anchors: ["u1"]),
                                     AmbiguousMatch(employeeID: "E2", directory: "lab-ldap", anchors: ["u1"])])
        // Disputed, not orphaned; and neither person is a joiner while the dispute stands.
        #expect(F.kinds(plan) == ["correlation.disputed E1", "correlation.disputed E2"])
        #expect(plan.summary.orphans == 0 && plan.summary.joiners == 0)
    }

    @Test func theOrphanPolicyIsPerDirectory() throws {
        let plan = try Reconciler().plan(records: [F.person("E1")], directories: [
            DirectoryInput(name: "ad", rules: [CorrelationRule(hrField: .employeeID, attribute: "employeeID")],
                           accounts: [F.account("svc", key: nil)], orphanAction: .disable),
            DirectoryInput(name: "ldap", key: .employeeID, accounts: [F.account("svc", key: nil)]),
        ], state: StoredState(), today: F.today)
        let actions = plan.events.filter { $0.kind == .orphaned }.map { "\($0.data["directory"]?.stringValue ?? "") \($0.data["action"]?.stringValue ?? "")" }
        #expect(actions == ["ad disable", "ldap report"])
    }

    @Test func aDirectoryNamedTwiceIsRefused() {
        #expect(throws: ReconcileRefusal.self) {
            try Reconciler().plan(records: [F.person("E1")],
                                  directories: [DirectoryInput(name: "a", key: .employeeID, accounts: []),
                                                DirectoryInput(name: "a", key: .email, accounts: [])],
                                  state: StoredState(), today: F.today)
        }
    }

    static func settled() throws -> StoredState {
        let plan = try Reconciler().plan(records: [F.person("E1")], directories: reads(ad: ad, ldap: ldap), state: StoredState(), today: F.today)
        return StoredState().applying(plan)
    }
}
