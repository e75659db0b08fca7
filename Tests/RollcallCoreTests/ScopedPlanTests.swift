import RollcallCore
import Testing

/// The daemon's live path: a change to a few accounts is planned for the persons it touches only,
/// and that scoped plan makes the same events and the same state as planning everyone.
@Suite struct ScopedPlanTests {
    static func mutate(_ accounts: [DirectoryAccount], seed: UInt64) -> (after: [DirectoryAccount], changed: [DirectoryAccount], deleted: Set<String>) {
        var g = ReconcilerPropertyTests.Generator(state: seed)
        var after: [DirectoryAccount] = []
        var changed: [DirectoryAccount] = []
        var deleted = Set<String>()
        for account in accounts {
            switch g.next(40) {
            case 0:
                deleted.insert(account.anchor)  // deleted
            case 1:
                var moved = account  // its employeeNumber now names someone else (or nobody)
                moved.correlationValue = g.next(2) == 0 ? nil : "E\(g.next(220))"
                after.append(moved)
                changed.append(moved)
            case 2:
                var renamed = account  // an attribute change
                renamed.dn = "uid=\(account.anchor)-renamed,ou=people,dc=example,dc=test"
                after.append(renamed)
                changed.append(renamed)
            default:
                after.append(account)
            }
        }
        for i in 0..<3 {  // new accounts: for persons without one, or for nobody
            let account = F.account("new\(seed)-\(i)", key: g.next(3) == 0 ? nil : "E\(g.next(220))")
            after.append(account)
            changed.append(account)
        }
        return (after, changed, deleted)
    }

    @Test(arguments: [UInt64(1), 2, 3, 5, 8, 13, 21, 34])
    func aScopedPlanMakesWhatTheWholePlanMakes(seed: UInt64) throws {
        let (records, accounts) = ReconcilerPropertyTests.inputs(seed: seed)
        let state = try F.settled(records, accounts)
        // Settled: the same inputs plan nothing.
        #expect(try Reconciler().plan(records: records, accounts: accounts, state: state, today: F.today).isEmpty)
        let (after, changed, deleted) = Self.mutate(accounts, seed: seed)
        let directory = DirectoryInput(name: F.directory, key: .employeeID, accounts: after)
        let whole = try Reconciler().plan(records: records, directories: [directory], state: state, today: F.today)
        let scope = PlanScope.of(changed: changed, deleted: deleted, directory: directory, records: records, state: state)
        let scoped = try Reconciler().plan(records: records, directories: [directory], state: state, today: F.today, scope: scope)
        #expect(scope.persons.count < records.count / 2, "a few accounts touch a few persons")
        #expect(F.kinds(scoped) == F.kinds(whole), "seed \(seed)")
        #expect(scoped.events == whole.events)
        let a = state.applying(scoped), b = state.applying(whole)
        #expect(a.persons == b.persons)
        #expect(Set(a.links) == Set(b.links))
        #expect(a.accounts == b.accounts, "seed \(seed)")
        #expect(a.disputes == b.disputes)
        // And what the scoped plan leaves is settled: the whole plan after it is empty.
        #expect(try Reconciler().plan(records: records, directories: [directory], state: a, today: F.today).isEmpty, "seed \(seed)")
    }

    /// Outside the scope nothing is decided: a person absent from the cached read but not touched
    /// is not "missing", an unclaimed account not touched is not re-judged.
    @Test func nothingOutsideTheScopeIsDecided() throws {
        let records = [F.person("E1"), F.person("E2")]
        let accounts = [F.account("a1", key: "E1"), F.account("a2", key: "E2")]
        let state = try F.settled(records, accounts)
        var changed = F.account("a1", key: "E1")
        changed.dn = "uid=a1-new,ou=people,dc=example,dc=test"
        let directory = DirectoryInput(name: F.directory, key: .employeeID, accounts: [changed, accounts[1]])
        let scope = PlanScope.of(changed: [changed], deleted: [], directory: directory, records: records, state: state)
        #expect(scope.persons == ["E1"])
        // E2's record is not even given: still nothing about E2.
        let plan = try Reconciler().plan(records: [records[0]], directories: [directory], state: state, today: F.today, scope: scope)
        #expect(plan.events.isEmpty)
        #expect(plan.accountUpserts.map(\.anchor) == ["a1"])
        #expect(plan.personUpserts.isEmpty && plan.accountRemovals.isEmpty)
    }
}
