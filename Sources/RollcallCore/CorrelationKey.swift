/// The HR value matched against the directory's correlation attribute when a person has no link yet.
public enum CorrelationKey: String, Sendable, CaseIterable, Codable {
    /// HR employee id ↔ e.g. `employeeNumber`; compared exactly (after trimming).
    case employeeID = "employee_id"
    /// HR e-mail ↔ e.g. `mail`; compared case-insensitively.
    case email

    /// The normalised form of a value on either side; nil when empty.
    public func normalize(_ value: String) -> String? {
        let trimmed = value.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { return nil }
        switch self {
        case .employeeID: return trimmed
        case .email: return trimmed.lowercased()
        }
    }

    public func value(of record: HRRecord) -> String? {
        switch self {
        case .employeeID: return normalize(record.employeeID)
        case .email: return record.attributes.email.flatMap(normalize)
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
