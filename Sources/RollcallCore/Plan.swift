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
    public var linked = 0
    /// Accounts with no HR person after this run (reported once each as `account.orphaned`).
    public var orphans = 0
    public var removedAccounts = 0
    /// Several unlinked accounts carry the same HR id: none is linked automatically.
    public var ambiguous = 0
    /// Stored persons absent from this HR read. Absence is not termination: nothing is done.
    public var missingFromHR = 0
    public var events = 0

    public init() {}
}

/// What one run would change: the desired state minus the stored state. Applied in one transaction.
public struct Plan: Sendable {
    public var personUpserts: [StoredPerson] = []
    public var accountUpserts: [StoredAccount] = []
    public var accountRemovals: [AccountKey] = []
    public var linkUpserts: [Link] = []
    /// Links removed because their account is gone (matched by person and directory).
    public var linkRemovals: [Link] = []
    public var events: [EventDraft] = []
    public var summary = RunSummary()
    /// Persons that matched several unlinked accounts of one directory, for the run report.
    public var ambiguities: [AmbiguousMatch] = []

    public init() {}

    public var isEmpty: Bool {
        personUpserts.isEmpty && accountUpserts.isEmpty && accountRemovals.isEmpty
            && linkUpserts.isEmpty && linkRemovals.isEmpty && events.isEmpty
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
