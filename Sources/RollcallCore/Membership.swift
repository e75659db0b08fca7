/// Group memberships for access history: every member of every group Rollcall reads in an
/// entitlement directory (birthright, separation-of-duties and privileged groups, and groups
/// nested in them), direct or through nesting. A membership starts in the run that first sees it
/// and ends in the run that no longer does; the store keeps each as an interval
/// (`rollcall access`). Groups Rollcall does not read have no history here.

/// One member account of one group, lower-cased DNs: what a membership is known by.
public struct MembershipKey: Sendable, Hashable, Codable {
    public var directory: String
    public var group: String
    public var member: String

    public init(directory: String, group: String, member: String) {
        self.directory = directory
        self.group = group
        self.member = member
    }
}

/// A membership as recorded: how it is held and by whom.
public struct Membership: Sendable, Hashable, Codable {
    public var key: MembershipKey
    /// The group's and the member's DNs as read.
    public var groupDN: String
    public var memberDN: String
    /// Directly a member (false: through a nested group).
    public var direct: Bool
    /// The person whose account the member is, when it is linked to one.
    public var employeeID: String?

    public init(key: MembershipKey, groupDN: String, memberDN: String, direct: Bool, employeeID: String?) {
        self.key = key
        self.groupDN = groupDN
        self.memberDN = memberDN
        self.direct = direct
        self.employeeID = employeeID
    }

    /// Whether `other` records the same holding (a change of how it is held, or of whose
    /// account it is, ends one interval and starts another).
    func sameHolding(as other: Membership) -> Bool {
        direct == other.direct && employeeID == other.employeeID
    }
}

/// Memberships a run starts and ends. Optional in `Plan` so plans quarantined before access
/// history existed still decode.
public struct MembershipChanges: Sendable, Hashable, Codable {
    public var started: [Membership] = []
    public var ended: [MembershipKey] = []

    public init(started: [Membership] = [], ended: [MembershipKey] = []) {
        self.started = started
        self.ended = ended
    }

    public var isEmpty: Bool { started.isEmpty && ended.isEmpty }
}

enum MembershipPlanner {
    /// Compares the memberships read in `input`'s directory with the stored ones.
    static func plan(_ input: EntitlementInput, persons: [EntitlementPlanner.Person], state: StoredState, plan: inout Plan) {
        let directory = input.policy.directory
        guard !input.groups.isEmpty || state.memberships.keys.contains(where: { $0.directory == directory }) else { return }
        var personByDN: [String: String] = [:]
        for person in persons { if let account = person.account { personByDN[account.dn.lowercased()] = person.record.employeeID } }
        var spelled: [String: String] = [:]
        for group in input.groups { for member in group.members { spelled[member.lowercased()] = member } }
        let effective = GroupExpansion.effectiveMembers(input.groups)
        var current: [MembershipKey: Membership] = [:]
        for group in input.groups {
            let dn = group.dn.lowercased()
            let direct = Set(group.members.map { $0.lowercased() })
            for member in effective[dn] ?? [] {
                let key = MembershipKey(directory: directory, group: dn, member: member)
                // A person this run does not list (missing from HR) keeps the membership recorded as theirs.
                let owner = personByDN[member] ?? state.memberships[key]?.employeeID.flatMap { state.persons[$0] != nil ? $0 : nil }
                current[key] = Membership(key: key, groupDN: group.dn, memberDN: spelled[member] ?? member,
                                          direct: direct.contains(member), employeeID: owner)
            }
        }
        var changes = plan.memberships ?? MembershipChanges()
        for (key, stored) in state.memberships where key.directory == directory {
            if let now = current[key], now.sameHolding(as: stored) { continue }
            changes.ended.append(key)
        }
        for (key, membership) in current {
            if let stored = state.memberships[key], stored.sameHolding(as: membership) { continue }
            changes.started.append(membership)
        }
        changes.ended.sort { ($0.group, $0.member) < ($1.group, $1.member) }
        changes.started.sort { ($0.key.group, $0.key.member) < ($1.key.group, $1.key.member) }
        if !changes.isEmpty { plan.memberships = changes }
    }
}
