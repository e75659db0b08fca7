/// The pure heart of a run: correlate HR persons with directory accounts, decide each person's
/// situation as of `today`, and diff the result against the stored state into a `Plan`.
///
/// Deterministic: the same inputs in any order give the same events in the same order (person
/// events by employee id, then orphans and removals by anchor). Inputs are visited as they come and
/// only the events are sorted, so a quiet run sorts nothing. No I/O, no clock.
public struct Reconciler: Sendable {
    /// Which HR value is compared with the directory's correlation attribute.
    public var key: CorrelationKey

    public init(key: CorrelationKey = .employeeID) {
        self.key = key
    }

    public func plan(records: [HRRecord], accounts: [DirectoryAccount], state: StoredState,
                     today: Day) throws(ReconcileRefusal) -> Plan {
        let (accountByAnchor, hrIDs) = try checkInputs(records: records, accounts: accounts, state: state)
        var plan = Plan()
        plan.summary.personsRead = records.count
        plan.summary.entriesRead = accounts.count

        var anchorByPerson: [String: String] = [:]
        var personByAnchor: [String: String] = [:]
        anchorByPerson.reserveCapacity(state.links.count)
        personByAnchor.reserveCapacity(state.links.count)
        for link in state.links {
            anchorByPerson[link.employeeID] = link.anchor
            personByAnchor[link.anchor] = link.employeeID
        }
        // Unlinked accounts by correlation value: candidates for persons without a link.
        var candidates: [String: [String]] = [:]
        for account in accounts where personByAnchor[account.anchor] == nil {
            if let value = account.correlationValue.flatMap(key.normalize) { candidates[value, default: []].append(account.anchor) }
        }

        var linkedAnchors = Set<String>(minimumCapacity: accounts.count)
        for record in records {
            let id = record.employeeID
            var anchor = anchorByPerson[id].flatMap { accountByAnchor[$0] == nil ? nil : $0 }
            var newlyLinked = false
            if anchor == nil {
                let found = key.value(of: record).flatMap { candidates[$0] }?.sorted() ?? []
                if found.count == 1 {
                    anchor = found[0]
                    newlyLinked = true
                    plan.linkUpserts.append(Link(employeeID: id, anchor: found[0]))
                } else if found.count > 1 {
                    plan.ambiguities[id] = found
                    plan.summary.ambiguous += 1
                }
            }
            let account = anchor.flatMap { accountByAnchor[$0] }
            if let anchor {
                linkedAnchors.insert(anchor)
                plan.summary.matched += 1
            }
            decide(record: record, stored: state.persons[id], account: account, newlyLinked: newlyLinked,
                   today: today, plan: &plan)
        }
        plan.events = Reconciler.sortedBySubject(plan.events)
        plan.summary.missingFromHR = state.persons.keys.reduce(0) { $0 + (hrIDs.contains($1) ? 0 : 1) }

        // Accounts disputed between candidates belong to a person, just not decidably: not orphans.
        let disputed = Set(plan.ambiguities.values.joined())
        diffAccounts(accounts: accounts, accountByAnchor: accountByAnchor, state: state, personByAnchor: personByAnchor,
                     claimed: linkedAnchors.union(disputed), plan: &plan)
        plan.summary.events = plan.events.count
        return plan
    }

    /// A directory or HR read that returned nothing while the store knows about entries is never
    /// taken as "everything was deleted".
    /// Returns the accounts by anchor and the set of HR ids, built while checking both are unique.
    private func checkInputs(records: [HRRecord], accounts: [DirectoryAccount],
                             state: StoredState) throws(ReconcileRefusal) -> ([String: DirectoryAccount], Set<String>) {
        if accounts.isEmpty && !state.accounts.isEmpty {
            throw ReconcileRefusal("the directory read returned no entries but \(state.accounts.count) accounts are stored; refusing to treat that as deletions")
        }
        if records.isEmpty && !state.persons.isEmpty {
            throw ReconcileRefusal("the HR read returned no persons but \(state.persons.count) persons are stored; refusing to act on an empty feed")
        }
        var byAnchor: [String: DirectoryAccount] = [:]
        byAnchor.reserveCapacity(accounts.count)
        for account in accounts where byAnchor.updateValue(account, forKey: account.anchor) != nil {
            throw ReconcileRefusal("the directory returned the anchor \(account.anchor) twice (\(account.dn)); the anchor attribute is not unique")
        }
        var ids = Set<String>(minimumCapacity: records.count)
        for record in records where !ids.insert(record.employeeID).inserted {
            throw ReconcileRefusal("the HR read holds employee id \(record.employeeID) twice (\(record.origin))")
        }
        return (byAnchor, ids)
    }

    private func decide(record: HRRecord, stored: StoredPerson?, account: DirectoryAccount?, newlyLinked: Bool,
                        today: Day, plan: inout Plan) {
        let id = record.employeeID
        let lifecycle = record.attributes.lifecycle(on: today)
        let updated = StoredPerson(employeeID: id, attributes: record.attributes, lifecycle: lifecycle)
        if stored != updated { plan.personUpserts.append(updated) }
        let payload = EventPayload(record: record, account: account)

        if newlyLinked {
            plan.events.append(EventDraft(kind: .linked, subject: id, data: payload.json()))
            plan.summary.linked += 1
        }
        guard let stored else {
            switch (lifecycle, account) {
            case (.active, nil):
                plan.events.append(EventDraft(kind: .joiner, subject: id, data: payload.json()))
                plan.summary.joiners += 1
            case (.terminated, .some):
                plan.events.append(EventDraft(kind: .leaver, subject: id, data: payload.json()))
                plan.summary.leavers += 1
            case (.active, .some), (.terminated, nil):
                break
            }
            return
        }
        switch (stored.lifecycle, lifecycle) {
        case (.active, .terminated):
            plan.events.append(EventDraft(kind: .leaver, subject: id, data: payload.json()))
            plan.summary.leavers += 1
        case (.terminated, .active):
            plan.events.append(EventDraft(kind: .rehire, subject: id, data: payload.json()))
            plan.summary.rehires += 1
        case (.active, .active) where stored.attributes != record.attributes:
            let (job, record) = AttributeDiff.changes(from: stored.attributes, to: record.attributes)
            if !job.isEmpty {
                plan.events.append(EventDraft(kind: .mover, subject: id, data: payload.json(changes: job)))
                plan.summary.movers += 1
            }
            if !record.isEmpty {
                plan.events.append(EventDraft(kind: .updated, subject: id, data: payload.json(changes: record)))
                plan.summary.updates += 1
            }
        case (.active, .active), (.terminated, .terminated):
            break
        }
    }

    private func diffAccounts(accounts: [DirectoryAccount], accountByAnchor: [String: DirectoryAccount], state: StoredState, personByAnchor: [String: String],
                              claimed: Set<String>, plan: inout Plan) {
        var orphanEvents: [EventDraft] = []
        for account in accounts {
            let isOrphan = !claimed.contains(account.anchor) && personByAnchor[account.anchor] == nil
            let previous = state.accounts[account.anchor]
            var reported = previous?.orphanReported ?? false
            if isOrphan {
                plan.summary.orphans += 1
                if !reported {
                    orphanEvents.append(EventDraft(kind: .orphaned, subject: account.anchor,
                                                  data: EventPayload.account(anchor: account.anchor, dn: account.dn,
                                                                             correlationValue: account.correlationValue, employeeID: nil)))
                    reported = true
                }
            } else {
                reported = false
            }
            let next = StoredAccount(account: account, orphanReported: reported)
            if previous != next { plan.accountUpserts.append(next) }
        }
        plan.events.append(contentsOf: Reconciler.sortedBySubject(orphanEvents))
        let gone = state.accounts.keys.filter { accountByAnchor[$0] == nil }.sorted()
        for anchor in gone {
            guard let stored = state.accounts[anchor] else { continue }
            plan.accountRemovals.append(anchor)
            let owner = personByAnchor[anchor]
            if let owner { plan.linkRemovals.append(owner) }
            plan.events.append(EventDraft(kind: .removed, subject: anchor,
                                          data: EventPayload.account(anchor: stored.anchor, dn: stored.dn,
                                                                     correlationValue: stored.correlationValue, employeeID: owner)))
            plan.summary.removedAccounts += 1
        }
    }

    /// Events ordered by subject; events of one subject keep the order they were planned in.
    static func sortedBySubject(_ events: [EventDraft]) -> [EventDraft] {
        guard events.count > 1 else { return events }
        let order = events.indices.sorted { a, b in
            events[a].subject != events[b].subject ? events[a].subject < events[b].subject : a < b
        }
        return order.map { events[$0] }
    }
}
