/// Builds the `data` of identity and account events, so every event type carries the same shape:
/// `hr_id`, the person's HR attributes, the person's `accounts` (one per directory, by directory
/// name), and for movers and updates the `changes`.
struct EventPayload {
    let record: HRRecord
    /// The person's accounts after this run, ordered by directory name.
    let accounts: [(directory: String, account: DirectoryAccount)]
    let lifecycle: LifecycleState

    func json(changes: [AttributeChange] = [], linked: (directory: String, account: DirectoryAccount)? = nil,
              rule: String? = nil, previousAnchor: String? = nil, previousID: String? = nil) -> JSONValue {
        let a = record.attributes
        var fields: [String: JSONValue] = [
            "hr_id": .string(record.employeeID),
            "lifecycle": .string(lifecycle.rawValue),
            "accounts": .array(accounts.map { EventPayload.accountRef($0.directory, $0.account.anchor, $0.account.dn) }),
            "person": .object([
                "given_name": JSONValue(a.givenName),
                "family_name": JSONValue(a.familyName),
                "display_name": JSONValue(a.displayName),
                "email": JSONValue(a.email),
                "department": JSONValue(a.department),
                "title": JSONValue(a.title),
                "manager_id": JSONValue(a.managerID),
                "employee_type": JSONValue(a.employeeType),
                "location": JSONValue(a.location),
                "status": .string(a.status.rawValue),
                "hire_date": JSONValue(a.hireDate?.description),
                "termination_date": JSONValue(a.terminationDate?.description),
            ]),
        ]
        if !changes.isEmpty { fields["changes"] = .array(changes.map(\.json)) }
        if let linked { fields["account"] = EventPayload.accountRef(linked.directory, linked.account.anchor, linked.account.dn) }
        if let rule { fields["matched_by"] = .string(rule) }
        if let previousAnchor { fields["previous_anchor"] = .string(previousAnchor) }
        if let previousID { fields["previous_hr_id"] = .string(previousID) }
        return .object(fields)
    }

    /// The same data as `json(...)` (with `tombstone` as the deprovision adds it), written
    /// straight as canonical JSON: no `JSONValue` tree per event. Keys in canonical order.
    func draft(_ kind: EventKind, changes: [AttributeChange] = [], linked: (directory: String, account: DirectoryAccount)? = nil,
               rule: String? = nil, previousAnchor: String? = nil, previousID: String? = nil, tombstone: String? = nil) -> EventDraft {
        var out = CanonicalJSON.Writer(capacity: 640)
        out.beginObject()
        if let linked {
            out.key("account")
            EventPayload.writeAccountRef(linked.directory, linked.account.anchor, linked.account.dn, into: &out)
        }
        out.key("accounts")
        out.beginArray()
        for (directory, account) in accounts { EventPayload.writeAccountRef(directory, account.anchor, account.dn, into: &out) }
        out.endArray()
        if !changes.isEmpty {
            out.key("changes")
            out.beginArray()
            for change in changes {
                out.beginObject()
                out.field("after", change.after)
                out.field("attribute", change.attribute)
                out.field("before", change.before)
                out.endObject()
            }
            out.endArray()
        }
        out.field("hr_id", record.employeeID)
        out.field("lifecycle", lifecycle.rawValue)
        if let rule { out.field("matched_by", rule) }
        out.key("person")
        out.person(record.attributes)
        if let previousAnchor { out.field("previous_anchor", previousAnchor) }
        if let previousID { out.field("previous_hr_id", previousID) }
        if let tombstone { out.field("tombstone", tombstone) }
        out.endObject()
        return EventDraft(kind: kind, subject: record.employeeID, canonicalData: out.text, hrID: record.employeeID)
    }

    private static func writeAccountRef(_ directory: String, _ anchor: String, _ dn: String, into out: inout CanonicalJSON.Writer) {
        out.beginObject()
        out.field("anchor", anchor)
        out.field("directory", directory)
        out.field("dn", dn)
        out.endObject()
    }

    static func accountRef(_ directory: String, _ anchor: String, _ dn: String) -> JSONValue {
        .object(["directory": .string(directory), "anchor": .string(anchor), "dn": .string(dn)])
    }

    static func account(directory: String, anchor: String, dn: String, correlationValue: String?, employeeID: String?) -> JSONValue {
        .object([
            "hr_id": JSONValue(employeeID),
            "directory": .string(directory),
            "anchor": .string(anchor),
            "dn": .string(dn),
            "correlation_value": JSONValue(correlationValue),
        ])
    }
}

/// Which HR-owned attributes changed between two snapshots, split into job attributes (a mover)
/// and record attributes: names, e-mail and dates (an update).
enum AttributeDiff {
    static func changes(from old: PersonAttributes, to new: PersonAttributes) -> (job: [AttributeChange], record: [AttributeChange]) {
        func diff(_ pairs: [(String, String?, String?)]) -> [AttributeChange] {
            pairs.compactMap { name, before, after in
                before == after ? nil : AttributeChange(attribute: name, before: before, after: after)
            }
        }
        let job = diff([
            ("department", old.department, new.department),
            ("title", old.title, new.title),
            ("manager_id", old.managerID, new.managerID),
            ("employee_type", old.employeeType, new.employeeType),
            ("location", old.location, new.location),
        ])
        let record = diff([
            ("given_name", old.givenName, new.givenName),
            ("family_name", old.familyName, new.familyName),
            ("display_name", old.displayName, new.displayName),
            ("email", old.email, new.email),
            ("hire_date", old.hireDate?.description, new.hireDate?.description),
            ("termination_date", old.terminationDate?.description, new.terminationDate?.description),
        ])
        return (job, record)
    }
}

extension CanonicalJSON.Writer {
    /// A person's HR attributes as an object: the `person` of identity events, and what person
    /// history keeps of each version. Keys in canonical order.
    public mutating func person(_ a: PersonAttributes) {
        beginObject()
        field("department", a.department)
        field("display_name", a.displayName)
        field("email", a.email)
        field("employee_type", a.employeeType)
        field("family_name", a.familyName)
        field("given_name", a.givenName)
        field("hire_date", a.hireDate?.description)
        field("location", a.location)
        field("manager_id", a.managerID)
        field("status", a.status.rawValue)
        field("termination_date", a.terminationDate?.description)
        field("title", a.title)
        endObject()
    }
}
