import Foundation

/// Active Directory's ranged retrieval of large multi-valued attributes (MS-ADTS 3.1.1.3.1.3.3):
/// AD returns at most MaxValRange values (1500 by default) as `member;range=0-1499`, and the rest
/// must be asked for range by range until a range ends in `*`.
extension LDAPConnection {
    /// Every value of `attribute` on the entry `dn`, however many ranges that takes.
    public func allValues(of attribute: String, in dn: String) async throws -> [[UInt8]] {
        var values: [[UInt8]] = []
        var start = 0
        var rounds = 0
        while true {
            rounds += 1
            guard rounds <= 100_000 else {
                throw LDAPError(step: .search, code: -1, place: dn, detail: "range retrieval of \(attribute) does not end")
            }
            let request = SearchRequest(baseDN: dn, scope: .base, filter: "(objectClass=*)",
                                        attributes: ["\(attribute);range=\(start)-*"], pageSize: 1)
            guard let entry = try await firstEntry(request) else {
                throw LDAPError(step: .search, code: 32, place: dn, detail: "the entry was not found while reading \(attribute)")
            }
            let prefix = attribute.lowercased() + ";range="
            if let ranged = entry.attributes.first(where: { $0.name.lowercased().hasPrefix(prefix) }) {
                values.append(contentsOf: ranged.values)
                let bounds = ranged.name.dropFirst(prefix.count).split(separator: "-")
                guard bounds.count == 2 else {
                    throw LDAPError(step: .decode, code: -1, place: dn, detail: "unreadable range \(ranged.name)")
                }
                if bounds[1] == "*" { return values }
                guard let high = Int(bounds[1]), high >= start else {
                    throw LDAPError(step: .decode, code: -1, place: dn, detail: "unreadable range \(ranged.name)")
                }
                start = high + 1
            } else {
                // No range in the answer: the server sent every value (or there are none).
                return values + (entry.values(attribute) ?? [])
            }
        }
    }
}
