/// Retention: purged persons left out of planning, persons past retention erased.
extension Reconciler {
    /// Records of purged persons still in HR (terminated, not stored, their pseudonym in a
    /// tombstone) are left out: a purge is not undone by the next read. A purged person who is
    /// employed again is a new person.
    func withoutPurged(_ records: [HRRecord], state: StoredState, today: Day) -> ([HRRecord], Int) {
        guard !state.tombstones.isEmpty, let pseudonym else { return (records, 0) }
        let kept = records.filter { record in
            state.persons[record.employeeID] != nil || !lifecycle.policy.isTerminated(record.attributes, on: today)
                || !state.tombstones.contains(pseudonym(record.employeeID))
        }
        return (kept, records.count - kept.count)
    }

    /// Stored persons whose retention has passed on `today` (deprovisioned, in HR or gone from it),
    /// and the records left to plan. Only a person whose deprovision was announced on an earlier
    /// day is purged: someone seen for the first time far past retention is announced first (a
    /// leaver and a deprovision for their accounts) and purged by the next day's run.
    func retention(_ records: [HRRecord], state: StoredState, today: Day, scope: Set<String>? = nil) -> ([HRRecord], [StoredPerson]) {
        guard lifecycle.policy.purgeAfterDays != nil else { return (records, []) }
        func due(_ stored: StoredPerson) -> Bool {
            stored.lifecycle == .deprovisioned && (stored.lifecycleSince ?? today) < today && lifecycle.policy.isPurgeDue(stored, on: today)
        }
        var purging: [StoredPerson] = []
        var read = Set<String>()
        let kept = records.filter { record in
            read.insert(record.employeeID)
            guard let stored = state.persons[record.employeeID], due(stored) else { return true }
            // Still ended today (a rehire is planned, not purged), with today's HR dates.
            let (next, since) = lifecycle.state(of: record.attributes, on: today, stored: stored)
            let person = StoredPerson(employeeID: record.employeeID, attributes: record.attributes, lifecycle: next, lifecycleSince: since)
            guard next == .deprovisioned, lifecycle.policy.isPurgeDue(person, on: today) else { return true }
            purging.append(stored)
            return false
        }
        for (id, stored) in state.persons where !read.contains(id) && due(stored) && scope?.contains(id) != false {
            purging.append(stored)
        }
        purging.sort { $0.employeeID < $1.employeeID }
        return (kept, purging)
    }

    /// One `identity.purged` per person past retention (naming the links dropped with them; their
    /// accounts, not claimed by anyone in this plan, are orphans of this run), then the store
    /// erases them and rewrites every earlier event about them to the tombstone.
    func planPurges(_ purging: [StoredPerson], state: StoredState, plan: inout Plan) {
        let accounts = state.linkedAccountRefs(of: Set(purging.map(\.employeeID)))
        var drafts: [EventDraft] = []
        for person in purging {
            let tombstone = pseudonym?(person.employeeID) ?? ""
            plan.personPurges.append(Tombstone(employeeID: person.employeeID, pseudonym: tombstone,
                                               terminationDate: person.attributes.terminationDate))
            // Only the tombstone: the store keeps nothing that names the person (issue 12).
            // Consumers learned the tombstone from the person's identity.deprovision.
            drafts.append(EventDraft(kind: .purged, subject: "tombstone:" + tombstone, data: .object([
                "tombstone": .string(tombstone),
                "lifecycle": .string("purged"),
                "termination_date": JSONValue(person.attributes.terminationDate?.description),
                "purge_after_days": lifecycle.policy.purgeAfterDays.map(JSONValue.int) ?? .null,
                "accounts": .array(accounts[person.employeeID] ?? []),
            ])))
            plan.summary.purged += 1
        }
        plan.events.append(contentsOf: drafts)
    }
}
