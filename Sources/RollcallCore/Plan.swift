/// Counts that describe one reconcile run, printed by the CLI and stored with the run.
public struct RunSummary: Sendable, Hashable, Codable {
    public var entriesRead = 0
    public var personsRead = 0
    public var rejectedRows = 0
    /// Persons linked to at least one account after this run.
    public var matched = 0
    public var joiners = 0
    public var movers = 0
    public var updates = 0
    public var leavers = 0
    public var rehires = 0
    public var started = 0
    public var suspended = 0
    public var resumed = 0
    public var deprovisioned = 0
    public var linked = 0
    /// Matches waiting for `rollcall link` (directories with `on_unlinked: report`).
    public var proposed = 0
    public var relinked = 0
    public var converted = 0
    public var grants = 0
    public var revokes = 0
    public var violations = 0
    public var drifts = 0
    public var purged = 0
    /// Terminated HR records of persons purged earlier: left out of the run.
    public var purgedInHR = 0
    /// Membership changes of privileged groups, and privileged memberships no rule grants.
    public var privilegedChanges = 0
    public var unauthorised = 0
    /// Accounts with no HR person after this run (reported once each as `account.orphaned`).
    public var orphans = 0
    public var removedAccounts = 0
    /// Several unlinked accounts carry the same HR id: none is linked automatically.
    public var ambiguous = 0
    /// Stored persons absent from this HR read. Absence is not termination: nothing is done.
    public var missingFromHR = 0
    public var events = 0

    public init() {}

    /// Counts missing from a summary stored by an older Rollcall are 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        entriesRead = try count(.entriesRead)
        personsRead = try count(.personsRead)
        rejectedRows = try count(.rejectedRows)
        matched = try count(.matched)
        joiners = try count(.joiners)
        movers = try count(.movers)
        updates = try count(.updates)
        leavers = try count(.leavers)
        rehires = try count(.rehires)
        started = try count(.started)
        suspended = try count(.suspended)
        resumed = try count(.resumed)
        deprovisioned = try count(.deprovisioned)
        linked = try count(.linked)
        proposed = try count(.proposed)
        relinked = try count(.relinked)
        converted = try count(.converted)
        grants = try count(.grants)
        revokes = try count(.revokes)
        violations = try count(.violations)
        drifts = try count(.drifts)
        purged = try count(.purged)
        purgedInHR = try count(.purgedInHR)
        privilegedChanges = try count(.privilegedChanges)
        unauthorised = try count(.unauthorised)
        orphans = try count(.orphans)
        removedAccounts = try count(.removedAccounts)
        ambiguous = try count(.ambiguous)
        missingFromHR = try count(.missingFromHR)
        events = try count(.events)
    }

    /// Counts a lifecycle announcement.
    mutating func count(_ kind: EventKind) {
        switch kind {
        case .joiner: joiners += 1
        case .leaver: leavers += 1
        case .rehire: rehires += 1
        case .started: started += 1
        case .suspended: suspended += 1
        case .resumed: resumed += 1
        case .deprovision: deprovisioned += 1
        case .mover: movers += 1
        case .updated: updates += 1
        case .linked: linked += 1
        case .relinked: relinked += 1
        case .converted: converted += 1
        case .drift: drifts += 1
        case .purged: purged += 1
        case .proposed: proposed += 1
        case .missing, .stillEnabled, .disabledExternally, .quarantined, .disabled, .enabled, .disputed, .orphaned, .removed, .grant, .revoke, .violation, .privilegedChange, .privilegedUnauthorised, .reviewEscalated: break
        }
    }
}

/// What one run would change: the desired state minus the stored state. Applied in one transaction.
public struct Plan: Sendable, Codable {
    /// Persons who continue under a new HR id, applied before everything else.
    public var personRenames: [PersonRename] = []
    public var personUpserts: [StoredPerson] = []
    /// Persons whose retention has passed: erased from the store, applied after everything else.
    public var personPurges: [Tombstone] = []
    public var accountUpserts: [StoredAccount] = []
    public var accountRemovals: [AccountKey] = []
    public var linkUpserts: [Link] = []
    /// Links removed because their account is gone (matched by person and directory).
    public var linkRemovals: [Link] = []
    public var events: [EventDraft] = []
    public var summary = RunSummary()
    /// Persons that matched several unlinked accounts of one directory, for the run report.
    public var ambiguities: [AmbiguousMatch] = []
    /// Disputes to remember (new or changed: announced in this plan) and to forget (resolved).
    public var disputeUpserts: [AmbiguousMatch] = []
    public var disputeRemovals: [AmbiguousMatch] = []
    /// Operator holds set (`rollcall disable`) and lifted (`rollcall enable`).
    public var holdUpserts: [Hold] = []
    public var holdRemovals: [String] = []
    /// Link proposals announced (`correlation.proposed`) and forgotten (confirmed or gone).
    public var proposalUpserts: [LinkProposal] = []
    public var proposalRemovals: [LinkProposal] = []
    /// Entitlement changes announced (remembered until the directory shows them) and forgotten.
    public var entitlementUpserts: [EntitlementNotice] = []
    public var entitlementRemovals: [EntitlementNotice] = []
    public var violationUpserts: [ViolationNotice] = []
    public var violationRemovals: [ViolationNotice] = []
    public var driftUpserts: [DriftNotice] = []
    public var driftRemovals: [DriftNotice] = []
    /// Privileged groups' new baselines (whole, replacing what is stored) and groups no longer watched.
    public var privilegedSnapshots: [PrivilegedSnapshot] = []
    public var privilegedRemovals: [PrivilegedGroupKey] = []
    public var unauthorisedUpserts: [PrivilegedMembership] = []
    public var unauthorisedRemovals: [PrivilegedMembership] = []
    /// Operators' decisions on proposed conversions (`rollcall link --converts | --separate-from`).
    public var conversionDecisions: [ConversionDecision] = []
    /// Group memberships started and ended in this run (access history); nil when none changed.
    public var memberships: MembershipChanges?

    public init() {}

    public var isEmpty: Bool {
        personRenames.isEmpty && personUpserts.isEmpty && personPurges.isEmpty && accountUpserts.isEmpty && accountRemovals.isEmpty
            && linkUpserts.isEmpty && linkRemovals.isEmpty && events.isEmpty && disputeUpserts.isEmpty && disputeRemovals.isEmpty
            && proposalUpserts.isEmpty && proposalRemovals.isEmpty && holdUpserts.isEmpty && holdRemovals.isEmpty
            && entitlementUpserts.isEmpty && entitlementRemovals.isEmpty && violationUpserts.isEmpty && violationRemovals.isEmpty
            && driftUpserts.isEmpty && driftRemovals.isEmpty && privilegedSnapshots.isEmpty && privilegedRemovals.isEmpty
            && unauthorisedUpserts.isEmpty && unauthorisedRemovals.isEmpty && conversionDecisions.isEmpty
            && (memberships?.isEmpty ?? true)
    }
}

/// What stays of a purged person: a keyed hash of the HR id (so a later read can recognise the
/// person without keeping who they were) and the termination date.
public struct Tombstone: Sendable, Hashable, Codable {
    /// The purged HR id; only in the plan, never stored.
    public var employeeID: String
    public var pseudonym: String
    public var terminationDate: Day?

    public init(employeeID: String, pseudonym: String, terminationDate: Day?) {
        self.employeeID = employeeID
        self.pseudonym = pseudonym
        self.terminationDate = terminationDate
    }
}

/// Why Core refuses to plan.
public struct ReconcileRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A person whose correlation value matches several unlinked accounts of one directory: none of
/// them is linked automatically.
public struct AmbiguousMatch: Sendable, Hashable, Codable {
    public var employeeID: String
    public var directory: String
    public var anchors: [String]

    public init(employeeID: String, directory: String, anchors: [String]) {
        self.employeeID = employeeID
        self.directory = directory
        self.anchors = anchors
    }

    enum CodingKeys: String, CodingKey {
        case employeeID = "hr_id"
        case directory, anchors
    }
}
