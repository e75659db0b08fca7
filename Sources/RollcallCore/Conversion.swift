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

/// When a new HR id may continue a stored person (`hr.conversion_key` and its safeguards).
public struct ConversionPolicy: Sendable, Hashable {
    /// The person value that identifies one worker across HR ids.
    public var key: CorrelationKey
    /// Only a person gone from HR, or terminated there, at most this many days ago is continued:
    /// a recycled address years later is a new person.
    public var windowDays: Int
    /// Attributes that must agree as well (compared case-insensitively); otherwise the pair is
    /// only proposed (`correlation.proposed`) until an operator decides (`rollcall link --converts`).
    public var confirm: [PersonAttribute]

    public init(key: CorrelationKey, windowDays: Int = 30, confirm: [PersonAttribute] = [.familyName]) {
        self.key = key
        self.windowDays = max(0, windowDays)
        self.confirm = confirm
    }
}

/// An operator's decision about a proposed conversion: the new id continues the former person
/// (`convert`), or is a different person (`separate`). Kept for the new id.
public struct ConversionDecision: Sendable, Hashable, Codable {
    public var employeeID: String
    public var formerID: String
    public var convert: Bool

    public init(employeeID: String, formerID: String, convert: Bool) {
        self.employeeID = employeeID
        self.formerID = formerID
        self.convert = convert
    }
}

/// A new id that looks like a conversion the safeguards do not confirm: held back (no joiner)
/// until an operator decides.
struct ConversionProposal: Sendable, Hashable {
    var employeeID: String
    var formerID: String
    /// The confirming attributes that differ (or are missing), by name.
    var disagreeing: [String]
}

public enum Conversion {
    /// The directory name under which a conversion proposal is remembered in the proposals (no
    /// configured directory can have it: names are letters, digits, dots, dashes, underscores).
    static let proposalDirectory = "@conversion"

    /// Pairs (old id → new id) found in this read, in the order of the records (the sources'
    /// precedence), and the pairs only proposed. An old person claimed by several new ids, or a key
    /// shared by several old persons, converts nothing (the new ids are then simply new persons).
    static func find(records: [HRRecord], state: StoredState, policy conversion: ConversionPolicy, lifecycle policy: LifecyclePolicy,
                     today: Day) -> (renames: [PersonRename], proposals: [ConversionProposal]) {
        // Only a new, not terminated id can be a conversion: a quiet run stops here.
        guard !state.persons.isEmpty,
              records.contains(where: { state.persons[$0.employeeID] == nil && state.formerIDs[$0.employeeID] == nil
                                        && !policy.isTerminated($0.attributes, on: today) }) else { return ([], []) }
        var inRead: [String: HRRecord] = [:]
        inRead.reserveCapacity(records.count)
        for record in records { inRead[record.employeeID] = record }
        let key = conversion.key
        // Old persons who may have moved on: stored, announced, not deprovisioned, and gone from
        // HR or terminated there within the window.
        var oldByKey: [String: String] = [:]
        var sharedKeys = Set<String>()
        for (id, person) in state.persons where person.lifecycle != .pending && person.lifecycle != .deprovisioned {
            let gone: Day
            if let record = inRead[id] {
                guard policy.isTerminated(record.attributes, on: today) else { continue }
                gone = record.attributes.firstDayGone(policy.terminationDateIs).map { min($0, today) }
                    ?? (person.lifecycle.isEnded ? person.lifecycleSince : nil) ?? today
            } else {
                gone = (person.lifecycle.isEnded ? person.lifecycleSince : person.missingSince) ?? today
            }
            guard gone.adding(days: conversion.windowDays) >= today || state.conversionDecisions.values.contains(where: { $0.formerID == id && $0.convert }) else { continue }
            let record = HRRecord(employeeID: id, attributes: person.attributes, origin: SourceLocation(source: "store", line: 0))
            guard let value = key.value(of: record) else { continue }
            if oldByKey.updateValue(id, forKey: value) != nil { sharedKeys.insert(value) }
        }
        guard !oldByKey.isEmpty else { return ([], []) }
        var claims: [String: [String]] = [:]
        for record in records where state.persons[record.employeeID] == nil && !policy.isTerminated(record.attributes, on: today) {
            guard let value = key.value(of: record), !sharedKeys.contains(value), let old = oldByKey[value] else { continue }
            claims[old, default: []].append(record.employeeID)
        }
        var renames: [PersonRename] = []
        var proposals: [ConversionProposal] = []
        for record in records {
            guard let value = key.value(of: record), let old = oldByKey[value], let claimants = claims[old],
                  claimants == [record.employeeID], let former = state.persons[old] else { continue }
            if let decision = state.conversionDecisions[record.employeeID], decision.formerID == old {
                if decision.convert { renames.append(PersonRename(from: old, to: record.employeeID)) }
                continue
            }
            let disagreeing = conversion.confirm.filter { attribute in
                guard let a = attribute.value(of: former.attributes)?.trimmingASCIIWhitespace().lowercased(), !a.isEmpty,
                      let b = attribute.value(of: record.attributes)?.trimmingASCIIWhitespace().lowercased() else { return true }
                return a != b
            }
            if disagreeing.isEmpty {
                renames.append(PersonRename(from: old, to: record.employeeID))
            } else {
                proposals.append(ConversionProposal(employeeID: record.employeeID, formerID: old, disagreeing: disagreeing.map(\.rawValue)))
            }
        }
        return (renames, proposals)
    }

    /// `correlation.proposed` once per proposed pair (remembered as a proposal of the reserved
    /// directory); a proposal no longer made is forgotten.
    static func announce(_ proposals: [ConversionProposal], state: StoredState, plan: inout Plan) {
        var current = Set<String>()
        for proposal in proposals {
            current.insert(proposal.employeeID)
            guard state.proposals[proposal.employeeID]?[proposalDirectory] != proposal.formerID else { continue }
            plan.proposalUpserts.append(LinkProposal(employeeID: proposal.employeeID, directory: proposalDirectory, anchor: proposal.formerID))
            plan.events.append(EventDraft(kind: .proposed, subject: proposal.employeeID, data: .object([
                "hr_id": .string(proposal.employeeID),
                "previous_hr_id": .string(proposal.formerID),
                "kind": .string("conversion"),
                "disagreeing": .array(proposal.disagreeing.map(JSONValue.string)),
                "confirm": .string("rollcall link \(proposal.employeeID) --converts \(proposal.formerID)"),
                "decline": .string("rollcall link \(proposal.employeeID) --separate-from \(proposal.formerID)"),
            ])))
            plan.summary.proposed += 1
        }
        for (id, byDirectory) in state.proposals where !current.contains(id) {
            if let former = byDirectory[proposalDirectory] {
                plan.proposalRemovals.append(LinkProposal(employeeID: id, directory: proposalDirectory, anchor: former))
            }
        }
    }

    /// An operator's decision on a proposed conversion (`rollcall link NEW --converts OLD` or
    /// `--separate-from OLD`), applied by the next reconcile.
    public static func decide(employeeID: String, formerID: String, convert: Bool, state: StoredState) throws(ReconcileRefusal) -> Plan {
        guard state.persons[employeeID] == nil else {
            throw ReconcileRefusal("\(employeeID) is already a stored person; only a new HR id can continue a former person")
        }
        guard let former = state.persons[formerID] else {
            throw ReconcileRefusal("no person \(formerID) is stored")
        }
        if convert && former.lifecycle == .deprovisioned {
            throw ReconcileRefusal("\(formerID) is deprovisioned: their accounts are to be deleted, a new id cannot continue them")
        }
        var plan = Plan()
        plan.conversionDecisions = [ConversionDecision(employeeID: employeeID, formerID: formerID, convert: convert)]
        return plan
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
        for (key, membership) in next.memberships {
            if let id = membership.employeeID, let to = map[id] { next.memberships[key]?.employeeID = to }
        }
        return next
    }
}
