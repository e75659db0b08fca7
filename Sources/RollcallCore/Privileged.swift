/// Privileged groups watched in the entitlement directory: configured DNs, and on Active Directory
/// the protected groups (`adminCount=1`) and the built-in admin groups, found each run.
public struct PrivilegedPolicy: Sendable, Hashable {
    /// Configured privileged group DNs (they must be among the groups read).
    public var groups: [String]
    /// Members (DNs) whose privileged memberships need no rule: break-glass and service accounts.
    public var allowedMembers: [String]

    public init(groups: [String], allowedMembers: [String] = []) {
        self.groups = groups
        self.allowedMembers = allowedMembers
    }
}

/// What is stored about one watched privileged group: its effective (direct and nested) members
/// at the last applied run. The baseline that membership changes are found against.
public struct PrivilegedGroupState: Sendable, Hashable, Codable {
    /// The group's DN as read.
    public var dn: String
    /// Lower-cased member DN → the DN as read.
    public var members: [String: String]

    public init(dn: String, members: [String: String]) {
        self.dn = dn
        self.members = members
    }
}

/// A privileged group's new baseline (replaces what is stored for it).
public struct PrivilegedSnapshot: Sendable, Hashable, Codable {
    public var directory: String
    public var state: PrivilegedGroupState

    public init(directory: String, state: PrivilegedGroupState) {
        self.directory = directory
        self.state = state
    }
}

/// A watched privileged group (lower-cased DN) in a directory.
public struct PrivilegedGroupKey: Sendable, Hashable, Codable {
    public var directory: String
    public var group: String

    public init(directory: String, group: String) {
        self.directory = directory
        self.group = group
    }
}

/// One member in one privileged group (lower-cased DNs): a remembered `privileged.unauthorised`.
public struct PrivilegedMembership: Sendable, Hashable, Codable {
    public var directory: String
    public var group: String
    public var member: String

    public init(directory: String, group: String, member: String) {
        self.directory = directory
        self.group = group
        self.member = member
    }
}

/// Membership changes of privileged groups (`privileged.membership_changed`, high severity, for
/// any change after the group was first seen, whoever made it) and privileged memberships that no
/// rule grants (`privileged.unauthorised`, once while it lasts). A membership is granted when a
/// birthright rule gives the member's person the group itself or a group nested in it, or the
/// member is listed in `allowed_members`.
enum PrivilegedPlanner {
    static func plan(_ input: EntitlementInput, persons: [EntitlementPlanner.Person], state: StoredState,
                     plan: inout Plan) throws(ReconcileRefusal) {
        let directory = input.policy.directory
        let watched = input.privileged
        let stored = state.privileged[directory] ?? [:]
        guard !watched.isEmpty || !stored.isEmpty else { return }
        var groupsByDN: [String: DirectoryGroup] = [:]
        for group in input.groups { groupsByDN[group.dn.lowercased()] = group }
        for dn in input.policy.privileged?.groups ?? [] where groupsByDN[dn.lowercased()] == nil {
            throw ReconcileRefusal("the privileged group \(dn) is not among the groups read from directory \(directory); privileged access is not watched without it")
        }
        let effective = GroupExpansion.effectiveMembers(input.groups)
        var spelled: [String: String] = [:]  // lower-cased member DN → as read
        for group in input.groups { for member in group.members { spelled[member.lowercased()] = member } }
        // Who each member account is, and which groups the rules give them.
        var personByDN: [String: EntitlementPlanner.Person] = [:]
        for person in persons { if let account = person.account { personByDN[account.dn.lowercased()] = person } }
        let allowed = Set((input.policy.privileged?.allowedMembers ?? []).map { $0.lowercased() })
        func grantingRules(_ member: String, group: String, nestedGroups: Set<String>) -> [String]? {
            if allowed.contains(member) { return [] }
            guard let person = personByDN[member], person.isEntitled else { return nil }
            let rules = input.policy.birthright.filter { rule in
                let granted = rule.group.lowercased()
                return (granted == group || nestedGroups.contains(granted)) && rule.condition.matches(person.record.attributes)
            }.map(\.name)
            return rules.isEmpty ? nil : rules
        }
        var drafts: [EventDraft] = []
        let known = state.privilegedNotices.filter { $0.directory == directory }
        var current = Set<PrivilegedMembership>()
        for group in Set(watched.map { $0.lowercased() }).sorted() {
            guard let read = groupsByDN[group] else { continue }
            let members = effective[group] ?? []
            let direct = Set(read.members.map { $0.lowercased() })
            let nestedGroups = GroupExpansion.nestedGroups(of: group, in: groupsByDN)
            let before = stored[group]
            var snapshot = PrivilegedGroupState(dn: read.dn, members: [:])
            for member in members { snapshot.members[member] = spelled[member] ?? member }
            func base(_ member: String) -> [String: JSONValue] {
                let person = personByDN[member]
                return ["directory": .string(directory), "group": .string(read.dn),
                        "member": .string(snapshot.members[member] ?? before?.members[member] ?? member),
                        "hr_id": JSONValue(person?.record.employeeID), "severity": .string("high")]
            }
            func subject(_ member: String) -> String { personByDN[member]?.record.employeeID ?? (snapshot.members[member] ?? member) }
            if let before {
                for member in members.subtracting(before.members.keys).sorted() {
                    let rules = grantingRules(member, group: group, nestedGroups: nestedGroups)
                    var data = base(member)
                    data["change"] = .string("added")
                    data["nested"] = .bool(!direct.contains(member))
                    data["authorised"] = .bool(rules != nil)
                    data["rules"] = .array((rules ?? []).map(JSONValue.string))
                    drafts.append(EventDraft(kind: .privilegedChange, subject: subject(member), data: .object(data)))
                }
                for member in Set(before.members.keys).subtracting(members).sorted() {
                    var data = base(member)
                    data["change"] = .string("removed")
                    data["member"] = .string(before.members[member] ?? member)
                    drafts.append(EventDraft(kind: .privilegedChange, subject: personByDN[member]?.record.employeeID ?? (before.members[member] ?? member),
                                             data: .object(data)))
                }
            }
            if before != snapshot { plan.privilegedSnapshots.append(PrivilegedSnapshot(directory: directory, state: snapshot)) }
            for member in members.sorted() where grantingRules(member, group: group, nestedGroups: nestedGroups) == nil {
                let membership = PrivilegedMembership(directory: directory, group: group, member: member)
                current.insert(membership)
                guard !known.contains(membership) else { continue }
                var data = base(member)
                data["nested"] = .bool(!direct.contains(member))
                data["reason"] = .string(personByDN[member] == nil ? "the member is not the account of a person in HR"
                                         : personByDN[member]?.held == true ? "the person is disabled by an operator"
                                         : personByDN[member]?.lifecycle.isEmployed == true ? "no birthright rule gives this person the group"
                                         : "the person is \(personByDN[member]?.lifecycle.rawValue ?? "not employed")")
                drafts.append(EventDraft(kind: .privilegedUnauthorised, subject: subject(member), data: .object(data)))
                plan.unauthorisedUpserts.append(membership)
            }
        }
        // Groups no longer watched (no longer adminCount=1, or taken out of the configuration) are
        // forgotten without events: their members did not change.
        let watchedSet = Set(watched.map { $0.lowercased() })
        for group in stored.keys.sorted() where !watchedSet.contains(group) {
            plan.privilegedRemovals.append(PrivilegedGroupKey(directory: directory, group: group))
        }
        for membership in known.sorted(by: { ($0.group, $0.member) < ($1.group, $1.member) }) where !current.contains(membership) {
            plan.unauthorisedRemovals.append(membership)
        }
        plan.summary.privilegedChanges = drafts.filter { $0.kind == .privilegedChange }.count
        plan.summary.unauthorised = drafts.filter { $0.kind == .privilegedUnauthorised }.count
        plan.events.append(contentsOf: drafts)
    }
}

extension GroupExpansion {
    /// The lower-cased DNs of the groups nested (at any depth) in `group`, cycle-safe.
    static func nestedGroups(of group: String, in groupsByDN: [String: DirectoryGroup]) -> Set<String> {
        var seen = Set<String>()
        var queue = [group]
        while let next = queue.popLast() {
            for member in groupsByDN[next]?.members ?? [] {
                let key = member.lowercased()
                if groupsByDN[key] != nil, key != group, seen.insert(key).inserted { queue.append(key) }
            }
        }
        return seen
    }
}
