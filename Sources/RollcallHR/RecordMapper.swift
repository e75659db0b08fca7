import Foundation
import RollcallCore

/// Why a record was rejected.
struct RecordProblem: Error {
    let text: String
    /// The record's employee id when it has one: a rejected record still claims its id, so another
    /// record with the same id is disputed rather than taken as the only one.
    var employeeID: String? = nil
}

/// Turns one source record into an `HRRecord`, or says exactly why it cannot: the per-field
/// transforms (trim, case, value map, empty values), the status mapping, dates and required fields.
struct RecordMapper {
    let settings: HRSourceSettings
    let statusValues: [String: EmploymentStatus]
    let dateParser: DateParser
    /// Each rule's value map with lower-cased keys, for the case-insensitive second look.
    private let foldedMaps: [PersonField: [String: String]]
    /// The mapped fields, in a fixed order.
    private let mappedFields: [PersonField]
    private let requiredFields: [PersonField]
    /// Lengths (in UTF-8 bytes) of the configured empty values: most values skip the set lookup.
    private let emptyValueLengths: Set<Int>

    init(settings: HRSourceSettings) {
        self.settings = settings
        var statuses: [String: EmploymentStatus] = [:]
        for (text, status) in settings.statusValues { statuses[text.lowercased()] = status }
        self.statusValues = statuses
        self.dateParser = DateParser(formats: settings.dateFormats)
        var folded: [PersonField: [String: String]] = [:]
        for (field, rule) in settings.fields where !rule.valueMap.isEmpty {
            var map: [String: String] = [:]
            for (key, value) in rule.valueMap { map[key.lowercased()] = map[key.lowercased()] ?? value }
            folded[field] = map
        }
        self.foldedMaps = folded
        self.mappedFields = PersonField.allCases.filter { settings.fields[$0] != nil }
        self.requiredFields = PersonField.allCases.filter { settings.required.contains($0) }
        self.emptyValueLengths = Set(settings.emptyValues.map(\.utf8.count))
    }

    /// The field's value after the rule's transforms, nil when absent or empty.
    func value(_ field: PersonField, raw: String?) -> String? {
        guard let rule = settings.fields[field], var text = raw else { return nil }
        if rule.trim { text = text.trimmedOfWhitespace() }
        if text.isEmpty || (emptyValueLengths.contains(text.utf8.count) && settings.emptyValues.contains(text)) { return nil }
        switch rule.letterCase {
        case .keep: break
        case .lower: text = text.lowercased()
        case .upper: text = text.uppercased()
        }
        if !rule.valueMap.isEmpty {
            if let mapped = rule.valueMap[text] ?? foldedMaps[field]?[text.lowercased()] { text = mapped }
        }
        return text.isEmpty ? nil : text
    }

    /// - Parameter raw: the record's raw text of a field (nil when the record has no such field).
    func map(at location: SourceLocation, raw: (PersonField) -> String?) -> Result<HRRecord, RecordProblem> {
        var values = FieldValues()
        for field in mappedFields {
            values[field] = value(field, raw: raw(field))
        }
        guard let id = values[.employeeID] else {
            return .failure(RecordProblem(text: "employee_id is empty"))
        }
        // Every problem of the record, so one report line says all that must be fixed.
        var problems: [String] = []
        var missing: [String] = []
        for field in requiredFields where values[field] == nil { missing.append(field.rawValue) }
        if !missing.isEmpty {
            problems.append("required \(missing.count == 1 ? "field" : "fields") \(missing.joined(separator: ", ")) empty")
        }
        var status = EmploymentStatus.active
        if let text = values[.status] {
            if let mapped = statusValues[text.lowercased()] {
                status = mapped
            } else {
                let known = statusValues.keys.sorted().joined(separator: ", ")
                problems.append("status \"\(text)\" is not one of the configured values (\(known))")
            }
        } else if settings.fields[.status] != nil && !missing.contains("status") {
            problems.append("status is empty")
        }
        var dates: [PersonField: Day] = [:]
        for field in [PersonField.hireDate, .terminationDate] {
            guard let text = values[field] else { continue }
            if let day = dateParser.parse(text) {
                dates[field] = day
            } else {
                problems.append("\(field.rawValue) \"\(text)\" matches none of the date formats \(dateParser.formats)")
            }
        }
        if !problems.isEmpty {
            return .failure(RecordProblem(text: problems.joined(separator: "; "), employeeID: id))
        }
        let attributes = PersonAttributes(
            givenName: values[.givenName], familyName: values[.familyName], displayName: values[.displayName],
            email: values[.email], department: values[.department], title: values[.title], managerID: values[.managerID],
            employeeType: values[.employeeType], location: values[.location], status: status, hireDate: dates[.hireDate], terminationDate: dates[.terminationDate])
        return .success(HRRecord(employeeID: id, attributes: attributes, origin: location))
    }
}

/// Parses dates against a list of accepted formats; ISO `yyyy-MM-dd` takes a fast path, and
/// `iso8601` takes the calendar date at the start of an ISO 8601 date-time as written.
struct DateParser {
    let formats: [String]
    private let formatters: [DateFormatter]

    init(formats: [String]) {
        self.formats = formats
        self.formatters = formats.filter { $0 != "yyyy-MM-dd" && $0 != "iso8601" }.map { format in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            formatter.isLenient = false
            return formatter
        }
    }

    func parse(_ text: String) -> Day? {
        if formats.contains("yyyy-MM-dd"), let day = Day(iso: text) { return day }
        if formats.contains("iso8601"), let day = DateParser.iso8601Day(text) { return day }
        for formatter in formatters {
            if let date = formatter.date(from: text) {
                return Day(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
            }
        }
        return nil
    }

    /// `YYYY-MM-DD`, alone or followed by `T` and a time: the date as written (no time-zone shift:
    /// an HR date is a calendar date, not an instant).
    static func iso8601Day(_ text: String) -> Day? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 10 || (utf8.count > 10 && (utf8[10] == UInt8(ascii: "T") || utf8[10] == UInt8(ascii: " "))) else {
            return nil
        }
        return Day(iso: String(decoding: utf8[0..<10], as: UTF8.self))
    }
}

extension String {
    /// Without leading and trailing white space (Unicode White_Space, so a no-break space from a
    /// spreadsheet export counts). Foundation's trimmingCharacters bridges through NSString on
    /// Linux and was a tenth of a 100 k-row run.
    func trimmedOfWhitespace() -> String {
        // Most values start and end with a printable ASCII character: nothing to trim, no scalar walk.
        let printable = UInt8(0x21)...UInt8(0x7E)
        if let head = utf8.first, let tail = utf8.last, printable.contains(head), printable.contains(tail) { return self }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}

/// A record's mapped values by field, without a dictionary per record.
struct FieldValues {
    private var slots: [String?] = Array(repeating: nil, count: PersonField.allCases.count)

    subscript(field: PersonField) -> String? {
        get { slots[field.ordinal] }
        set { slots[field.ordinal] = newValue }
    }
}

extension PersonField {
    /// Position in `allCases`.
    var ordinal: Int {
        switch self {
        case .employeeID: 0
        case .givenName: 1
        case .familyName: 2
        case .displayName: 3
        case .email: 4
        case .department: 5
        case .title: 6
        case .managerID: 7
        case .employeeType: 8
        case .location: 9
        case .status: 10
        case .hireDate: 11
        case .terminationDate: 12
        }
    }
}
