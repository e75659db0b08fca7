import Foundation
import GRDB
import RollcallCore

/// The `person` table's columns and the mapping to and from `StoredPerson`.
enum PersonColumns {
    static let upsertSQL = """
        INSERT INTO person (employee_id, given_name, family_name, email, department, title, manager_id,
                            status, hire_date, termination_date, lifecycle, updated_run,
                            display_name, employee_type, location, lifecycle_since, source, missing_since)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(employee_id) DO UPDATE SET
            given_name = excluded.given_name, family_name = excluded.family_name, email = excluded.email,
            display_name = excluded.display_name, employee_type = excluded.employee_type, location = excluded.location,
            department = excluded.department, title = excluded.title, manager_id = excluded.manager_id,
            status = excluded.status, hire_date = excluded.hire_date, termination_date = excluded.termination_date,
            lifecycle = excluded.lifecycle, lifecycle_since = excluded.lifecycle_since, updated_run = excluded.updated_run,
            source = excluded.source, missing_since = excluded.missing_since
        """

    /// Binds `upsertSQL`'s values in order and runs it.
    static func write(_ person: StoredPerson, run: Int64, into row: inout RowWriter) throws {
        let a = person.attributes
        for text in [person.employeeID, a.givenName, a.familyName, a.email, a.department, a.title, a.managerID,
                     a.status.rawValue, a.hireDate?.description, a.terminationDate?.description, person.lifecycle.rawValue] {
            row.text(text)
        }
        row.int(run)
        for text in [a.displayName, a.employeeType, a.location, person.lifecycleSince?.description, person.source, person.missingSince?.description] {
            row.text(text)
        }
        try row.step()
    }

    /// The columns `decode` reads, in the order it reads them by position (name lookups per row
    /// were a third of loading 100 k persons).
    static let selectSQL = """
        SELECT employee_id, given_name, family_name, email, department, title, manager_id,
               status, hire_date, termination_date, lifecycle, display_name, employee_type, location, lifecycle_since,
               source, missing_since FROM person
        """

    /// Decodes a row of `selectSQL`.
    static func decode(_ row: Row) throws -> StoredPerson {
        let id: String = row[0]
        func day(_ index: Int, _ column: String) throws -> Day? {
            guard let text: String = row[index] else { return nil }
            guard let day = Day(iso: text) else { throw StoreError(path: "person \(id)", reason: "\(column) \"\(text)\" is not a date") }
            return day
        }
        guard let status = EmploymentStatus(rawValue: row[7]),
              let lifecycle = LifecycleState(rawValue: row[10]) else {
            throw StoreError(path: "person \(id)", reason: "unknown status or lifecycle value")
        }
        let attributes = PersonAttributes(
            givenName: row[1], familyName: row[2], displayName: row[11], email: row[3],
            department: row[4], title: row[5], managerID: row[6], employeeType: row[12], location: row[13],
            status: status, hireDate: try day(8, "hire_date"), terminationDate: try day(9, "termination_date"))
        return StoredPerson(employeeID: id, attributes: attributes, lifecycle: lifecycle, lifecycleSince: try day(14, "lifecycle_since"),
                            source: row[15], missingSince: try day(16, "missing_since"))
    }

    /// The same object as `json`, written straight as canonical JSON (keys in order).
    static func write(_ person: StoredPerson, into out: inout CanonicalJSON.Writer) {
        let a = person.attributes
        out.beginObject()
        out.field("department", a.department)
        out.field("display_name", a.displayName)
        out.field("email", a.email)
        out.field("employee_type", a.employeeType)
        out.field("family_name", a.familyName)
        out.field("given_name", a.givenName)
        out.field("hire_date", a.hireDate?.description)
        out.field("lifecycle", person.lifecycle.rawValue)
        out.field("lifecycle_since", person.lifecycleSince?.description)
        out.field("location", a.location)
        out.field("manager_id", a.managerID)
        out.field("missing_since", person.missingSince?.description)
        out.field("source", person.source)
        out.field("status", a.status.rawValue)
        out.field("termination_date", a.terminationDate?.description)
        out.field("title", a.title)
        out.endObject()
    }

    /// The person as JSON for the audit log.
    static func json(_ person: StoredPerson) -> JSONValue {
        let a = person.attributes
        return .object([
            "lifecycle": .string(person.lifecycle.rawValue), "lifecycle_since": JSONValue(person.lifecycleSince?.description),
            "given_name": JSONValue(a.givenName), "family_name": JSONValue(a.familyName), "display_name": JSONValue(a.displayName),
            "email": JSONValue(a.email), "department": JSONValue(a.department), "title": JSONValue(a.title),
            "manager_id": JSONValue(a.managerID), "employee_type": JSONValue(a.employeeType), "location": JSONValue(a.location),
            "status": .string(a.status.rawValue), "hire_date": JSONValue(a.hireDate?.description),
            "termination_date": JSONValue(a.terminationDate?.description),
            "source": JSONValue(person.source), "missing_since": JSONValue(person.missingSince?.description),
        ])
    }
}

/// A JSON array of optional strings in one column (further correlation values, dispute anchors).
enum CorrelationMore {
    static func text(_ values: [String?]) -> String? {
        values.isEmpty ? nil : CanonicalJSON.text(.array(values.map { JSONValue($0) }))
    }

    static func values(_ text: String?) -> [String?] {
        guard let text, let data = text.data(using: .utf8),
              case .array(let items)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return [] }
        return items.map { if case .string(let value) = $0 { value } else { nil } }
    }
}
