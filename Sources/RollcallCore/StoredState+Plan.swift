extension StoredState {
    /// The state after `plan` is applied: what the store holds once the run's transaction commits.
    /// Core uses it to reason about plans (a plan applied and planned again is empty); the store
    /// does the same thing in SQL.
    public func applying(_ plan: Plan) -> StoredState {
        var next = renaming(plan.personRenames)
        for person in plan.personUpserts { next.persons[person.employeeID] = person }
        for account in plan.accountUpserts { next.accounts[account.directory, default: [:]][account.anchor] = account }
        for key in plan.accountRemovals { next.accounts[key.directory]?[key.anchor] = nil }
        let removed = Set(plan.linkRemovals.map { LinkSlot(employeeID: $0.employeeID, directory: $0.directory) })
        next.links.removeAll { removed.contains(LinkSlot(employeeID: $0.employeeID, directory: $0.directory)) }
        next.links.append(contentsOf: plan.linkUpserts)
        for gone in plan.disputeRemovals {
            next.disputes[gone.employeeID]?[gone.directory] = nil
            if next.disputes[gone.employeeID]?.isEmpty == true { next.disputes[gone.employeeID] = nil }
        }
        for gone in plan.proposalRemovals {
            next.proposals[gone.employeeID]?[gone.directory] = nil
            if next.proposals[gone.employeeID]?.isEmpty == true { next.proposals[gone.employeeID] = nil }
        }
        for proposal in plan.proposalUpserts { next.proposals[proposal.employeeID, default: [:]][proposal.directory] = proposal.anchor }
        for id in plan.holdRemovals { next.holds[id] = nil }
        for hold in plan.holdUpserts { next.holds[hold.employeeID] = hold }
        for gone in plan.entitlementRemovals { next.entitlementNotices[gone.employeeID]?[gone.group] = nil }
        for notice in plan.entitlementUpserts { next.entitlementNotices[notice.employeeID, default: [:]][notice.group] = notice.action }
        next.entitlementNotices = next.entitlementNotices.filter { !$0.value.isEmpty }
        for gone in plan.violationRemovals { next.violationNotices[gone.employeeID]?.remove(gone.rule) }
        for notice in plan.violationUpserts { next.violationNotices[notice.employeeID, default: []].insert(notice.rule) }
        next.violationNotices = next.violationNotices.filter { !$0.value.isEmpty }
        for gone in plan.driftRemovals { next.driftNotices[gone.employeeID]?[gone.key] = nil }
        for notice in plan.driftUpserts { next.driftNotices[notice.employeeID, default: [:]][notice.key] = notice.actual }
        next.driftNotices = next.driftNotices.filter { !$0.value.isEmpty }
        for gone in plan.privilegedRemovals { next.privileged[gone.directory]?[gone.group] = nil }
        for snapshot in plan.privilegedSnapshots {
            next.privileged[snapshot.directory, default: [:]][snapshot.state.dn.lowercased()] = snapshot.state
        }
        next.privilegedNotices.subtract(plan.unauthorisedRemovals)
        next.privilegedNotices.formUnion(plan.unauthorisedUpserts)
        for decision in plan.conversionDecisions { next.conversionDecisions[decision.employeeID] = decision }
        for dispute in plan.disputeUpserts { next.disputes[dispute.employeeID, default: [:]][dispute.directory] = dispute.anchors }
        if !plan.personPurges.isEmpty {
            let purged = Set(plan.personPurges.map(\.employeeID))
            next.tombstones.formUnion(plan.personPurges.map(\.pseudonym))
            for id in purged {
                next.persons[id] = nil
                next.disputes[id] = nil
                next.proposals[id] = nil
                next.holds[id] = nil
                next.entitlementNotices[id] = nil
                next.violationNotices[id] = nil
                next.driftNotices[id] = nil
            }
            next.links.removeAll { purged.contains($0.employeeID) }
            next.formerIDs = next.formerIDs.filter { !purged.contains($0.value) }
            next.conversionDecisions = next.conversionDecisions.filter { !purged.contains($0.key) && !purged.contains($0.value.formerID) }
        }
        return next
    }
}

extension StoredState {
    /// The stored person an operator names, by current or former HR id (a refusal names the id).
    public func person(named requested: String) throws(ReconcileRefusal) -> StoredPerson {
        guard let person = persons[formerIDs[requested] ?? requested] else {
            throw ReconcileRefusal("no person \(requested) is stored; a person is stored once a reconcile has read them from HR")
        }
        return person
    }

    /// `{directory, anchor, dn}` of each stored link of these persons, by directory (one scan of
    /// the links for all of them).
    func linkedAccountRefs(of employeeIDs: Set<String>) -> [String: [JSONValue]] {
        var links: [String: [Link]] = [:]
        for link in self.links where employeeIDs.contains(link.employeeID) { links[link.employeeID, default: []].append(link) }
        return links.mapValues { held in
            held.sorted { $0.directory < $1.directory }.map { link in
                EventPayload.accountRef(link.directory, link.anchor, accounts[link.directory]?[link.anchor]?.dn ?? "")
            }
        }
    }
}

/// A person's place for one link per directory.
struct LinkSlot: Hashable {
    var employeeID: String
    var directory: String
}
