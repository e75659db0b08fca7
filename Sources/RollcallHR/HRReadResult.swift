import RollcallCore

/// A record reported with its source, where it is and why: rejected (it could not become a
/// person) or warned about (used, but its data looks wrong: manages themselves, a manager cycle, a
/// manager id nobody has).
public struct RecordNote: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The configured name of the HR source (`hr.sources[].name`).
    public var source: String
    public var location: SourceLocation
    public var reason: String

    public init(source: String, location: SourceLocation, reason: String) {
        self.source = source
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}

/// A record that could not become a person.
public typealias RejectedRow = RecordNote
/// A person that is used but whose data looks wrong; never silently accepted.
public typealias RowWarning = RecordNote

/// What HR sources yielded: the persons, every record that was rejected, and the warnings.
public struct HRReadResult: Sendable {
    public var records: [HRRecord]
    public var rejected: [RejectedRow]
    public var warnings: [RowWarning]
    /// Persons read per source name (after rejections), for the report and the guard.
    public var countsBySource: [String: Int]
    /// Employee ids that a source listed on records it could not use (rejected, disputed): the
    /// persons are in HR, just not usable in this read, so they are not missing from it.
    public var unusableIDs: Set<String> = []

    public init(records: [HRRecord], rejected: [RejectedRow], warnings: [RowWarning] = [], countsBySource: [String: Int] = [:]) {
        self.records = records
        self.rejected = rejected
        self.warnings = warnings
        self.countsBySource = countsBySource
    }
}

/// A source that cannot be read at all (missing file, broken header, syntax error, not JSON).
public struct HRSourceError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var source: String
    public var reason: String

    public init(source: String, location: SourceLocation? = nil, reason: String) {
        self.source = source
        self.location = location
        self.reason = reason
    }

    public var description: String { "HR source \(location?.description ?? source): \(reason)" }
}
