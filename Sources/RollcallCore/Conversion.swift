/// A worker who moves to another HR id (a contractor hired as an employee, a transfer between HR
/// systems): the old id is gone from HR or terminated there, the new id is new, and a configured
/// key (e.g. the e-mail address) is the same. The identity continues under the new id, with its
/// links, lifecycle and history: an `identity.converted`, not a leaver and a joiner.
public struct PersonRename: Sendable, Hashable, Codable {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

enum Conversion {
    /// Pairs (old id → new id) found in this read, in the order of the records (the sources'
    /// precedence). An old person claimed by several new ids, or a key shared by several old
    /// persons, converts nothing (the new ids are then simply new persons).
    static func find(records: [HRRecord], state: StoredState, key: CorrelationKey, today: Day) -> [PersonRename] {
        // Only a new, not terminated id can be a conversion: a quiet run stops here.
        guard !state.persons.isEmpty,
              records.contains(where: { state.persons[$0.employeeID] == nil && state.formerIDs[$0.employeeID] == nil
                                        && !$0.attributes.isTerminated(on: today) }) else { return [] }
        var inRead: [String: HRRecord] = [:]
        inRead.reserveCapacity(records.count)
        for record in records { inRead[record.employeeID] = record }
        // Old persons who may have moved on: stored, announced, and gone from HR or terminated there.
        var oldByKey: [String: String] = [:]
        var sharedKeys = Set<String>()
        for (id, person) in state.persons where person.lifecycle != .pending {
            if let record = inRead[id], !record.attributes.isTerminated(on: today) { continue }
            let record = HRRecord(employeeID: id, attributes: person.attributes, origin: SourceLocation(source: "store", line: 0))
            guard let value = key.value(of: record) else { continue }
            if oldByKey.updateValue(id, forKey: value) != nil { sharedKeys.insert(value) }
        }
        guard !oldByKey.isEmpty else { return [] }
        var claims: [String: [String]] = [:]
        for record in records where state.persons[record.employeeID] == nil && !record.attributes.isTerminated(on: today) {
            guard let value = key.value(of: record), !sharedKeys.contains(value), let old = oldByKey[value] else { continue }
            claims[old, default: []].append(record.employeeID)
        }
        return records.compactMap { record -> PersonRename? in
            guard let value = key.value(of: record), let old = oldByKey[value], let claimants = claims[old],
                  claimants == [record.employeeID] else { return nil }
            return PersonRename(from: old, to: record.employeeID)
        }
    }
}

extension StoredState {
    /// The state with each renamed person, their links and disputes under the new id.
    func renaming(_ renames: [PersonRename]) -> StoredState {
        guard !renames.isEmpty else { return self }
        var next = self
        let map = Dictionary(uniqueKeysWithValues: renames.map { ($0.from, $0.to) })
        for rename in renames {
            if var person = next.persons.removeValue(forKey: rename.from) {
                person.employeeID = rename.to
                next.persons[rename.to] = person
            }
            if let disputes = next.disputes.removeValue(forKey: rename.from) { next.disputes[rename.to] = disputes }
            if let proposals = next.proposals.removeValue(forKey: rename.from) { next.proposals[rename.to] = proposals }
            if var hold = next.holds.removeValue(forKey: rename.from) {
                hold.employeeID = rename.to
                next.holds[rename.to] = hold
            }
            if let notices = next.entitlementNotices.removeValue(forKey: rename.from) { next.entitlementNotices[rename.to] = notices }
            if let notices = next.violationNotices.removeValue(forKey: rename.from) { next.violationNotices[rename.to] = notices }
            if let notices = next.driftNotices.removeValue(forKey: rename.from) { next.driftNotices[rename.to] = notices }
        }
        for rename in renames {
            for (former, current) in next.formerIDs where current == rename.from { next.formerIDs[former] = rename.to }
            next.formerIDs[rename.from] = rename.to
        }
        next.links = next.links.map { link in
            guard let to = map[link.employeeID] else { return link }
            return Link(employeeID: to, directory: link.directory, anchor: link.anchor)
        }
        return next
    }
}
