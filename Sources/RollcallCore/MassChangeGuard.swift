/// Thresholds that stop a run from applying mass deprovisioning on its own.
public struct GuardPolicy: Sendable, Hashable, Codable {
    /// Deprovisioning actions in one run (leavers, suspensions, deprovisions, purges, revokes,
    /// orphan disables) above this count trip the guard.
    public var maxDeprovisions: Int
    /// … or above this share of the linked identities (percent), once there are at least
    /// `minimumCount` of them (so one leaver among ten people is not "10 %").
    public var maxDeprovisionPercent: Double
    /// An HR source yielding this share fewer persons than at the last applied run (percent),
    /// or a directory read with this share fewer accounts, trips the guard (from `minimumCount`).
    public var maxShrinkPercent: Double
    public var minimumCount: Int

    public init(maxDeprovisions: Int = 50, maxDeprovisionPercent: Double = 5, maxShrinkPercent: Double = 10, minimumCount: Int = 10) {
        self.maxDeprovisions = maxDeprovisions
        self.maxDeprovisionPercent = maxDeprovisionPercent
        self.maxShrinkPercent = maxShrinkPercent
        self.minimumCount = minimumCount
    }
}

/// What the guard saw in a plan, and why it tripped (no reasons: it did not).
public struct GuardVerdict: Sendable, Hashable, Codable {
    /// Deprovisioning actions by event type.
    public var actions: [String: Int] = [:]
    public var deprovisions = 0
    /// Persons linked to at least one account before the run.
    public var linked = 0
    public var reasons: [String] = []

    public var tripped: Bool { !reasons.isEmpty }

    public init() {}
}

/// The mass-change guard: counts a plan's deprovisioning actions against the thresholds, and each
/// source's size against its size at the last applied run.
public enum MassChangeGuard {
    /// - Parameters:
    ///   - sources: per HR source, persons now and at the last applied run (nil: never seen).
    ///   - directories: per directory, accounts now and at the last applied run.
    public static func check(_ plan: Plan, state: StoredState, policy: GuardPolicy,
                             sources: [(name: String, now: Int, before: Int?)],
                             directories: [(name: String, now: Int, before: Int?)]) -> GuardVerdict {
        var verdict = GuardVerdict()
        for event in plan.events {
            let counted: Bool = switch event.kind {
            case .leaver, .suspended, .deprovision, .purged, .revoke: true
            case .orphaned: event.data["action"] == .string(OrphanAction.disable.rawValue)
            // A person dropped by HR whom a leaver will follow counts from the day they go missing.
            case .missing: event.data["action"] == .string(MissingPolicy.Action.leave.rawValue)
            default: false
            }
            if counted { verdict.actions[event.kind.cloudEventType, default: 0] += 1 }
        }
        verdict.deprovisions = verdict.actions.values.reduce(0, +)
        verdict.linked = Set(state.links.map(\.employeeID)).count
        if verdict.deprovisions > policy.maxDeprovisions {
            verdict.reasons.append("\(verdict.deprovisions) deprovisioning actions, more than max_deprovisions (\(policy.maxDeprovisions))")
        }
        if verdict.deprovisions >= policy.minimumCount, verdict.linked > 0 {
            let percent = Double(verdict.deprovisions) * 100 / Double(verdict.linked)
            if percent > policy.maxDeprovisionPercent {
                verdict.reasons.append("\(verdict.deprovisions) deprovisioning actions are \(format(percent)) % of \(verdict.linked) linked identities, more than max_deprovision_percent (\(format(policy.maxDeprovisionPercent)))")
            }
        }
        func shrink(_ what: String, _ name: String, now: Int, before: Int?) {
            guard let before, before > now, before - now >= policy.minimumCount else { return }
            let percent = Double(before - now) * 100 / Double(before)
            if percent > policy.maxShrinkPercent {
                verdict.reasons.append("\(what) \(name) has \(now), \(format(percent)) % fewer than the \(before) of the last applied run (max_shrink_percent \(format(policy.maxShrinkPercent)))")
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
