extension StoredState {
    /// The state after `plan` is applied: what the store holds once the run's transaction commits.
    /// Core uses it to reason about plans (a plan applied and planned again is empty); the store
    /// does the same thing in SQL.
    public func applying(_ plan: Plan) -> StoredState {
        var next = self
        next.apply(plan)
        return next
    }

    /// `applying` in place: no copy of the state when this value holds it alone (the daemon's
    /// state kept between live changes).
    public mutating func apply(_ plan: Plan) {
        if !plan.personRenames.isEmpty { self = renaming(plan.personRenames) }
        for person in plan.personUpserts { self.persons[person.employeeID] = person }
        for account in plan.accountUpserts { self.accounts[account.directory, default: [:]][account.anchor] = account }
        for key in plan.accountRemovals { self.accounts[key.directory]?[key.anchor] = nil }
        if !plan.linkRemovals.isEmpty {
            let removed = Set(plan.linkRemovals.map { LinkSlot(employeeID: $0.employeeID, directory: $0.directory) })
            self.links.removeAll { removed.contains(LinkSlot(employeeID: $0.employeeID, directory: $0.directory)) }
        }
        self.links.append(contentsOf: plan.linkUpserts)
        for gone in plan.disputeRemovals {
            self.disputes[gone.employeeID]?[gone.directory] = nil
            if self.disputes[gone.employeeID]?.isEmpty == true { self.disputes[gone.employeeID] = nil }
        }
        for gone in plan.proposalRemovals {
            self.proposals[gone.employeeID]?[gone.directory] = nil
            if self.proposals[gone.employeeID]?.isEmpty == true { self.proposals[gone.employeeID] = nil }
        }
        for proposal in plan.proposalUpserts { self.proposals[proposal.employeeID, default: [:]][proposal.directory] = proposal.anchor }
        for id in plan.holdRemovals { self.holds[id] = nil }
        for hold in plan.holdUpserts { self.holds[hold.employeeID] = hold }
        for gone in plan.entitlementRemovals { self.entitlementNotices[gone.employeeID]?[gone.group] = nil }
        for notice in plan.entitlementUpserts { self.entitlementNotices[notice.employeeID, default: [:]][notice.group] = notice.action }
        if !plan.entitlementRemovals.isEmpty { self.entitlementNotices = self.entitlementNotices.filter { !$0.value.isEmpty } }
        for gone in plan.violationRemovals { self.violationNotices[gone.employeeID]?.remove(gone.rule) }
        for notice in plan.violationUpserts { self.violationNotices[notice.employeeID, default: []].insert(notice.rule) }
        if !plan.violationRemovals.isEmpty { self.violationNotices = self.violationNotices.filter { !$0.value.isEmpty } }
        for gone in plan.driftRemovals { self.driftNotices[gone.employeeID]?[gone.key] = nil }
        for notice in plan.driftUpserts { self.driftNotices[notice.employeeID, default: [:]][notice.key] = notice.actual }
        if !plan.driftRemovals.isEmpty { self.driftNotices = self.driftNotices.filter { !$0.value.isEmpty } }
        for gone in plan.privilegedRemovals { self.privileged[gone.directory]?[gone.group] = nil }
        for snapshot in plan.privilegedSnapshots {
            self.privileged[snapshot.directory, default: [:]][snapshot.state.dn.lowercased()] = snapshot.state
        }
        self.privilegedNotices.subtract(plan.unauthorisedRemovals)
        self.privilegedNotices.formUnion(plan.unauthorisedUpserts)
        for decision in plan.conversionDecisions { self.conversionDecisions[decision.employeeID] = decision }
        if let changes = plan.memberships {
            for key in changes.ended { self.memberships[key] = nil }
            for membership in changes.started { self.memberships[membership.key] = membership }
        }
        for dispute in plan.disputeUpserts { self.disputes[dispute.employeeID, default: [:]][dispute.directory] = dispute.anchors }
        if !plan.personPurges.isEmpty {
            let purged = Set(plan.personPurges.map(\.employeeID))
            self.tombstones.formUnion(plan.personPurges.map(\.pseudonym))
            for id in purged {
                self.persons[id] = nil
                self.disputes[id] = nil
                self.proposals[id] = nil
                self.holds[id] = nil
                self.entitlementNotices[id] = nil
                self.violationNotices[id] = nil
                self.driftNotices[id] = nil
            }
            self.links.removeAll { purged.contains($0.employeeID) }
            // A purged person's memberships still open (an account left in a group) stay, no longer theirs.
            for (key, membership) in self.memberships where membership.employeeID.map(purged.contains) == true {
                self.memberships[key]?.employeeID = nil
            }
            self.formerIDs = self.formerIDs.filter { !purged.contains($0.value) }
            self.conversionDecisions = self.conversionDecisions.filter { !purged.contains($0.key) && !purged.contains($0.value.formerID) }
        }
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
