import RollcallCore
import Testing

/// Generated inputs: the plan does not depend on input order, and a plan applied then planned again is empty.
@Suite struct ReconcilerPropertyTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static func inputs(seed: UInt64) -> ([HRRecord], [DirectoryAccount]) {
        var g = Generator(state: seed)
        let departments = ["Sales", "Legal", "Engineering"]
        var records: [HRRecord] = []
        var accounts: [DirectoryAccount] = []
        for i in 0..<200 {
            let id = "E\(i)"
            if g.next(10) < 9 {
                records.append(F.person(id, department: departments[g.next(3)],
                                        status: g.next(10) == 0 ? .terminated : .active,
                                        end: g.next(10) == 0 ? "2026-0\(1 + g.next(6))-10" : nil))
            }
            if g.next(10) < 8 { accounts.append(F.account("a\(i)", key: g.next(20) == 0 ? "E\(g.next(200))" : id)) }
        }
        return (records, accounts)
    }

    @Test(arguments: [UInt64(1), 2, 3, 42, 4711])
    func orderDoesNotMatterAndApplyingConverges(seed: UInt64) throws {
        let (records, accounts) = Self.inputs(seed: seed)
        let (earlierRecords, earlierAccounts) = Self.inputs(seed: seed &+ 1000)
        let state = try F.settled(earlierRecords, earlierAccounts)
        let plan = try Reconciler().plan(records: records, accounts: accounts, state: state, today: F.today)
        var g = Generator(state: seed)
        let shuffledRecords = records.shuffled(using: &g)
        let shuffledAccounts = accounts.shuffled(using: &g)
        let shuffled = try Reconciler().plan(records: shuffledRecords, accounts: shuffledAccounts, state: state, today: F.today)
        #expect(shuffled.events == plan.events)
        #expect(Set(shuffled.personUpserts) == Set(plan.personUpserts))
        #expect(Set(shuffled.accountUpserts) == Set(plan.accountUpserts))
        #expect(Set(shuffled.linkUpserts) == Set(plan.linkUpserts))
        #expect(shuffled.accountRemovals == plan.accountRemovals)
        let again = try Reconciler().plan(records: records, accounts: accounts, state: state.applying(plan), today: F.today)
        #expect(again.isEmpty)
    }
}

extension ReconcilerPropertyTests.Generator: RandomNumberGenerator {
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}

/// The same property with two directories whose anchors overlap (anchors are unique per directory
/// only): the order of directories and of their entries does not change the plan.
@Suite struct MultiDirectoryPropertyTests {
    static func directories(seed: UInt64) -> [DirectoryInput] {
        let (_, first) = ReconcilerPropertyTests.inputs(seed: seed)
        let (_, second) = ReconcilerPropertyTests.inputs(seed: seed &+ 7)
        return [DirectoryInput(name: "ad", key: .employeeID, accounts: first),
                DirectoryInput(name: "ldap", key: .employeeID, accounts: second)]
    }

    @Test(arguments: [UInt64(5), 6, 99])
    func orderOfDirectoriesDoesNotMatter(seed: UInt64) throws {
        let (records, _) = ReconcilerPropertyTests.inputs(seed: seed)
        let (earlierRecords, _) = ReconcilerPropertyTests.inputs(seed: seed &+ 1000)
        let earlier = try Reconciler().plan(records: earlierRecords, directories: Self.directories(seed: seed &+ 1000),
                                            state: StoredState(), today: F.today)
        let state = StoredState().applying(earlier)
        let directories = Self.directories(seed: seed)
        let plan = try Reconciler().plan(records: records, directories: directories, state: state, today: F.today)
        var g = ReconcilerPropertyTests.Generator(state: seed)
        let shuffled = directories.reversed().map { DirectoryInput(name: $0.name, rules: $0.rules, accounts: $0.accounts.shuffled(using: &g)) }
        let other = try Reconciler().plan(records: records.shuffled(using: &g), directories: shuffled, state: state, today: F.today)
        #expect(other.events == plan.events)
        #expect(Set(other.accountUpserts) == Set(plan.accountUpserts))
        #expect(Set(other.linkUpserts) == Set(plan.linkUpserts))
        #expect(other.accountRemovals == plan.accountRemovals)
        #expect(plan.linkUpserts.contains { $0.directory == "ad" } && plan.linkUpserts.contains { $0.directory == "ldap" })
        let again = try Reconciler().plan(records: records, directories: directories, state: state.applying(plan), today: F.today)
        #expect(again.isEmpty)
    }
}
