import Foundation
import Logging
import RollcallCore

/// Active Directory deltas for runs: DirSync (needs "Replicating Directory Changes") or uSNChanged
/// (needs only read rights; deletes only where tombstones are visible). Both only say what to
/// re-read; the accounts come back complete.
extension DirectoryReader {
    /// A full read that also yields a DirSync cookie: DirSync without a cookie from the naming
    /// context's root returns every matching object; those under the base are the accounts.
    public func dirSyncFull(domainRoot: String, logger: Logger) async throws -> (accounts: [DirectoryAccount], cookie: [UInt8]) {
        try await retry.run(logger: logger, what: "DirSync full read") {
            let connection = try await LDAPConnection.connect(settings)
            // The filter is evaluated on the attributes asked for (Samba), so ask for its attributes too.
            let attributes = Self.union(request.attributes, LDAPFilterAttributes.names(in: request.filter))
            let result = try await connection.dirSync(baseDN: domainRoot, filter: request.filter, attributes: attributes, cookie: nil)
            await connection.close()
            let accounts = try result.entries.filter { isUnderBase($0.dn) && !isDeleted($0) }.map { try mapping.account(from: $0) }
            logger.info("DirSync full read complete", metadata: ["ldap.entries": "\(accounts.count)"])
            return (accounts, result.cookie)
        }
    }

    /// Changes since a DirSync cookie. Changed objects are re-read whole by GUID with the
    /// configured filter; deleted ones, ones now outside the base and ones that stopped matching
    /// the filter are gone.
    ///
    /// Whatever the configured filter, deletes are seen: a tombstone keeps only a few attributes
    /// (no objectCategory, no department), so DirSync is asked for `(|(FILTER)(isDeleted=TRUE)
    /// (objectClass=user))`: tombstones by their isDeleted, and users that stopped matching (a
    /// changed attribute the filter tests, which is watched) by their class. The filter itself is
    /// applied to live objects only, by the re-read.
    public func dirSyncDelta(domainRoot: String, cookie: [UInt8],
                             logger: Logger) async throws -> (changed: [DirectoryAccount], gone: Set<String>, cookie: [UInt8]) {
        try await retry.run(logger: logger, what: "DirSync delta") {
            let connection = try await LDAPConnection.connect(settings)
            // DirSync reports an object only when one of the requested attributes changed: ask for
            // every mapped attribute and every attribute the filter tests, plus what changes on a
            // move (name) or a delete (isDeleted).
            let watched = Self.union(request.attributes + ["objectGUID", "isDeleted", "name", "distinguishedName", "objectClass"],
                                     LDAPFilterAttributes.names(in: request.filter))
            let broadened = "(|\(request.filter)(isDeleted=TRUE)(objectClass=user))"
            let result = try await connection.dirSync(baseDN: domainRoot, filter: broadened, attributes: watched, cookie: cookie)
            var changed: [DirectoryAccount] = []
            var gone = Set<String>()
            for entry in result.entries {
                guard let guid = entry.values("objectGUID")?.first.flatMap(ADValues.guid) else { continue }
                if isDeleted(entry) {
                    gone.insert(guid)
                    continue
                }
                if let current = try await reread(guid: guid, connection: connection), isUnderBase(current.dn) {
                    changed.append(try mapping.account(from: current))
                } else {
                    gone.insert(guid)
                }
            }
            await connection.close()
            logger.info("DirSync delta complete", metadata: ["ldap.changed": "\(changed.count)", "ldap.gone": "\(gone.count)"])
            return (changed, gone, result.cookie)
        }
    }

    /// Changes since a uSNChanged checkpoint, or nil when the DC changed and a full read is needed.
    public func usnDelta(domainRoot: String, since: USNCheckpoint,
                         logger: Logger) async throws -> (changed: [DirectoryAccount], gone: Set<String>, checkpoint: USNCheckpoint)? {
        try await retry.run(logger: logger, what: "uSNChanged delta") {
            let connection = try await LDAPConnection.connect(settings)
            let outcome = try await connection.usnDelta(request, domainRoot: domainRoot, since: since)
            await connection.close()
            switch outcome {
            case .fullRequired(let reason, _):
                logger.notice("uSNChanged delta not usable: full read instead", metadata: ["ldap.reason": "\(reason)"])
                return nil
            case .delta(let read):
                let changed = try read.changed.map { try mapping.account(from: $0) }
                return (changed, read.gone, read.checkpoint)
            }
        }
    }

    /// The DC's current uSNChanged checkpoint, taken before a full read so nothing committed
    /// during the read is missed by the next delta.
    public func usnCheckpoint(logger: Logger) async throws -> USNCheckpoint {
        try await retry.run(logger: logger, what: "rootDSE read") {
            let connection = try await LDAPConnection.connect(settings)
            let checkpoint = try await connection.usnCheckpoint()
            await connection.close()
            return checkpoint
        }
    }

    static func union(_ first: [String], _ second: [String]) -> [String] {
        var seen = Set<String>()
        return (first + second).filter { seen.insert($0.lowercased()).inserted }
    }

    /// Compared as DNs (RFC 4514), not as strings: a base written `OU=Staff, DC=corp` or in
    /// another case is the same base.
    func isUnderBase(_ dn: String) -> Bool {
        DistinguishedName.isWithin(dn, base: request.baseDN)
    }

    private func isDeleted(_ entry: LDAPEntry) -> Bool {
        entry.strings("isDeleted")?.first?.uppercased() == "TRUE"
    }

    private func reread(guid: String, connection: LDAPConnection) async throws -> LDAPEntry? {
        var byGUID = request
        byGUID.baseDN = "<GUID=\(guid)>"
        byGUID.scope = .base
        return try await connection.firstEntry(byGUID)
    }
}
