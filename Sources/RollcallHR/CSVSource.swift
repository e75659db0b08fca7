import Foundation
import RollcallCore

/// The canonical person fields an HR column can map to.
public enum PersonField: String, Sendable, CaseIterable, Codable {
    case employeeID = "employee_id"
    case givenName = "given_name"
    case familyName = "family_name"
    case email
    case department
    case title
    case managerID = "manager_id"
    case status
    case hireDate = "hire_date"
    case terminationDate = "termination_date"
}

/// How one CSV file maps onto persons.
public struct CSVSourceSettings: Sendable {
    public var path: String
    /// Canonical field → column header. `employee_id` is required.
    public var columns: [PersonField: String]
    /// HR status text (compared case-insensitively after trimming) → status. Unlisted values reject the row.
    public var statusValues: [String: EmploymentStatus]
    /// Accepted date formats (ICU patterns such as `yyyy-MM-dd` or `MM/dd/yyyy`), tried in order.
    public var dateFormats: [String]

    public init(path: String, columns: [PersonField: String],
                statusValues: [String: EmploymentStatus] = ["active": .active, "terminated": .terminated],
                dateFormats: [String] = ["yyyy-MM-dd"]) {
        self.path = path
        self.columns = columns
        self.statusValues = statusValues
        self.dateFormats = dateFormats
    }
}

/// Reads one CSV HR export into persons, rejecting bad rows with file:line and the reason.
public struct CSVSource: Sendable {
    public var settings: CSVSourceSettings

    public init(settings: CSVSourceSettings) {
        self.settings = settings
    }

    public func read() throws(HRSourceError) -> HRReadResult {
        let path = settings.path
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw HRSourceError(source: path, reason: "cannot be read: \(error.localizedDescription)")
        }
        var parser = CSVParser(bytes: bytes)
        let header: CSVParser.Record
        do {
            guard let first = try parser.next() else {
                throw HRSourceError(source: path, reason: "the file is empty (no header row)")
            }
            header = first
        } catch let error as CSVParser.SyntaxError {
            throw HRSourceError(source: path, location: SourceLocation(source: path, line: error.line), reason: error.reason)
        } catch let error as HRSourceError {
            throw error
        } catch {
            throw HRSourceError(source: path, reason: "\(error)")
        }
        let layout = try RowLayout(header: header.fields, settings: settings)
        var mapper = RowMapper(layout: layout, settings: settings)
        var records: [HRRecord] = []
        var rejected: [RejectedRow] = []
        var firstLineByID: [String: Int] = [:]
        var duplicateIDs = Set<String>()
        while true {
            let row: CSVParser.Record
            do {
                guard let next = try parser.next() else { break }
                row = next
            } catch {
                let location = SourceLocation(source: path, line: error.line)
                guard error.recoverable else { throw HRSourceError(source: path, location: location, reason: error.reason) }
                rejected.append(RejectedRow(location: location, reason: error.reason))
                continue
            }
            let location = SourceLocation(source: path, line: row.line)
            switch mapper.map(row.fields, at: location) {
            case .success(let record):
                if let first = firstLineByID[record.employeeID] {
                    duplicateIDs.insert(record.employeeID)
                    rejected.append(RejectedRow(location: location,
                                                reason: "employee id \(record.employeeID) also on line \(first); the id is disputed and neither row is used"))
                } else {
                    firstLineByID[record.employeeID] = row.line
                    records.append(record)
                }
            case .failure(let reason):
                rejected.append(RejectedRow(location: location, reason: reason.text))
            }
        }
        if !duplicateIDs.isEmpty {
            for record in records where duplicateIDs.contains(record.employeeID) {
                rejected.append(RejectedRow(location: record.origin,
                                            reason: "employee id \(record.employeeID) appears on several lines; the id is disputed and neither row is used"))
            }
            records.removeAll { duplicateIDs.contains($0.employeeID) }
            rejected.sort { $0.location.line < $1.location.line }
        }
        return HRReadResult(records: records, rejected: rejected)
    }
}
