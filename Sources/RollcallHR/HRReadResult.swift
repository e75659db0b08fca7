import RollcallCore

/// A row that could not become a person, with where it is and why.
public struct RejectedRow: Sendable, Hashable, Codable, CustomStringConvertible {
    public var location: SourceLocation
    public var reason: String

    public init(location: SourceLocation, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}

/// What one HR source yielded: the persons, and every row that was rejected.
public struct HRReadResult: Sendable {
    public var records: [HRRecord]
    public var rejected: [RejectedRow]

    public init(records: [HRRecord], rejected: [RejectedRow]) {
        self.records = records
        self.rejected = rejected
    }
}

/// A source that cannot be read at all (missing file, broken header, syntax error).
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
