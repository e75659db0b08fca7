extension Plan {
    /// Only one person's part of this plan (`reconcile --identity`): their person row, rename,
    /// purge, links, the accounts they hold, their notices, proposals, disputes and hold, and the
    /// events about them. Group baselines and other persons' changes are left for the next full
    /// run (privileged-group events, being about groups, too).
    public func restricted(to employeeID: String, state: StoredState) -> Plan {
        restricted(to: [employeeID], accounts: [], state: state)
    }

    /// Only the parts of these persons (as in `restricted(to:)`) and these accounts.
    public func restricted(to persons: Set<String>, accounts: Set<AccountKey>, state: StoredState) -> Plan {
        var plan = partition(persons: persons, accounts: accounts, state: state, keeping: true)
        var summary = RunSummary()
        summary.entriesRead = self.summary.entriesRead
        summary.personsRead = self.summary.personsRead
        summary.rejectedRows = self.summary.rejectedRows
        var matched = Set(plan.linkUpserts.map(\.employeeID))
        for link in state.links where persons.contains(link.employeeID) { matched.insert(link.employeeID) }
        summary.matched = matched.count
        summary.ambiguous = plan.ambiguities.count
        summary.recount(plan.events)
        summary.removedAccounts = plan.accountRemovals.count
        plan.summary = summary
        return plan
    }

    /// This plan without the parts of these persons and accounts: their decisions wait (the
    /// guard holds them), everything else applies. Counts of what was read stay; counts of what
    /// happens are those of the remaining events.
    public func excluding(persons: Set<String>, accounts: Set<AccountKey>, state: StoredState) -> Plan {
        guard !persons.isEmpty || !accounts.isEmpty else { return self }
        var plan = partition(persons: persons, accounts: accounts, state: state, keeping: false)
        plan.summary = summary
        plan.summary.recount(plan.events)
        plan.summary.removedAccounts = plan.accountRemovals.count
        return plan
    }

    /// The parts that belong to these persons (and the accounts they hold, and these accounts),
    /// or everything else.
    private func partition(persons: Set<String>, accounts: Set<AccountKey>, state: StoredState, keeping: Bool) -> Plan {
        var anchors = accounts
        for link in state.links where persons.contains(link.employeeID) { anchors.insert(AccountKey(directory: link.directory, anchor: link.anchor)) }
        for link in linkUpserts where persons.contains(link.employeeID) { anchors.insert(AccountKey(directory: link.directory, anchor: link.anchor)) }
        func person(_ id: String) -> Bool { persons.contains(id) == keeping }
        func account(_ key: AccountKey) -> Bool { anchors.contains(key) == keeping }
        var plan = Plan()
        plan.personRenames = personRenames.filter { person($0.to) }
        plan.personUpserts = personUpserts.filter { person($0.employeeID) }
        plan.personPurges = personPurges.filter { person($0.employeeID) }
        plan.accountUpserts = accountUpserts.filter { account($0.key) }
        plan.accountRemovals = accountRemovals.filter { account($0) }
        plan.linkUpserts = linkUpserts.filter { person($0.employeeID) }
        plan.linkRemovals = linkRemovals.filter { person($0.employeeID) }
        plan.ambiguities = ambiguities.filter { person($0.employeeID) }
        plan.disputeUpserts = disputeUpserts.filter { person($0.employeeID) }
        plan.disputeRemovals = disputeRemovals.filter { person($0.employeeID) }
        plan.proposalUpserts = proposalUpserts.filter { person($0.employeeID) }
        plan.proposalRemovals = proposalRemovals.filter { person($0.employeeID) }
        plan.holdUpserts = holdUpserts.filter { person($0.employeeID) }
        plan.holdRemovals = holdRemovals.filter { person($0) }
        plan.entitlementUpserts = entitlementUpserts.filter { person($0.employeeID) }
        plan.entitlementRemovals = entitlementRemovals.filter { person($0.employeeID) }
        plan.violationUpserts = violationUpserts.filter { person($0.employeeID) }
        plan.violationRemovals = violationRemovals.filter { person($0.employeeID) }
        plan.driftUpserts = driftUpserts.filter { person($0.employeeID) }
        plan.driftRemovals = driftRemovals.filter { person($0.employeeID) }
        plan.conversionDecisions = conversionDecisions.filter { person($0.employeeID) }
        // About groups, not persons: with the rest of the plan, never in a person's part.
        plan.privilegedSnapshots = keeping ? [] : privilegedSnapshots
        plan.memberships = keeping ? nil : memberships
        plan.privilegedRemovals = keeping ? [] : privilegedRemovals
        plan.unauthorisedUpserts = keeping ? [] : unauthorisedUpserts
        plan.unauthorisedRemovals = keeping ? [] : unauthorisedRemovals
        plan.events = events.filter { event in
            if event.kind == .privilegedChange || event.kind == .privilegedUnauthorised { return !keeping }
            let belongs = persons.contains(event.subject) || event.hrID.map(persons.contains) == true
                || event.data["directory"]?.stringValue.map { anchors.contains(AccountKey(directory: $0, anchor: event.subject)) } == true
            return belongs == keeping
        }
        return plan
    }

    /// The decisions of this plan that the guard guards, in these classes: one per event, about a
    /// person (HR id) or an orphan account (anchor and directory).
    public func guardedDecisions(in classes: Set<GuardedClass>) -> [HeldDecision] {
        events.compactMap { event in
            guard let guarded = GuardedClass.holding(event), classes.contains(guarded) else { return nil }
            let directory = event.kind == .orphaned ? event.data["directory"]?.stringValue : nil
            return HeldDecision(subject: event.subject, directory: directory, kind: event.kind, data: event.data)
        }
    }
}

/// A decision the guard holds back until an operator approves it (`rollcall approve RUN`): about
/// one person (their whole part of the plan waits), or one orphan account to disable.
public struct HeldDecision: Sendable, Hashable, Codable {
    /// The event's subject: the HR id, or the anchor of an orphan account.
    public var subject: String
    /// For an account decision, its directory; nil for a person's.
    public var directory: String?
    /// The event the decision makes (`identity.leaver`, `entitlement.revoke` …).
    public var kind: EventKind
    /// The event's data as planned when it was held.
    public var data: JSONValue

    public init(subject: String, directory: String?, kind: EventKind, data: JSONValue) {
        self.subject = subject
        self.directory = directory
        self.kind = kind
        self.data = data
    }

    /// Whether `event` makes this decision (same kind, same person or account).
    public func matches(_ event: EventDraft) -> Bool {
        event.kind == kind && event.subject == subject
            && (directory == nil || event.data["directory"]?.stringValue == directory)
    }
}

extension RunSummary {
    /// The counts of what happens, from these events (the counts of what was read stay).
    mutating func recount(_ events: [EventDraft]) {
        joiners = 0; movers = 0; updates = 0; leavers = 0; rehires = 0; started = 0; suspended = 0; resumed = 0
        deprovisioned = 0; linked = 0; proposed = 0; relinked = 0; converted = 0; grants = 0; revokes = 0
        violations = 0; drifts = 0; purged = 0; privilegedChanges = 0; unauthorised = 0
        for event in events {
            count(event.kind)
            switch event.kind {
            case .grant: grants += 1
            case .revoke: revokes += 1
            case .violation: violations += 1
            case .privilegedChange: privilegedChanges += 1
            case .privilegedUnauthorised: unauthorised += 1
            default: break
            }
        }
        self.events = events.count
    }
}
