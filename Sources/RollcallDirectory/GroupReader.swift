import Foundation
import RollcallCore
import Synchronization

/// Groups and memberships: direct members (with AD range retrieval for large groups), and AD's
/// own transitive expansion (LDAP_MATCHING_RULE_IN_CHAIN). Nested expansion for servers without it
/// is `GroupExpansion` in Core.
extension LDAPConnection {
    /// Every group under `baseDN` matching `filter`, with all direct members of `memberAttribute`.
    public func readGroups(baseDN: String, filter: String, anchorAttribute: String,
                           memberAttribute: String = "member", pageSize: Int = 500) async throws -> [DirectoryGroup] {
        let request = SearchRequest(baseDN: baseDN, filter: filter, attributes: [anchorAttribute, memberAttribute], pageSize: pageSize)
        let entries = Mutex<[LDAPEntry]>([])
        try await pagedSearch(request) { page in entries.withLock { $0.append(contentsOf: page) } }
        var groups: [DirectoryGroup] = []
        let ranged = memberAttribute.lowercased() + ";range="
        for entry in entries.withLock({ $0 }) {
            guard let anchor = AccountMapping.text(entry, anchorAttribute)?.first else {
                throw LDAPError(step: .decode, code: 0, place: entry.dn, detail: "the group has no \(anchorAttribute)")
            }
            var members: [[UInt8]]
            if entry.attributes.contains(where: { $0.name.lowercased().hasPrefix(ranged) }) {
                // Active Directory sent only the first range: read the rest.
                members = try await allValues(of: memberAttribute, in: entry.dn)
            } else {
                members = entry.values(memberAttribute) ?? []
            }
            groups.append(DirectoryGroup(anchor: anchor, dn: entry.dn, members: members.map { String(decoding: $0, as: UTF8.self) }))
        }
        return groups
    }

    /// Active Directory: the DNs of objects under `baseDN` matching `filter` that are members of
    /// `groupDN` directly or through nested groups, computed by the DC (1.2.840.113556.1.4.1941).
    public func transitiveMembers(of groupDN: String, baseDN: String, filter: String = "(objectClass=user)") async throws -> [String] {
        let inChain = "(memberOf:1.2.840.113556.1.4.1941:=\(LDAPEscaping.filterValue(groupDN)))"
        let request = SearchRequest(baseDN: baseDN, filter: "(&\(filter)\(inChain))", attributes: ["1.1"],
                                    controls: [SearchRequest.domainScope])
        let found = Mutex<[String]>([])
        try await pagedSearch(request) { page in found.withLock { $0.append(contentsOf: page.map(\.dn)) } }
        return found.withLock { $0 }
    }
}
