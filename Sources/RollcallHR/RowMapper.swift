import Foundation
import RollcallCore

/// Column positions of the mapped fields, found from the header row.
struct RowLayout {
    let positions: [PersonField: Int]
    let width: Int

    init(header: [String], settings: CSVSourceSettings) throws(HRSourceError) {
        guard settings.columns[.employeeID] != nil else {
            throw HRSourceError(source: settings.path, reason: "no column is mapped to employee_id")
        }
        var index: [String: Int] = [:]
        for (position, name) in header.enumerated() {
            let trimmed = name.trimmedOfWhitespace()
            index[trimmed] = index[trimmed] ?? position
        }
        var positions: [PersonField: Int] = [:]
        for (field, column) in settings.columns {
            guard let position = index[column] else {
                throw HRSourceError(source: settings.path, location: SourceLocation(source: settings.path, line: 1),
                                    reason: "the header has no column \"\(column)\" (mapped to \(field.rawValue)); columns are: \(header.joined(separator: ", "))")
            }
            positions[field] = position
        }
        self.positions = positions
        self.width = header.count
    }
}

/// Why a row was rejected.
struct RowProblem: Error {
    let text: String
}

/// Turns one data row into an `HRRecord`, or says exactly why it cannot.
struct RowMapper {
    let layout: RowLayout
    let statusValues: [String: EmploymentStatus]
    let dateParser: DateParser

    init(layout: RowLayout, settings: CSVSourceSettings) {
        self.layout = layout
        var statuses: [String: EmploymentStatus] = [:]
        for (text, status) in settings.statusValues { statuses[text.lowercased()] = status }
        self.statusValues = statuses
        self.dateParser = DateParser(formats: settings.dateFormats)
    }

    mutating func map(_ fields: [String], at location: SourceLocation) -> Result<HRRecord, RowProblem> {
        guard fields.count == layout.width else {
            return .failure(RowProblem(text: "\(fields.count) fields where the header has \(layout.width)"))
        }
        func value(_ field: PersonField) -> String? {
            guard let position = layout.positions[field] else { return nil }
            let text = fields[position].trimmedOfWhitespace()
            return text.isEmpty ? nil : text
        }
        guard let id = value(.employeeID) else {
            return .failure(RowProblem(text: "employee_id is empty"))
        }
        var status = EmploymentStatus.active
        if let text = value(.status) {
            guard let mapped = statusValues[text.lowercased()] else {
                let known = statusValues.keys.sorted().joined(separator: ", ")
                return .failure(RowProblem(text: "status \"\(text)\" is not one of the configured values (\(known))"))
            }
            status = mapped
        } else if layout.positions[.status] != nil {
            return .failure(RowProblem(text: "status is empty"))
        }
        var dates: [PersonField: Day] = [:]
        for field in [PersonField.hireDate, .terminationDate] {
            guard let text = value(field) else { continue }
            guard let day = dateParser.parse(text) else {
                return .failure(RowProblem(text: "\(field.rawValue) \"\(text)\" matches none of the date formats \(dateParser.formats)"))
            }
            dates[field] = day
        }
        let attributes = PersonAttributes(
            givenName: value(.givenName), familyName: value(.familyName), email: value(.email),
            department: value(.department), title: value(.title), managerID: value(.managerID),
            status: status, hireDate: dates[.hireDate], terminationDate: dates[.terminationDate])
        return .success(HRRecord(employeeID: id, attributes: attributes, origin: location))
    }
}

/// Parses dates against a list of accepted formats; ISO `yyyy-MM-dd` takes a fast path.
struct DateParser {
    let formats: [String]
    private let formatters: [DateFormatter]

    init(formats: [String]) {
        self.formats = formats
        self.formatters = formats.filter { $0 != "yyyy-MM-dd" }.map { format in
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
        for formatter in formatters {
            if let date = formatter.date(from: text) {
                return Day(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
            }
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing white space (Unicode White_Space, so a no-break space from a
    /// spreadsheet export counts). Foundation's trimmingCharacters bridges through NSString on
    /// Linux and was a tenth of a 100 k-row run.
    func trimmedOfWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}
