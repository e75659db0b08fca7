/// An operator's emergency stop on one person: their accounts are to be disabled now, and no
/// reconcile restores their access (no joiner, start, resume, rehire or grant; their managed groups
/// are revoked) until the hold is lifted.
public struct Hold: Sendable, Hashable, Codable {
    public var employeeID: String
    public var reason: String
    public var by: String
    /// RFC 3339 time the hold was set.
    public var since: String

    public init(employeeID: String, reason: String, by: String, since: String) {
        self.employeeID = employeeID
        self.reason = reason
        self.by = by
        self.since = since
    }
}

/// Plans for an operator's `rollcall disable` and `rollcall enable`: applied like a run, at once,
/// past the mass-change guard (it is one person, decided by a human).
public enum HoldPlans {
    /// Events that would give access back: withheld while a person is held.
    static let restoring: Set<EventKind> = [.joiner, .started, .resumed, .rehire]

    public static func disable(employeeID requested: String, reason: String, by actor: String, at time: String,
                               state: StoredState) throws(ReconcileRefusal) -> Plan {
        let person = try state.person(named: requested)
        let employeeID = person.employeeID
        guard !reason.trimmingASCIIWhitespace().isEmpty else { throw ReconcileRefusal("a reason is required") }
        if let hold = state.holds[employeeID] {
            throw ReconcileRefusal("\(employeeID) is already disabled (by \(hold.by) since \(hold.since): \(hold.reason))")
        }
        var plan = Plan()
        plan.holdUpserts = [Hold(employeeID: employeeID, reason: reason, by: actor, since: time)]
        var data = payload(person, state: state)
        data["reason"] = .string(reason)
        data["by"] = .string(actor)
        plan.events = [EventDraft(kind: .disabled, subject: employeeID, data: .object(data))]
        plan.summary.events = 1
        return plan
    }

    public static func enable(employeeID requested: String, by actor: String, state: StoredState) throws(ReconcileRefusal) -> Plan {
        let person = try state.person(named: requested)
        let employeeID = person.employeeID
        guard let hold = state.holds[employeeID] else { throw ReconcileRefusal("\(employeeID) is not disabled") }
        var plan = Plan()
        plan.holdRemovals = [employeeID]
        var data = payload(person, state: state)
        data["by"] = .string(actor)
        data["disabled_since"] = .string(hold.since)
        data["restore"] = .bool(person.lifecycle == .prehire || person.lifecycle == .active)
        plan.events = [EventDraft(kind: .enabled, subject: employeeID, data: .object(data))]
        plan.summary.events = 1
        return plan
    }

    private static func payload(_ person: StoredPerson, state: StoredState) -> [String: JSONValue] {
        let accounts = state.linkedAccountRefs(of: [person.employeeID])[person.employeeID] ?? []
        return ["hr_id": .string(person.employeeID), "lifecycle": .string(person.lifecycle.rawValue), "accounts": .array(accounts)]
    }
}
