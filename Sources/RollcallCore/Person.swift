/// Where a record came from: a file and a physical line (1-based), or a record number (1-based)
/// where a source has no useful lines (a JSON document, an HTTP page).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var source: String
    public var line: Int
    /// `line` counts records, not lines.
    public var isRecordNumber: Bool

    public init(source: String, line: Int) {
        self.source = source
        self.line = line
        self.isRecordNumber = false
    }

    public init(source: String, record: Int) {
        self.source = source
        self.line = record
        self.isRecordNumber = true
    }

    public var description: String { isRecordNumber ? "\(source) record \(line)" : "\(source):\(line)" }

    enum CodingKeys: String, CodingKey {
        case source, line, record
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decode(String.self, forKey: .source)
        if let record = try container.decodeIfPresent(Int.self, forKey: .record) {
            line = record
            isRecordNumber = true
        } else {
            line = try container.decode(Int.self, forKey: .line)
            isRecordNumber = false
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encode(line, forKey: isRecordNumber ? .record : .line)
    }
}

/// Employment status as stated by HR (after the configured value mapping).
public enum EmploymentStatus: String, Sendable, Codable, CaseIterable {
    case active
    /// Employed but away (leave of absence): accounts are suspended, not removed.
    case suspended
    case terminated
}

/// The effective lifecycle state Rollcall derives from HR data as of a given day; see `Lifecycle`.
public enum LifecycleState: String, Sendable, Codable, CaseIterable {
    /// Hired with a start date further away than the pre-hire window: nothing announced yet.
    case pending
    /// Within the pre-hire window before the start date: the joiner has been announced.
    case prehire
    case active
    case suspended
    /// Terminated; accounts are to be disabled.
    case terminated
    /// Terminated longer than the grace period; accounts are to be deleted.
    case deprovisioned

    /// States in which the person works for the organisation or is about to (announced).
    public var isEmployed: Bool { self == .prehire || self == .active || self == .suspended }
    public var isEnded: Bool { self == .terminated || self == .deprovisioned }
}

/// The attributes HR owns for one person. Empty strings are normalised to `nil` by the HR reader.
public struct PersonAttributes: Sendable, Hashable, Codable {
    public var givenName: String?
    public var familyName: String?
    /// The name to show (Workday's Full_Name, BambooHR's displayName).
    public var displayName: String?
    public var email: String?
    public var department: String?
    public var title: String?
    public var managerID: String?
    /// The kind of worker as HR says (employee, contractor, intern ...), after the value map.
    public var employeeType: String?
    public var location: String?
    public var status: EmploymentStatus
    public var hireDate: Day?
    public var terminationDate: Day?

    public init(givenName: String? = nil, familyName: String? = nil, displayName: String? = nil, email: String? = nil,
                department: String? = nil, title: String? = nil, managerID: String? = nil,
                employeeType: String? = nil, location: String? = nil,
                status: EmploymentStatus = .active, hireDate: Day? = nil, terminationDate: Day? = nil) {
        self.givenName = givenName
        self.familyName = familyName
        self.displayName = displayName
        self.email = email
        self.department = department
        self.title = title
        self.managerID = managerID
        self.employeeType = employeeType
        self.location = location
        self.status = status
        self.hireDate = hireDate
        self.terminationDate = terminationDate
    }

    /// The first day the person no longer works here, from the termination date as HR means it.
    public func firstDayGone(_ meaning: TerminationDateMeaning) -> Day? {
        guard let end = terminationDate else { return nil }
        return meaning == .lastDayWorked ? end.adding(days: 1) : end
    }

    /// Terminated when HR says so, or from the first day gone (the day after the termination
    /// date when that date is the last day worked) in the organisation's time zone.
    public func isTerminated(on today: Day, _ meaning: TerminationDateMeaning) -> Bool {
        if status == .terminated { return true }
        if let gone = firstDayGone(meaning), gone <= today { return true }
        return false
    }

}

/// What an HR system's termination date means. Workday and BambooHR state the last day worked
/// (the person is gone from the next day); some systems state the first day gone.
public enum TerminationDateMeaning: String, Sendable, Hashable, Codable, CaseIterable {
    case lastDayWorked = "last_day_worked"
    case firstDayGone = "first_day_gone"
}

/// One person as read from an HR source in this run.
public struct HRRecord: Sendable, Hashable {
    public var employeeID: String
    public var attributes: PersonAttributes
    public var origin: SourceLocation
    /// The configured name of the HR source the record came from (`hr.sources[].name`).
    public var source: String?

    public init(employeeID: String, attributes: PersonAttributes, origin: SourceLocation, source: String? = nil) {
        self.employeeID = employeeID
        self.attributes = attributes
        self.origin = origin
        self.source = source
    }
}

/// One person as stored after the last applied run.
public struct StoredPerson: Sendable, Hashable, Codable {
    public var employeeID: String
    public var attributes: PersonAttributes
    public var lifecycle: LifecycleState
    /// The day the current lifecycle state began: when Rollcall first saw it, or for a termination
    /// the termination date. The grace period before deprovisioning counts from it.
    public var lifecycleSince: Day?
    /// The HR source that last listed the person (its `on_missing` applies when they drop out).
    public var source: String?
    /// The first day of the current absence from every HR source (nil: listed in the last read).
    public var missingSince: Day?

    public init(employeeID: String, attributes: PersonAttributes, lifecycle: LifecycleState, lifecycleSince: Day? = nil,
                source: String? = nil, missingSince: Day? = nil) {
        self.employeeID = employeeID
        self.attributes = attributes
        self.lifecycle = lifecycle
        self.lifecycleSince = lifecycleSince
        self.source = source
        self.missingSince = missingSince
    }
}
