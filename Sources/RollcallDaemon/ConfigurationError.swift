/// A problem with the configuration, naming the key (and the file and line when known).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var key: String?
    public var line: Int?
    public var reason: String

    public init(file: String, key: String? = nil, line: Int? = nil, reason: String) {
        self.file = file
        self.key = key
        self.line = line
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let key { place += " (\(key))" }
        return "configuration \(place): \(reason)"
    }
}
