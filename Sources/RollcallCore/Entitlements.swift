/// A person attribute that entitlement rules can test.
public enum PersonAttribute: String, Sendable, CaseIterable, Codable {
    case department, title, location, email
    case employeeType = "employee_type"
    case managerID = "manager_id"
    case displayName = "display_name"
    case givenName = "given_name"
    case familyName = "family_name"
    case status

    public func value(of a: PersonAttributes) -> String? {
        switch self {
        case .department: a.department
        case .title: a.title
        case .location: a.location
        case .email: a.email
        case .employeeType: a.employeeType
        case .managerID: a.managerID
        case .displayName: a.displayName
        case .givenName: a.givenName
        case .familyName: a.familyName
        case .status: a.status.rawValue
        }
    }
}

/// A test on a person's HR attributes. Values compare case-insensitively, after trimming.
public indirect enum Condition: Sendable, Hashable {
    case always
    case equals(PersonAttribute, String)
    case oneOf(PersonAttribute, [String])
    case prefix(PersonAttribute, String)
    case all([Condition])
    case any([Condition])
    case not(Condition)

    public func matches(_ attributes: PersonAttributes) -> Bool {
        func fold(_ text: String) -> String { text.trimmingASCIIWhitespace().lowercased() }
        switch self {
        case .always: return true
        case .equals(let attribute, let value):
            return attribute.value(of: attributes).map { fold($0) == fold(value) } ?? false
        case .oneOf(let attribute, let values):
            guard let actual = attribute.value(of: attributes).map(fold) else { return false }
            return values.contains { fold($0) == actual }
        case .prefix(let attribute, let value):
            return attribute.value(of: attributes).map { fold($0).hasPrefix(fold(value)) } ?? false
        case .all(let conditions): return conditions.allSatisfy { $0.matches(attributes) }
        case .any(let conditions): return conditions.contains { $0.matches(attributes) }
        case .not(let condition): return !condition.matches(attributes)
        }
    }
}

/// A group every person matching `condition` should be in (a birthright), in the policy's directory.
public struct BirthrightRule: Sendable, Hashable {
    public var name: String
    public var group: String
    public var condition: Condition

    public init(name: String, group: String, condition: Condition) {
        self.name = name
        self.group = group
        self.condition = condition
    }
}

/// Groups that must not be held together (two or more of them, directly or through nesting,
/// granted by Rollcall or anyone else).
public struct SeparationRule: Sendable, Hashable {
    public var name: String
    public var groups: [String]

    public init(name: String, groups: [String]) {
        self.name = name
        self.groups = groups
    }
}

/// Birthright entitlements and separation of duties in one directory.
public struct EntitlementPolicy: Sendable {
    /// The configured directory whose accounts and groups the rules are about.
    public var directory: String
    public var birthright: [BirthrightRule]
    public var separation: [SeparationRule]
    public var privileged: PrivilegedPolicy?

    public init(directory: String, birthright: [BirthrightRule], separation: [SeparationRule], privileged: PrivilegedPolicy? = nil) {
        self.directory = directory
        self.birthright = birthright
        self.separation = separation
        self.privileged = privileged
    }
}

/// The policy with the groups read in this run (every group the rules name, with direct members).
public struct EntitlementInput: Sendable {
    public var policy: EntitlementPolicy
    public var groups: [DirectoryGroup]
    /// The privileged groups watched this run: the configured ones and, on Active Directory, the
    /// protected groups found in this read. Empty: privileged access is not watched.
    public var privileged: [String]

    public init(policy: EntitlementPolicy, groups: [DirectoryGroup], privileged: [String]? = nil) {
        self.policy = policy
        self.groups = groups
        self.privileged = privileged ?? policy.privileged?.groups ?? []
    }
}

/// What Rollcall announced about one person's entitlements and is waiting to see done.
public struct EntitlementNotice: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable {
        case grant, revoke
    }

    public var employeeID: String
    /// Lower-cased group DN.
    public var group: String
    public var action: Action

    public init(employeeID: String, group: String, action: Action) {
        self.employeeID = employeeID
        self.group = group
        self.action = action
    }
}

/// A separation-of-duties violation already announced, remembered until it ends.
public struct ViolationNotice: Sendable, Hashable, Codable {
    public var employeeID: String
    public var rule: String

    public init(employeeID: String, rule: String) {
        self.employeeID = employeeID
        self.rule = rule
    }
}

/// Desired versus actual memberships per person: `entitlement.grant` for a birthright group the
/// person's account is not directly in, `entitlement.revoke` for a birthright-managed group they
/// are in but no rule gives them (all of them once they are no longer employed), and
/// `policy.violation` for held groups that must not be held together. Each once, until the
/// directory shows it done (or the violation ends).
enum EntitlementPlanner {
    struct Person {
        var record: HRRecord
        var lifecycle: LifecycleState
        var account: DirectoryAccount?
        /// Disabled by an operator: entitled to nothing.
        var held = false

        var isEntitled: Bool { lifecycle.isEmployed && !held }
    }

    static func plan(_ input: EntitlementInput, persons: [Person], state: StoredState, plan: inout Plan) throws(ReconcileRefusal) {
        let policy = input.policy
        var groupsByDN: [String: DirectoryGroup] = [:]
        for group in input.groups { groupsByDN[group.dn.lowercased()] = group }
        let named = Set(policy.birthright.map { $0.group.lowercased() } + policy.separation.flatMap { $0.groups.map { $0.lowercased() } })
        if let missing = named.sorted().first(where: { groupsByDN[$0] == nil }) {
            throw ReconcileRefusal("the entitlement group \(missing) is not among the groups read from directory \(policy.directory); no entitlement is decided without it")
        }
        let managed = Set(policy.birthright.map { $0.group.lowercased() })
        // Direct members of managed groups, and nested (effective) members for separation rules.
        var directOf: [String: Set<String>] = [:]
        for dn in managed { for member in groupsByDN[dn]?.members ?? [] { directOf[member.lowercased(), default: []].insert(dn) } }
        let separated = Set(policy.separation.flatMap { $0.groups.map { $0.lowercased() } })
        var heldOf: [String: Set<String>] = [:]
        if !separated.isEmpty {
            let effective = GroupExpansion.effectiveMembers(input.groups)
            for dn in separated { for member in effective[dn] ?? [] { heldOf[member, default: []].insert(dn) } }
        }
        var drafts: [EventDraft] = []
        for person in persons {
            let id = person.record.employeeID
            guard let account = person.account else { continue }
            let accountDN = account.dn.lowercased()
            var desired: [String: [String]] = [:]  // group → rules
            if person.isEntitled {
                for rule in policy.birthright where rule.condition.matches(person.record.attributes) {
                    desired[rule.group.lowercased(), default: []].append(rule.name)
                }
            }
            let actual = directOf[accountDN] ?? []
            let announced = state.entitlementNotices[id] ?? [:]
            func ref(_ group: String) -> JSONValue { .string(groupsByDN[group]?.dn ?? group) }
            func base(_ group: String) -> [String: JSONValue] {
                ["hr_id": .string(id), "directory": .string(policy.directory), "anchor": .string(account.anchor),
                 "dn": .string(account.dn), "group": ref(group), "lifecycle": .string(person.lifecycle.rawValue)]
            }
            for group in desired.keys.sorted() where !actual.contains(group) && announced[group] != .grant {
                var data = base(group)
                data["rules"] = .array((desired[group] ?? []).map(JSONValue.string))
                drafts.append(EventDraft(kind: .grant, subject: id, data: .object(data)))
                plan.entitlementUpserts.append(EntitlementNotice(employeeID: id, group: group, action: .grant))
            }
            for group in actual.sorted() where desired[group] == nil && announced[group] != .revoke {
                var data = base(group)
                data["reason"] = .string(person.held ? "the person is disabled by an operator"
                                         : person.lifecycle.isEmployed ? "no birthright rule gives it" : "the person is \(person.lifecycle.rawValue)")
                drafts.append(EventDraft(kind: .revoke, subject: id, data: .object(data)))
                plan.entitlementUpserts.append(EntitlementNotice(employeeID: id, group: group, action: .revoke))
            }
            // Notices the directory has caught up with (or that no longer apply) are forgotten.
            for (group, action) in announced {
                let pending = action == .grant ? desired[group] != nil && !actual.contains(group)
                                               : desired[group] == nil && actual.contains(group)
                if !pending { plan.entitlementRemovals.append(EntitlementNotice(employeeID: id, group: group, action: action)) }
            }
            let held = heldOf[accountDN] ?? []
            let known = state.violationNotices[id] ?? []
            var current = Set<String>()
            for rule in policy.separation {
                let together = rule.groups.filter { held.contains($0.lowercased()) }
                guard together.count > 1 else { continue }
                current.insert(rule.name)
                if !known.contains(rule.name) {
                    var data = base(together[0].lowercased())
                    data["group"] = nil
                    data["rule"] = .string(rule.name)
                    data["groups"] = .array(together.map(JSONValue.string))
                    drafts.append(EventDraft(kind: .violation, subject: id, data: .object(data)))
                    plan.violationUpserts.append(ViolationNotice(employeeID: id, rule: rule.name))
                }
            }
            for rule in known where !current.contains(rule) {
                plan.violationRemovals.append(ViolationNotice(employeeID: id, rule: rule))
            }
        }
        plan.summary.grants = drafts.filter { $0.kind == .grant }.count
        plan.summary.revokes = drafts.filter { $0.kind == .revoke }.count
        plan.summary.violations = drafts.filter { $0.kind == .violation }.count
        plan.events.append(contentsOf: Reconciler.sortedBySubject(drafts))
        try PrivilegedPlanner.plan(input, persons: persons, state: state, plan: &plan)
        MembershipPlanner.plan(input, persons: persons, state: state, plan: &plan)
    }
}
