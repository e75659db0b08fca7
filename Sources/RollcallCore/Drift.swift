import Foundation

/// A drift already announced: the directory's value of one HR-owned attribute of one account.
public struct DriftNotice: Sendable, Hashable, Codable {
    public var employeeID: String
    public var directory: String
    public var attribute: String
    /// The directory's value ("" when it has none).
    public var actual: String

    public init(employeeID: String, directory: String, attribute: String, actual: String) {
        self.employeeID = employeeID
        self.directory = directory
        self.attribute = attribute
        self.actual = actual
    }

    var key: String { "\(directory) \(attribute)" }
}

/// HR-owned attributes against the directory's values: `identity.drift` once per distinct
/// drift (attribute, expected, actual), forgotten when the values agree again. Only persons who are
/// announced and employed, and only where the person or the account changed in this run (or a
/// drift is remembered), so a quiet run parses nothing.
enum DriftPlanner {
    struct Person {
        var record: HRRecord
        var lifecycle: LifecycleState
        var accounts: [(directory: String, account: DirectoryAccount)]
    }

    /// - Parameter persons: the candidates: persons whose record or account changed in this run,
    ///   or with a remembered drift.
    static func plan(_ persons: [Person], directories: [String: [(attribute: PersonAttribute, directoryAttribute: String)]],
                     state: StoredState, plan: inout Plan) {
        guard !persons.isEmpty else { return }
        let changedPersons = Set(plan.personUpserts.map(\.employeeID))
        let changedAccounts = Set(plan.accountUpserts.map(\.key))
        var drafts: [EventDraft] = []
        for person in persons {
            let id = person.record.employeeID
            let known = state.driftNotices[id] ?? [:]
            for (directory, account) in person.accounts {
                guard let owned = directories[directory], !owned.isEmpty else { continue }
                let remembered = known.keys.contains { $0.hasPrefix(directory + " ") }
                guard remembered || changedPersons.contains(id)
                        || changedAccounts.contains(AccountKey(directory: directory, anchor: account.anchor)) else { continue }
                let values = decode(account.attributesJSON)
                for (attribute, directoryAttribute) in owned {
                    let notice = DriftNotice(employeeID: id, directory: directory, attribute: attribute.rawValue, actual: "")
                    let expected = person.lifecycle.isEmployed ? attribute.value(of: person.record.attributes) : nil
                    let actual = values.first { $0.key.lowercased() == directoryAttribute.lowercased() }?.value.first
                    guard let expected, !same(expected, actual, attribute) else {
                        if known[notice.key] != nil { plan.driftRemovals.append(notice) }
                        continue
                    }
                    guard known[notice.key] != (actual ?? "") else { continue }
                    var remembered = notice
                    remembered.actual = actual ?? ""
                    plan.driftUpserts.append(remembered)
                    drafts.append(EventDraft(kind: .drift, subject: id, data: .object([
                        "hr_id": .string(id), "directory": .string(directory), "anchor": .string(account.anchor),
                        "dn": .string(account.dn), "attribute": .string(attribute.rawValue),
                        "directory_attribute": .string(directoryAttribute), "expected": .string(expected),
                        "actual": JSONValue(actual), "lifecycle": .string(person.lifecycle.rawValue),
                    ])))
                }
            }
        }
        plan.summary.drifts = drafts.count
        plan.events.append(contentsOf: Reconciler.sortedBySubject(drafts))
    }

    /// E-mail addresses compare case-insensitively; everything else exactly, after trimming.
    static func same(_ expected: String, _ actual: String?, _ attribute: PersonAttribute) -> Bool {
        guard let actual else { return false }
        let a = expected.trimmingASCIIWhitespace(), b = actual.trimmingASCIIWhitespace()
        return attribute == .email ? a.lowercased() == b.lowercased() : a == b
    }

    static func decode(_ json: String) -> [String: [String]] {
        CanonicalJSON.attributeMap(json) ?? (try? JSONDecoder().decode([String: [String]].self, from: Data(json.utf8))) ?? [:]
    }
}
