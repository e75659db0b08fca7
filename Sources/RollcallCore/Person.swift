/// Where a record came from: a file and a physical line (1-based), or a record number.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var source: String
    public var line: Int

    public init(source: String, line: Int) {
        self.source = source
        self.line = line
    }

    public var description: String { "\(source):\(line)" }
}

/// Employment status as stated by HR (after the configured value mapping).
public enum EmploymentStatus: String, Sendable, Codable, CaseIterable {
    case active
    case terminated
}

/// The effective lifecycle state Rollcall derives from HR data as of a given day.
public enum LifecycleState: String, Sendable, Codable {
    case active
    case terminated
}

/// The attributes HR owns for one person. Empty strings are normalised to `nil` by the HR reader.
public struct PersonAttributes: Sendable, Hashable, Codable {
    public var givenName: String?
    public var familyName: String?
    public var email: String?
    public var department: String?
    public var title: String?
    public var managerID: String?
    public var status: EmploymentStatus
    public var hireDate: Day?
    public var terminationDate: Day?

    public init(givenName: String? = nil, familyName: String? = nil, email: String? = nil,
                department: String? = nil, title: String? = nil, managerID: String? = nil,
                status: EmploymentStatus = .active, hireDate: Day? = nil, terminationDate: Day? = nil) {
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.department = department
        self.title = title
        self.managerID = managerID
        self.status = status
        self.hireDate = hireDate
        self.terminationDate = terminationDate
    }

    /// Terminated when HR says so, or when the termination date has been reached (on that UTC day).
    public func lifecycle(on today: Day) -> LifecycleState {
        if status == .terminated { return .terminated }
        if let end = terminationDate, end <= today { return .terminated }
        return .active
    }
}

/// One person as read from an HR source in this run.
public struct HRRecord: Sendable, Hashable {
    public var employeeID: String
    public var attributes: PersonAttributes
    public var origin: SourceLocation

    public init(employeeID: String, attributes: PersonAttributes, origin: SourceLocation) {
        self.employeeID = employeeID
        self.attributes = attributes
        self.origin = origin
    }
}

/// One person as stored after the last applied run.
public struct StoredPerson: Sendable, Hashable, Codable {
    public var employeeID: String
    public var attributes: PersonAttributes
    public var lifecycle: LifecycleState

    public init(employeeID: String, attributes: PersonAttributes, lifecycle: LifecycleState) {
        self.employeeID = employeeID
        self.attributes = attributes
        self.lifecycle = lifecycle
    }
}
