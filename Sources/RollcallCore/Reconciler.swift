/// The pure heart of a run: correlate HR persons with the accounts of every configured directory,
/// decide each person's situation as of `today`, and diff the result against the stored state
/// into a `Plan`.
///
/// Identity events (joiner, mover, leaver, rehire, updated) are about the person, once, whatever
/// the number of directories; account events (linked, orphaned, removed) are about one account in
/// one directory. A person has at most one account per directory.
///
/// Deterministic: the same inputs in any order give the same events in the same order (person
/// events by employee id, then orphans and removals by directory name and anchor). Inputs are
/// visited as they come and only the events are sorted, so a quiet run sorts nothing. No I/O, no
/// clock.
public struct Reconciler: Sendable {
    public var lifecycle: Lifecycle
    /// How a new HR id may continue a stored person (conversions); nil: never.
    public var conversion: ConversionPolicy?
    /// What happens to a stored person no HR source lists any more, by the source that last
    /// listed them (`hr.sources[].on_missing`); a source not named here reports.
    public var missing: [String: MissingPolicy] = [:]
    /// Hours after a leaver, deprovisioning or hold decision by which the person's accounts should
    /// be disabled; still enabled after that is `account.still_enabled`.
    public var disableWithinHours = 24

    /// The pseudonym of an HR id kept in a purged person's tombstone (a keyed hash, given by the
    /// caller so Core stays free of keys). Needed when the policy purges.
    public var pseudonym: (@Sendable (String) -> String)?

    public init(policy: LifecyclePolicy = LifecyclePolicy(), conversionKey: CorrelationKey? = nil,
                conversion: ConversionPolicy? = nil, missing: [String: MissingPolicy] = [:],
                pseudonym: (@Sendable (String) -> String)? = nil) {
        self.lifecycle = Lifecycle(policy: policy)
        self.conversion = conversion ?? conversionKey.map { ConversionPolicy(key: $0) }
        self.missing = missing
        self.pseudonym = pseudonym
    }

    /// - Parameters:
    ///   - entitlements: birthright and separation-of-duties rules with the groups read in this
    ///     run; nil when none are configured.
    ///   - unusable: HR ids that a source listed on records it could not use (rejected with
    ///     `on_bad_rows: skip`, disputed): their persons are not missing.
    ///   - clock: the run's instant and the organisation's UTC offset (deadlines in hours); by
    ///     default noon UTC of `today`.
    ///   - scope: plan only these persons and accounts (the daemon's live changes; see
    ///     `PlanScope`); nil: everyone and everything read.
    public func plan(records allRecords: [HRRecord], directories: [DirectoryInput], state stored: StoredState,
                     today: Day, entitlements: EntitlementInput? = nil, unusable: Set<String> = [],
                     clock: RunClock? = nil, scope: PlanScope? = nil) throws(ReconcileRefusal) -> Plan {
        let clock = clock ?? RunClock(today: today)
        if lifecycle.policy.purgeAfterDays != nil && pseudonym == nil {
            throw ReconcileRefusal("purging needs a pseudonym function for tombstones")
        }
        let hrIDs = try checkHR(records: allRecords, state: stored)
        let inScope = scope.map { scope in allRecords.filter { scope.persons.contains($0.employeeID) } } ?? allRecords
        let (current, purgedInHR) = withoutPurged(inScope, state: stored, today: today)
        // Conversions first: the rest of the plan sees each converted person under the new id
        // (whole plans only: a conversion is decided against everyone).
        let found = scope != nil ? nil
            : conversion.map { Conversion.find(records: current, state: stored, policy: $0, lifecycle: lifecycle.policy, today: today) }
        let renames = found?.renames ?? []
        let state = stored.renaming(renames)
        // Records under a former id of a converted person are that person's past: not read as
        // persons. A proposed conversion's new id waits for the operator (no joiner meanwhile).
        let proposedIDs = Set((found?.proposals ?? []).map(\.employeeID))
        let unconverted = state.formerIDs.isEmpty && proposedIDs.isEmpty ? current : current.filter { record in
            if proposedIDs.contains(record.employeeID) { return false }
            guard let current = state.formerIDs[record.employeeID] else { return true }
            return state.persons[current] == nil
        }
        // Retention: persons past it are not planned but erased, their links dropped first.
        let (records, purging) = retention(unconverted, state: state, today: today, scope: scope?.persons)
        var views = try makeViews(directories: directories, state: state, dropping: Set(purging.map(\.employeeID)))
        var plan = Plan()
        plan.personRenames = renames
        plan.summary.purgedInHR = purgedInHR
        plan.summary.personsRead = records.count + renames.filter { hrIDs.contains($0.from) }.count
        plan.summary.entriesRead = directories.reduce(0) { $0 + $1.accounts.count }

        let matches = correlate(records: records, views: &views, plan: &plan)
        let disputed = Set(plan.ambiguities.map(\.employeeID))
        announceDisputes(records: records, views: views, state: state, plan: &plan)
        var entitled: [EntitlementPlanner.Person] = []
        let hrOwned = Dictionary(directories.map { ($0.name, $0.hrOwned) }, uniquingKeysWith: { first, _ in first })
        let checksDrift = hrOwned.values.contains { !$0.isEmpty }
        var drifting: [DriftPlanner.Person] = []
        let provisioning = Set(views.filter { $0.unmatchedAction == .joiner }.map(\.name))
        let situational = provisioning.count != views.count || views.contains { $0.unlinkedAction == .report }
        var proposals: [ProposedLink] = []
        let tracksState = views.contains { $0.tracksState }
        let viewIndex = Dictionary(views.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, record) in records.enumerated() {
            var owned: [(directory: String, account: DirectoryAccount)] = []
            var newlyLinked: [NewLink] = []
            var proposed = false
            for (v, match) in matches[index].enumerated() {
                guard let match, let account = views[v].accountByAnchor[match.anchor] else { continue }
                views[v].claimed.insert(match.anchor)
                if match.isNew && views[v].unlinkedAction == .report {
                    // Found, not linked: an operator confirms it with `rollcall link`.
                    proposals.append(ProposedLink(record: record, directory: views[v].name, account: account,
                                                  rule: match.rule.map { views[v].rules[$0].description }))
                    proposed = true
                    continue
                }
                owned.append((views[v].name, account))
                if match.isNew {
                    newlyLinked.append(NewLink(directory: views[v].name, account: account, match: match,
                                               rule: match.rule.map { views[v].rules[$0].description }))
                    plan.linkUpserts.append(Link(employeeID: record.employeeID, directory: views[v].name, anchor: match.anchor))
                    if let previous = match.previous { views[v].relinked.insert(previous) }
                }
            }
            if !owned.isEmpty { plan.summary.matched += 1 }
            if let rename = renames.first(where: { $0.to == record.employeeID }) {
                let payload = EventPayload(record: record, accounts: owned,
                                           lifecycle: state.persons[record.employeeID]?.lifecycle ?? .active)
                plan.events.append(EventDraft(kind: .converted, subject: record.employeeID,
                                              data: payload.json(previousID: rename.from)))
                plan.summary.converted += 1
            }
            // Default situations: a joiner has no account anywhere. With per-directory reactions,
            // only provisioning directories count, and a proposed match holds the joiner back.
            let isDisputed = disputed.contains(record.employeeID)
            let needsAccount: Bool? = situational
                ? !provisioning.isEmpty && !isDisputed && !proposed && !owned.contains { provisioning.contains($0.directory) }
                : nil
            let person = decide(record: record, stored: state.persons[record.employeeID], accounts: owned, newlyLinked: newlyLinked,
                                disputed: isDisputed, needsAccount: needsAccount, held: state.holds[record.employeeID] != nil,
                                today: today, plan: &plan)
            let lifecycle = person.lifecycle
            if tracksState { checkAccountStates(person: person, accounts: owned, state: state, views: &views, index: viewIndex, clock: clock, plan: &plan) }
            // Drift is looked at only where something changed (or a drift is remembered).
            if checksDrift && !owned.isEmpty
                && (plan.personUpserts.last?.employeeID == record.employeeID || state.driftNotices[record.employeeID] != nil
                    || owned.contains { state.accounts[$0.directory]?[$0.account.anchor]?.attributesJSON != $0.account.attributesJSON }) {
                drifting.append(.init(record: record, lifecycle: lifecycle, accounts: owned))
            }
            if let policy = entitlements?.policy {
                entitled.append(.init(record: record, lifecycle: lifecycle, account: owned.first { $0.directory == policy.directory }?.account,
                                      held: state.holds[record.employeeID] != nil))
            }
        }
        announceProposals(proposals, records: records, views: views, state: state, plan: &plan)
        if scope == nil, found != nil || !state.proposals.isEmpty { Conversion.announce(found?.proposals ?? [], state: state, plan: &plan) }
        // Persons no source listed: a known end keeps its calendar; others are missing.
        var present = Set<String>(minimumCapacity: records.count)
        for record in records { present.insert(record.employeeID) }
        for id in hrIDs.union(unusable) where !present.contains(id) { present.insert(state.formerIDs[id] ?? id) }
        planAbsent(present: present, purging: Set(purging.map(\.employeeID)), views: &views, index: viewIndex, state: state,
                   clock: clock, only: scope?.persons, plan: &plan)
        plan.events = Reconciler.sortedBySubject(plan.events)
        if let entitlements { try EntitlementPlanner.plan(entitlements, persons: entitled, state: state, plan: &plan) }
        if !purging.isEmpty { planPurges(purging, state: state, plan: &plan) }
        for view in views {
            // A scoped plan looks only at the accounts the change touched and those of its persons.
            let only = scope.map { scope -> Set<String> in
                var touched = scope.accounts[view.name] ?? []
                touched.formUnion(view.claimed)
                for person in scope.persons { if let anchor = view.anchorByPerson[person] { touched.insert(anchor) } }
                return touched
            }
            diffAccounts(view: view, stored: state.accounts[view.name] ?? [:], today: today, only: only, plan: &plan)
        }
        DriftPlanner.plan(drifting, directories: hrOwned, state: state, plan: &plan)
        plan.summary.events = plan.events.count
        return plan
    }

    /// One directory during planning: its accounts by anchor, its stored links both ways, and the
    /// unlinked accounts by correlation value.
    struct DirectoryView {
        let name: String
        let rules: [CorrelationRule]
        let accounts: [DirectoryAccount]
        let orphanAction: OrphanAction
        var unlinkedAction: UnlinkedAction = .link
        var unmatchedAction: UnmatchedAction = .joiner
        var accountByAnchor: [String: DirectoryAccount] = [:]
        var anchorByPerson: [String: String] = [:]
        var personByAnchor: [String: String] = [:]
        /// Per rule: unlinked accounts by normalised value, candidates for persons without a link.
        var candidates: [[String: [String]]] = []
        /// Anchors that belong to a person of this read (linked, newly linked or disputed).
        var claimed = Set<String>()
        /// Stored anchors whose person moved to a new account of this directory in this run.
        var relinked = Set<String>()
        /// The directory says whether accounts are enabled.
        var tracksState = false
        /// Account state notices to store, by anchor (nil: forget the stored one).
        var stateNotices: [String: AccountStateNotice?] = [:]
    }

    /// Where one person's account in one directory comes from.
    private struct Match {
        var anchor: String
        /// Found by correlation in this run (not a stored link).
        var isNew: Bool
        /// The rule that found it (nil: the stored link).
        var rule: Int? = nil
        /// The stored link's anchor when that account is gone and this one replaces it.
        var previous: String? = nil
    }

    private struct NewLink {
        var directory: String
        var account: DirectoryAccount
        var match: Match
        var rule: String?
    }

    /// An HR read that returned nothing while the store knows persons is never acted on.
    /// Returns the set of HR ids, built while checking they are unique.
    private func checkHR(records: [HRRecord], state: StoredState) throws(ReconcileRefusal) -> Set<String> {
        // (A scoped plan is given the whole cached read too: the same checks hold.)
        if records.isEmpty && !state.persons.isEmpty {
            throw ReconcileRefusal("the HR read returned no persons but \(state.persons.count) persons are stored; refusing to act on an empty feed")
        }
        var ids = Set<String>(minimumCapacity: records.count)
        for record in records where !ids.insert(record.employeeID).inserted {
            throw ReconcileRefusal("the HR read holds employee id \(record.employeeID) twice (\(record.origin))")
        }
        return ids
    }

    /// Checks every directory's read (a read that returned nothing while the store holds accounts of
    /// that directory is never taken as "everything was deleted"; anchors are unique) and indexes it.
    private func makeViews(directories: [DirectoryInput], state: StoredState,
                           dropping purged: Set<String> = []) throws(ReconcileRefusal) -> [DirectoryView] {
        var linksByDirectory: [String: [Link]] = [:]
        for link in state.links where purged.isEmpty || !purged.contains(link.employeeID) {
            linksByDirectory[link.directory, default: []].append(link)
        }
        var views: [DirectoryView] = []
        for input in directories.sorted(by: { $0.name < $1.name }) {
            if views.last?.name == input.name {
                throw ReconcileRefusal("the directory name \(input.name) is given twice")
            }
            let stored = state.accounts[input.name]?.count ?? 0
            if input.accounts.isEmpty && stored > 0 {
                throw ReconcileRefusal("the read of directory \(input.name) returned no entries but \(stored) of its accounts are stored; refusing to treat that as deletions")
            }
            if input.accounts.isEmpty && !input.allowEmpty {
                throw ReconcileRefusal("the read of directory \(input.name) returned no entries and none of its accounts are stored: a wrong base_dn, filter or bind would make every person a joiner; check them, or set allow_empty: true for a directory that is really empty")
            }
            var view = DirectoryView(name: input.name, rules: input.rules, accounts: input.accounts, orphanAction: input.orphanAction)
            view.unlinkedAction = input.unlinkedAction
            view.unmatchedAction = input.unmatchedAction
            view.tracksState = input.accounts.contains { $0.enabled != nil }
            view.accountByAnchor.reserveCapacity(input.accounts.count)
            for account in input.accounts where view.accountByAnchor.updateValue(account, forKey: account.anchor) != nil {
                throw ReconcileRefusal("directory \(input.name) returned the anchor \(account.anchor) twice (\(account.dn)); the anchor attribute is not unique")
            }
            let links = linksByDirectory[input.name] ?? []
            view.anchorByPerson.reserveCapacity(links.count)
            view.personByAnchor.reserveCapacity(links.count)
            for link in links {
                view.anchorByPerson[link.employeeID] = link.anchor
                view.personByAnchor[link.anchor] = link.employeeID
            }
            view.candidates = Array(repeating: [:], count: input.rules.count)
            for account in input.accounts where view.personByAnchor[account.anchor] == nil {
                for (index, rule) in input.rules.enumerated() {
                    if let value = account.correlationValue(rule: index).flatMap(rule.hrField.normalize) {
                        view.candidates[index][value, default: []].append(account.anchor)
                    }
                }
            }
            views.append(view)
        }
        return views
    }

    /// Each person's account per directory: the stored link while its account is still there,
    /// else the one unlinked account whose correlation value matches. Several candidates, or one
    /// account matched by several persons, link nothing and are reported.
    private func correlate(records: [HRRecord], views: inout [DirectoryView], plan: inout Plan) -> [[Match?]] {
        var matches = [[Match?]](repeating: [], count: records.count)
        var claimants: [[String: Int]] = Array(repeating: [:], count: views.count)
        // Accounts disputed between candidates belong to a person, just not decidably: not orphans.
        var disputed: [[String]] = Array(repeating: [], count: views.count)
        for (index, record) in records.enumerated() {
            var row: [Match?] = []
            row.reserveCapacity(views.count)
            for (v, view) in views.enumerated() {
                let stored = view.anchorByPerson[record.employeeID]
                if let anchor = stored, view.accountByAnchor[anchor] != nil {
                    row.append(Match(anchor: anchor, isNew: false))
                    continue
                }
                // The rules in order: the first that finds one account links it; one that finds
                // several is a dispute, and later (weaker) rules are not asked.
                var match: Match?
                for (index, rule) in view.rules.enumerated() {
                    guard let value = rule.hrField.value(of: record), let found = view.candidates[index][value] else { continue }
                    let unique = Array(Set(found)).sorted()
                    if unique.count == 1 {
                        match = Match(anchor: unique[0], isNew: true, rule: index, previous: stored)
                        claimants[v][unique[0], default: 0] += 1
                    } else {
                        plan.ambiguities.append(AmbiguousMatch(employeeID: record.employeeID, directory: view.name, anchors: unique))
                        disputed[v].append(contentsOf: unique)
                    }
                    break
                }
                row.append(match)
            }
            matches[index] = row
        }
        // One account found by several persons (e.g. a shared e-mail address) belongs to none of them.
        for v in views.indices where claimants[v].values.contains(where: { $0 > 1 }) {
            for index in records.indices {
                guard let match = matches[index][v], match.isNew, let count = claimants[v][match.anchor], count > 1 else { continue }
                plan.ambiguities.append(AmbiguousMatch(employeeID: records[index].employeeID, directory: views[v].name, anchors: [match.anchor]))
                disputed[v].append(match.anchor)
                matches[index][v] = nil
            }
        }
        for v in views.indices { views[v].claimed.formUnion(disputed[v]) }
        plan.ambiguities.sort { ($0.employeeID, $0.directory) < ($1.employeeID, $1.directory) }
        plan.summary.ambiguous = plan.ambiguities.count
        return matches
    }

    /// `correlation.disputed` once per distinct dispute (person, directory, anchors); a dispute
    /// that is gone for a person read in this run is forgotten.
    private func announceDisputes(records: [HRRecord], views: [DirectoryView], state: StoredState, plan: inout Plan) {
        var current: [String: [String: [String]]] = [:]
        for dispute in plan.ambiguities {
            current[dispute.employeeID, default: [:]][dispute.directory] = dispute.anchors
        }
        var drafts: [EventDraft] = []
        for dispute in plan.ambiguities where state.disputes[dispute.employeeID]?[dispute.directory] != dispute.anchors {
            plan.disputeUpserts.append(dispute)
            drafts.append(EventDraft(kind: .disputed, subject: dispute.employeeID, data: .object([
                "hr_id": .string(dispute.employeeID), "directory": .string(dispute.directory),
                "anchors": .array(dispute.anchors.map(JSONValue.string)),
            ])))
        }
        plan.events.append(contentsOf: drafts)
        guard !state.disputes.isEmpty else { return }
        let configured = Set(views.map(\.name))
        for record in records {
            guard let stored = state.disputes[record.employeeID] else { continue }
            for (directory, anchors) in stored where configured.contains(directory) && current[record.employeeID]?[directory] == nil {
                plan.disputeRemovals.append(AmbiguousMatch(employeeID: record.employeeID, directory: directory, anchors: anchors))
            }
        }
    }

    private struct ProposedLink {
        var record: HRRecord
        var directory: String
        var account: DirectoryAccount
        var rule: String?
    }

    /// `correlation.proposed` once per distinct match (person, directory, anchor) in directories
    /// with `on_unlinked: report`; a proposal no longer made for a person read in this run
    /// (confirmed, or the match went away) is forgotten.
    private func announceProposals(_ proposals: [ProposedLink], records: [HRRecord], views: [DirectoryView],
                                   state: StoredState, plan: inout Plan) {
        var current: [String: [String: String]] = [:]
        for proposal in proposals {
            current[proposal.record.employeeID, default: [:]][proposal.directory] = proposal.account.anchor
            guard state.proposals[proposal.record.employeeID]?[proposal.directory] != proposal.account.anchor else { continue }
            plan.proposalUpserts.append(LinkProposal(employeeID: proposal.record.employeeID, directory: proposal.directory,
                                                     anchor: proposal.account.anchor))
            var data: [String: JSONValue] = [
                "hr_id": .string(proposal.record.employeeID),
                "account": EventPayload.accountRef(proposal.directory, proposal.account.anchor, proposal.account.dn),
                "matched_by": JSONValue(proposal.rule),
            ]
            data["confirm"] = .string("rollcall link \(proposal.record.employeeID) --directory \(proposal.directory) --anchor \(proposal.account.anchor)")
            plan.events.append(EventDraft(kind: .proposed, subject: proposal.record.employeeID, data: .object(data)))
            plan.summary.proposed += 1
        }
        guard !state.proposals.isEmpty else { return }
        let configured = Set(views.map(\.name))
        for record in records {
            guard let stored = state.proposals[record.employeeID] else { continue }
            for (directory, anchor) in stored where configured.contains(directory) && current[record.employeeID]?[directory] != anchor {
                plan.proposalRemovals.append(LinkProposal(employeeID: record.employeeID, directory: directory, anchor: anchor))
            }
        }
    }

    /// Decides one person's lifecycle events and attribute changes; returns the person as they
    /// will be stored.
    @discardableResult
    private func decide(record: HRRecord, stored: StoredPerson?, accounts: [(directory: String, account: DirectoryAccount)],
                        newlyLinked: [NewLink], disputed: Bool, needsAccount: Bool?, held: Bool, today: Day, plan: inout Plan) -> StoredPerson {
        let id = record.employeeID
        let (state, since) = lifecycle.state(of: record.attributes, on: today, stored: stored)
        let updated = StoredPerson(employeeID: id, attributes: record.attributes, lifecycle: state, lifecycleSince: since,
                                   source: record.source)
        if stored != updated { plan.personUpserts.append(updated) }
        let payload = EventPayload(record: record, accounts: accounts, lifecycle: state)

        for link in newlyLinked {
            let kind: EventKind = link.match.previous == nil ? .linked : .relinked
            plan.events.append(payload.draft(kind, linked: (link.directory, link.account), rule: link.rule, previousAnchor: link.match.previous))
            plan.summary.count(kind)
        }
        for kind in lifecycle.events(from: stored?.lifecycle, to: state, hasAccount: !accounts.isEmpty, disputed: disputed,
                                     needsAccount: needsAccount) where !(held && HoldPlans.restoring.contains(kind)) {
            // With purges configured, the deprovision names the tombstone the person will have:
            // the purged event later names nothing else, and consumers match it by this.
            let tombstone = kind == .deprovision && lifecycle.policy.purgeAfterDays != nil ? pseudonym.map { $0(id) } : nil
            plan.events.append(payload.draft(kind, tombstone: tombstone))
            plan.summary.count(kind)
        }
        // Attribute changes matter while the person is announced and employed.
        guard let stored, stored.lifecycle.isEmployed, state.isEmployed, stored.attributes != record.attributes else { return updated }
        let (job, details) = AttributeDiff.changes(from: stored.attributes, to: record.attributes)
        if !job.isEmpty {
            plan.events.append(payload.draft(.mover, changes: job))
            plan.summary.movers += 1
        }
        if !details.isEmpty {
            plan.events.append(payload.draft(.updated, changes: details))
            plan.summary.updates += 1
        }
        return updated
    }

    /// One directory's accounts against what is stored for it: upserts, orphans (reported once)
    /// and accounts gone since the last run. Stored accounts of directories that are no longer
    /// configured are not looked at: removing a directory from the configuration deletes nothing.
    private func diffAccounts(view: DirectoryView, stored: [String: StoredAccount], today: Day, only: Set<String>?, plan: inout Plan) {
        var orphanEvents: [EventDraft] = []
        let accounts = only.map { only in only.compactMap { view.accountByAnchor[$0] } } ?? view.accounts
        for account in accounts {
            let isOrphan = !view.claimed.contains(account.anchor) && view.personByAnchor[account.anchor] == nil
            let previous = stored[account.anchor]
            var reported = previous?.orphanReported ?? false
            if isOrphan {
                plan.summary.orphans += 1
                if !reported {
                    orphanEvents.append(Self.orphanEvent(account, in: view))
                    reported = true
                }
            } else {
                reported = false
            }
            var notice = isOrphan ? nil : previous?.stateNotice
            if let update = view.stateNotices[account.anchor] { notice = update }
            let since = account.enabled == nil ? nil : previous?.enabled == account.enabled ? (previous?.enabledSince ?? today) : today
            let next = StoredAccount(directory: view.name, account: account, orphanReported: reported, enabledSince: since, stateNotice: notice)
            if previous != next { plan.accountUpserts.append(next) }
        }
        plan.events.append(contentsOf: Reconciler.sortedBySubject(orphanEvents))
        let gone = (only.map { Array($0.filter { stored[$0] != nil }) } ?? Array(stored.keys)).filter { view.accountByAnchor[$0] == nil }.sorted()
        for anchor in gone {
            guard let account = stored[anchor] else { continue }
            plan.accountRemovals.append(account.key)
            let owner = view.personByAnchor[anchor]
            if let owner { plan.linkRemovals.append(Link(employeeID: owner, directory: view.name, anchor: anchor)) }
            plan.summary.removedAccounts += 1
            // Replaced by a new account of the same person: `account.relinked` said it all.
            if view.relinked.contains(anchor) { continue }
            plan.events.append(EventDraft(kind: .removed, subject: anchor,
                                          data: EventPayload.account(directory: view.name, anchor: anchor, dn: account.dn,
                                                                     correlationValue: account.correlationValue, employeeID: owner)))
        }
    }

    /// `account.orphaned` for an account of `view` that no person claims, with the directory's `on_orphan` action.
    private static func orphanEvent(_ account: DirectoryAccount, in view: DirectoryView) -> EventDraft {
        var data = EventPayload.account(directory: view.name, anchor: account.anchor, dn: account.dn,
                                        correlationValue: account.correlationValue, employeeID: nil)
        if case .object(var fields) = data {
            fields["action"] = .string(view.orphanAction.rawValue)
            data = .object(fields)
        }
        return EventDraft(kind: .orphaned, subject: account.anchor, data: data)
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
