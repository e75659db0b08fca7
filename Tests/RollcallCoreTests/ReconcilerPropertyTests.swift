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

/// Every feature on at once (conversions, purges, birthright, separation of duties, privileged
/// groups, a proposing directory and a non-provisioning one), over generated days: the plan does
/// not depend on input order, and a plan applied then planned again is empty.
@Suite struct EverythingOnPropertyTests {
    /// Persons who drop out of the feed go missing and leave after ten days; accounts say whether
    /// they are enabled.
    static let reconciler = Reconciler(policy: LifecyclePolicy(prehireDays: 7, deprovisionAfterDays: 30, purgeAfterDays: 60),
                                       conversionKey: .email, missing: ["": MissingPolicy(action: .leave, graceDays: 10)],
                                       pseudonym: { "t:" + $0 })

    static func world(seed: UInt64) -> (records: [HRRecord], directories: [DirectoryInput], groups: [DirectoryGroup]) {
        var g = ReconcilerPropertyTests.Generator(state: seed)
        let (base, read) = ReconcilerPropertyTests.inputs(seed: seed)
        // Some e-mail addresses move to a new id (conversions), some persons leave long ago (purges).
        let records = base.map { record -> HRRecord in
            var record = record
            if g.next(20) == 0 { record.employeeID = "C" + record.employeeID }
            if g.next(15) == 0 { record.attributes.status = .terminated; record.attributes.terminationDate = Day(iso: "2025-06-01") }
            return record
        }
        let lab = read.filter { _ in g.next(3) == 0 }.map { F.account("l" + $0.anchor, key: $0.correlationValue) }
        let accounts = read.map { account -> DirectoryAccount in
            var account = account
            account.enabled = g.next(4) != 0
            return account
        }
        let dn = { (anchor: String) in "uid=\(anchor),ou=people,dc=example,dc=test" }
        let pick = { (g: inout ReconcilerPropertyTests.Generator) in accounts.filter { _ in g.next(8) == 0 }.map { dn($0.anchor) } }
        let groups = [DirectoryGroup(anchor: "g1", dn: EntitlementTests.eng, members: pick(&g)),
                      DirectoryGroup(anchor: "g2", dn: EntitlementTests.staff, members: pick(&g)),
                      DirectoryGroup(anchor: "g3", dn: EntitlementTests.apCreate, members: pick(&g)),
                      DirectoryGroup(anchor: "g4", dn: EntitlementTests.apApprove, members: pick(&g) + [EntitlementTests.apTeam]),
                      DirectoryGroup(anchor: "g5", dn: EntitlementTests.apTeam, members: pick(&g)),
                      DirectoryGroup(anchor: "g6", dn: PrivilegedTests.admins, members: pick(&g) + [EntitlementTests.eng])]
        return (records, [DirectoryInput(name: "ldap", key: .employeeID, accounts: accounts),
                          SituationTests.directory("lab", lab, unlinked: .report, unmatched: .ignore)], groups)
    }

    static let policy = EntitlementPolicy(directory: "ldap", birthright: EntitlementTests.policy.birthright,
                                          separation: EntitlementTests.policy.separation,
                                          privileged: PrivilegedPolicy(groups: [PrivilegedTests.admins]))

    @Test(arguments: [UInt64(8), 13, 21, 34])
    func orderDoesNotMatterAndApplyingConverges(seed: UInt64) throws {
        var state = StoredState()
        // A few days of history first, so the generated day meets stored persons, links and notices.
        for (offset, day) in ["2026-01-05", "2026-02-20", "2026-03-15"].enumerated() {
            let (records, directories, groups) = Self.world(seed: seed &+ UInt64(offset * 100))
            let today = try #require(Day(iso: day))
            let input = EntitlementInput(policy: Self.policy, groups: groups)
            let plan = try Self.reconciler.plan(records: records, directories: directories, state: state, today: today, entitlements: input)
            var g = ReconcilerPropertyTests.Generator(state: seed &+ UInt64(offset))
            let shuffledDirectories = directories.reversed().map {
                DirectoryInput(name: $0.name, rules: $0.rules, accounts: $0.accounts.shuffled(using: &g),
                               unlinkedAction: $0.unlinkedAction, unmatchedAction: $0.unmatchedAction, allowEmpty: $0.allowEmpty)
            }
            let shuffledGroups = groups.shuffled(using: &g).map { DirectoryGroup(anchor: $0.anchor, dn: $0.dn, members: $0.members.shuffled(using: &g)) }
            let shuffled = try Self.reconciler.plan(records: records.shuffled(using: &g), directories: shuffledDirectories, state: state,
                                                    today: today, entitlements: EntitlementInput(policy: Self.policy, groups: shuffledGroups))
            #expect(shuffled.events == plan.events, "day \(day)")
            #expect(Set(shuffled.personUpserts) == Set(plan.personUpserts))
            #expect(Set(shuffled.linkUpserts) == Set(plan.linkUpserts))
            #expect(shuffled.personPurges == plan.personPurges)
            #expect(Set(shuffled.proposalUpserts) == Set(plan.proposalUpserts))
            // The guard's split: holding every deprovisioning decision and applying the rest, then
            // the held part, is applying the plan.
            let held = plan.guardedDecisions(in: [.deprovisioning])
            let persons = Set(held.filter { $0.directory == nil }.map(\.subject))
            let accountKeys = Set(held.compactMap { d in d.directory.map { AccountKey(directory: $0, anchor: d.subject) } })
            let rest = plan.excluding(persons: persons, accounts: accountKeys, state: state)
            let part = plan.restricted(to: persons, accounts: accountKeys, state: state)
            #expect(rest.events.count + part.events.count == plan.events.count, "day \(day)")
            let split = state.applying(rest).applying(part)
            let whole = state.applying(plan)
            #expect(split.persons == whole.persons && Set(split.links) == Set(whole.links), "day \(day)")
            state = whole
            let again = try Self.reconciler.plan(records: records, directories: directories, state: state, today: today, entitlements: input)
            #expect(again.isEmpty, "day \(day): \(F.kinds(again).prefix(5))")
            if offset == 2 {
                // Over the days, every feature had something to do.
                #expect(!state.tombstones.isEmpty && !state.proposals.isEmpty && !state.privileged.isEmpty)
                #expect(state.persons.values.contains { $0.missingSince != nil })
                #expect(state.accounts["ldap"]?.values.contains { $0.stateNotice != nil } == true)
            }
        }
    }
}
