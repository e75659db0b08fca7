import Foundation
import Synchronization

/// Where a uSNChanged delta continues from. uSNChanged values are per domain controller: a delta
/// is only valid against the same DC (dsServiceName) with the same database (invocationId).
public struct USNCheckpoint: Sendable, Codable, Hashable {
    public var highestCommittedUSN: Int64
    public var dsServiceName: String
    public var invocationID: String

    public init(highestCommittedUSN: Int64, dsServiceName: String, invocationID: String) {
        self.highestCommittedUSN = highestCommittedUSN
        self.dsServiceName = dsServiceName
        self.invocationID = invocationID
    }
}

/// What changed between two checkpoints.
public struct USNDeltaRead: Sendable {
    /// Objects under the base that match the filter and changed in the window.
    public var changed: [LDAPEntry]
    /// objectGUIDs that left the base in the window: deleted (tombstones) or moved elsewhere. May
    /// also name objects that were never under the base (anything matching the filter that changed
    /// elsewhere); callers act only on the ones they hold.
    public var gone: Set<String>
    public var checkpoint: USNCheckpoint
}

public enum USNOutcome: Sendable {
    case delta(USNDeltaRead)
    /// The window cannot be trusted (another DC, a restored database): read everything.
    case fullRequired(reason: String, checkpoint: USNCheckpoint)
}

/// Active Directory deltas without the replication right: objects whose uSNChanged lies between
/// the last checkpoint and rootDSE's highestCommittedUSN read before the search (so nothing
/// committed during the read is skipped next time), objects that moved out of the base, and
/// tombstones through the Show Deleted control where the account may see them.
extension LDAPConnection {
    /// The DC's current position: rootDSE highestCommittedUSN and dsServiceName, and the
    /// invocationId of that DC's NTDS Settings object.
    public func usnCheckpoint() async throws -> USNCheckpoint {
        let root = try await single(SearchRequest(baseDN: "", scope: .base, filter: "(objectClass=*)",
                                                  attributes: ["highestCommittedUSN", "dsServiceName"]), place: "rootDSE")
        guard let usn = root.strings("highestCommittedUSN")?.first.flatMap({ Int64($0) }),
              let service = root.strings("dsServiceName")?.first else {
            throw LDAPError(step: .decode, code: -1, place: "rootDSE", detail: "no highestCommittedUSN or dsServiceName: not Active Directory?")
        }
        let settingsEntry = try await single(SearchRequest(baseDN: service, scope: .base, filter: "(objectClass=*)",
                                                           attributes: ["invocationId"]), place: service)
        let invocation = settingsEntry.values("invocationId")?.first.flatMap(ADValues.guid) ?? ""
        return USNCheckpoint(highestCommittedUSN: usn, dsServiceName: service, invocationID: invocation)
    }

    /// Changes under `request.baseDN` since `since`. `domainRoot` is where tombstones and moved
    /// objects are looked for (the naming context's root).
    public func usnDelta(_ request: SearchRequest, domainRoot: String, since: USNCheckpoint) async throws -> USNOutcome {
        let now = try await usnCheckpoint()
        if now.dsServiceName != since.dsServiceName || now.invocationID != since.invocationID {
            return .fullRequired(reason: "the domain controller changed (\(since.dsServiceName) → \(now.dsServiceName)); uSNChanged is per DC",
                                 checkpoint: now)
        }
        let window = "(uSNChanged>=\(since.highestCommittedUSN + 1))(uSNChanged<=\(now.highestCommittedUSN))"
        var changedSearch = request
        changedSearch.baseDN = domainRoot
        changedSearch.filter = "(&\(request.filter)\(window))"
        changedSearch.attributes = Array(Set(request.attributes + ["objectGUID"]))
        changedSearch.controls = Array(Set(request.controls + [SearchRequest.domainScope]))
        let base = DistinguishedName(request.baseDN)
        let changed = Mutex<[LDAPEntry]>([])
        let gone = Mutex<Set<String>>([])
        try await pagedSearch(changedSearch) { page in
            for entry in page {
                if let base, DistinguishedName(entry.dn)?.isWithin(base) == true {
                    changed.withLock { $0.append(entry) }
                } else if let guid = entry.values("objectGUID")?.first.flatMap(ADValues.guid) {
                    gone.withLock { _ = $0.insert(guid) }
                }
            }
        }
        // Objects that changed in the window and no longer match the filter (a changed attribute
        // the filter tests) left the scope like a move out of the base.
        let unmatched = SearchRequest(baseDN: domainRoot, filter: "(&(objectClass=user)(!\(request.filter))\(window))",
                                      attributes: ["objectGUID"], pageSize: request.pageSize,
                                      controls: Array(Set(request.controls + [SearchRequest.domainScope])))
        try await pagedSearch(unmatched) { page in
            let guids = page.compactMap { $0.values("objectGUID")?.first.flatMap(ADValues.guid) }
            gone.withLock { $0.formUnion(guids) }
        }
        // Tombstones are visible only to accounts that may list CN=Deleted Objects (by default
        // administrators): without that right deletes are left to the next full read.
        let tombstones = SearchRequest(baseDN: domainRoot, filter: "(&(isDeleted=TRUE)(lastKnownParent=*)\(window))",
                                       attributes: ["objectGUID", "lastKnownParent"], pageSize: request.pageSize,
                                       controls: [SearchRequest.showDeleted, SearchRequest.domainScope])
        try await pagedSearch(tombstones) { page in
            let guids = page.compactMap { $0.values("objectGUID")?.first.flatMap(ADValues.guid) }
            gone.withLock { $0.formUnion(guids) }
        }
        return .delta(USNDeltaRead(changed: changed.withLock { $0 }, gone: gone.withLock { $0 }, checkpoint: now))
    }

    private func single(_ request: SearchRequest, place: String) async throws -> LDAPEntry {
        guard let entry = try await firstEntry(request) else {
            throw LDAPError(step: .search, code: 32, place: place, detail: "not found")
        }
        return entry
    }
}
