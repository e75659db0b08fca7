/// Thresholds that stop a run from applying mass changes on its own.
public struct GuardPolicy: Sendable, Hashable, Codable {
    /// What the very first run of a store does: waits for `rollcall approve` (default), so a
    /// wrong correlation or filter is seen before thousands of joiners are announced; or applies.
    public enum FirstRun: String, Sendable, Hashable, Codable, CaseIterable {
        case quarantine
        case apply
    }

    /// Deprovisioning actions in one run (leavers, suspensions, deprovisions, purges, revokes,
    /// orphan disables, persons going missing from a source that makes them leavers) above this
    /// count trip the guard.
    public var maxDeprovisions: Int
    /// … or above this share of the linked identities (percent), once there are at least
    /// `minimumCount` of them (so one leaver among ten people is not "10 %").
    public var maxDeprovisionPercent: Double
    /// An HR source yielding this share fewer persons than at the last applied run (percent),
    /// or a directory read with this share fewer accounts, trips the guard (from `minimumCount`).
    public var maxShrinkPercent: Double
    public var minimumCount: Int
    /// Joiners in one run above this count trip the guard (a correlation attribute or filter
    /// gone wrong makes everyone a joiner) …
    public var maxJoiners: Int
    /// … or above this share of the persons read from HR (percent), from `minimumCount` joiners.
    public var maxJoinerPercent: Double
    public var firstRun: FirstRun

    public init(maxDeprovisions: Int = 50, maxDeprovisionPercent: Double = 5, maxShrinkPercent: Double = 10, minimumCount: Int = 10,
                maxJoiners: Int = 200, maxJoinerPercent: Double = 10, firstRun: FirstRun = .quarantine) {
        self.maxDeprovisions = maxDeprovisions
        self.maxDeprovisionPercent = maxDeprovisionPercent
        self.maxShrinkPercent = maxShrinkPercent
        self.minimumCount = minimumCount
        self.maxJoiners = maxJoiners
        self.maxJoinerPercent = maxJoinerPercent
        self.firstRun = firstRun
    }
}

/// The kinds of decision the guard can hold back.
public enum GuardedClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// Taking access away: leavers, suspensions, deprovisions, purges, revokes, orphan disables,
    /// persons missing from a source that makes them leavers.
    case deprovisioning
    /// Giving new identities accounts.
    case joiners

    /// The class of a planned event, nil when the guard does not guard it.
    public static func of(_ event: EventDraft) -> GuardedClass? {
        switch event.kind {
        case .leaver, .suspended, .deprovision, .purged, .revoke: .deprovisioning
        case .orphaned: event.data["action"] == .string(OrphanAction.disable.rawValue) ? .deprovisioning : nil
        // A person dropped by HR whom a leaver will follow counts from the day they go missing.
        case .missing: event.data["action"] == .string(MissingPolicy.Action.leave.rawValue) ? .deprovisioning : nil
        case .joiner: .joiners
        default: nil
        }
    }

    /// The class a planned event is held with when its class trips: what the guard counts, and
    /// any `identity.missing` (a source that shrank holds its missing persons back, whatever
    /// their source's `on_missing`).
    public static func holding(_ event: EventDraft) -> GuardedClass? {
        of(event) ?? (event.kind == .missing ? .deprovisioning : nil)
    }
}

/// What the guard saw in a plan, and why it tripped (no reasons: it did not).
public struct GuardVerdict: Sendable, Hashable, Codable {
    /// Deprovisioning actions by event type.
    public var actions: [String: Int] = [:]
    public var deprovisions = 0
    public var joiners = 0
    /// Persons linked to at least one account before the run.
    public var linked = 0
    public var reasons: [String] = []
    /// The classes of decision whose thresholds tripped: those decisions are held back.
    public var held: Set<GuardedClass> = []
    /// The store has no applied run and the first run waits for approval as a whole.
    public var firstRun = false

    public var tripped: Bool { !reasons.isEmpty }

    public init() {}
}

/// The mass-change guard: counts a plan's deprovisioning actions and joiners against the
/// thresholds, and each source's size against its size at the last applied run.
public enum MassChangeGuard {
    /// - Parameters:
    ///   - sources: per HR source, persons now and at the last applied run (nil: never seen).
    ///   - directories: per directory, accounts now and at the last applied run.
    ///   - firstRun: the store has no applied run and its first run waits for approval.
    public static func check(_ plan: Plan, state: StoredState, policy: GuardPolicy,
                             sources: [(name: String, now: Int, before: Int?)],
                             directories: [(name: String, now: Int, before: Int?)], firstRun: Bool = false) -> GuardVerdict {
        var verdict = GuardVerdict()
        for event in plan.events {
            switch GuardedClass.of(event) {
            case .deprovisioning?: verdict.actions[event.kind.cloudEventType, default: 0] += 1
            case .joiners?: verdict.joiners += 1
            case nil: break
            }
        }
        verdict.deprovisions = verdict.actions.values.reduce(0, +)
        verdict.linked = Set(state.links.map(\.employeeID)).count
        if firstRun {
            verdict.firstRun = true
            verdict.reasons.append("the first run of this store waits for approval (guard.first_run): \(plan.summary.matched) persons matched an account, \(verdict.joiners) would be joiners, \(plan.summary.orphans) accounts would be orphans; check them, then approve, or run reconcile --initial")
        }
        if verdict.deprovisions > policy.maxDeprovisions {
            verdict.reasons.append("\(verdict.deprovisions) deprovisioning actions, more than max_deprovisions (\(policy.maxDeprovisions))")
            verdict.held.insert(.deprovisioning)
        }
        if verdict.deprovisions >= policy.minimumCount, verdict.linked > 0 {
            let percent = Double(verdict.deprovisions) * 100 / Double(verdict.linked)
            if percent > policy.maxDeprovisionPercent {
                verdict.reasons.append("\(verdict.deprovisions) deprovisioning actions are \(format(percent)) % of \(verdict.linked) linked identities, more than max_deprovision_percent (\(format(policy.maxDeprovisionPercent)))")
                verdict.held.insert(.deprovisioning)
            }
        }
        if verdict.joiners > policy.maxJoiners {
            verdict.reasons.append("\(verdict.joiners) joiners, more than max_joiners (\(policy.maxJoiners))")
            verdict.held.insert(.joiners)
        }
        let persons = plan.summary.personsRead
        if verdict.joiners >= policy.minimumCount, persons > 0 {
            let percent = Double(verdict.joiners) * 100 / Double(persons)
            if percent > policy.maxJoinerPercent {
                verdict.reasons.append("\(verdict.joiners) joiners are \(format(percent)) % of \(persons) persons read from HR, more than max_joiner_percent (\(format(policy.maxJoinerPercent)))")
                verdict.held.insert(.joiners)
            }
        }
        func shrink(_ what: String, _ name: String, now: Int, before: Int?) {
            guard let before, before > now, before - now >= policy.minimumCount else { return }
            let percent = Double(before - now) * 100 / Double(before)
            if percent > policy.maxShrinkPercent {
                verdict.reasons.append("\(what) \(name) has \(now), \(format(percent)) % fewer than the \(before) of the last applied run (max_shrink_percent \(format(policy.maxShrinkPercent)))")
                // A source or directory that lost people: whatever would take access away waits.
                verdict.held.insert(.deprovisioning)
            }
        }
        for source in sources { shrink("HR source", source.name, now: source.now, before: source.before) }
        for directory in directories { shrink("directory", directory.name, now: directory.now, before: directory.before) }
        return verdict
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String((value * 10).rounded() / 10)
    }
}
