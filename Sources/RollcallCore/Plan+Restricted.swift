extension Plan {
    /// Only one person's part of this plan (`reconcile --identity`): their person row, rename,
    /// purge, links, the accounts they hold, their notices, proposals, disputes and hold, and the
    /// events about them. Group baselines and other persons' changes are left for the next full
    /// run (privileged-group events, being about groups, too).
    public func restricted(to employeeID: String, state: StoredState) -> Plan {
        var anchors = Set<AccountKey>()
        for link in state.links where link.employeeID == employeeID { anchors.insert(AccountKey(directory: link.directory, anchor: link.anchor)) }
        for link in linkUpserts where link.employeeID == employeeID { anchors.insert(AccountKey(directory: link.directory, anchor: link.anchor)) }
        var plan = Plan()
        plan.personRenames = personRenames.filter { $0.to == employeeID }
        plan.personUpserts = personUpserts.filter { $0.employeeID == employeeID }
        plan.personPurges = personPurges.filter { $0.employeeID == employeeID }
        plan.accountUpserts = accountUpserts.filter { anchors.contains($0.key) }
        plan.accountRemovals = accountRemovals.filter { anchors.contains($0) }
        plan.linkUpserts = linkUpserts.filter { $0.employeeID == employeeID }
        plan.linkRemovals = linkRemovals.filter { $0.employeeID == employeeID }
        plan.ambiguities = ambiguities.filter { $0.employeeID == employeeID }
        plan.disputeUpserts = disputeUpserts.filter { $0.employeeID == employeeID }
        plan.disputeRemovals = disputeRemovals.filter { $0.employeeID == employeeID }
        plan.proposalUpserts = proposalUpserts.filter { $0.employeeID == employeeID }
        plan.proposalRemovals = proposalRemovals.filter { $0.employeeID == employeeID }
        plan.holdUpserts = holdUpserts.filter { $0.employeeID == employeeID }
        plan.holdRemovals = holdRemovals.filter { $0 == employeeID }
        plan.entitlementUpserts = entitlementUpserts.filter { $0.employeeID == employeeID }
        plan.entitlementRemovals = entitlementRemovals.filter { $0.employeeID == employeeID }
        plan.violationUpserts = violationUpserts.filter { $0.employeeID == employeeID }
        plan.violationRemovals = violationRemovals.filter { $0.employeeID == employeeID }
        plan.driftUpserts = driftUpserts.filter { $0.employeeID == employeeID }
        plan.driftRemovals = driftRemovals.filter { $0.employeeID == employeeID }
        plan.events = events.filter { event in
            guard event.kind != .privilegedChange, event.kind != .privilegedUnauthorised else { return false }
            return event.subject == employeeID || event.data["hr_id"] == .string(employeeID)
                || anchors.contains { $0.anchor == event.subject && event.data["directory"] == .string($0.directory) }
        }
        var summary = RunSummary()
        summary.entriesRead = self.summary.entriesRead
        summary.personsRead = self.summary.personsRead
        summary.rejectedRows = self.summary.rejectedRows
        summary.matched = state.links.contains { $0.employeeID == employeeID } || !plan.linkUpserts.isEmpty ? 1 : 0
        for event in plan.events {
            summary.count(event.kind)
            switch event.kind {
            case .grant: summary.grants += 1
            case .revoke: summary.revokes += 1
            case .violation: summary.violations += 1
            case .orphaned: summary.orphans += 1
            case .removed: summary.removedAccounts += 1
            default: break
            }
        }
        summary.ambiguous = plan.ambiguities.count
        summary.events = plan.events.count
        plan.summary = summary
        return plan
    }
}
