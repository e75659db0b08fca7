import Foundation

/// Active Directory's ranged retrieval of large multi-valued attributes (MS-ADTS 3.1.1.3.1.3.3):
/// AD returns at most MaxValRange values (1500 by default) as `member;range=0-1499`, and the rest
/// must be asked for range by range until a range ends in `*`.
extension LDAPConnection {
    /// Where the next range starts after an answer's `LOW-HIGH` (nil: `LOW-*`, the last). Whatever
    /// the server sends: a range that does not start where asked, goes backwards, or ends where
    /// one more would overflow is an error, never a trap.
    public static func nextRangeStart(_ range: Substring, after start: Int, place: String) throws -> Int? {
        let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let low = Int(bounds[0]), low == start else {
            throw LDAPError(step: .decode, code: -1, place: place, detail: "unreadable range \(range.prefix(64)) (asked from \(start))")
        }
        if bounds[1] == "*" { return nil }
        guard let high = Int(bounds[1]), high >= low, high < 1 << 40 else {
            throw LDAPError(step: .decode, code: -1, place: place, detail: "unreadable range \(range.prefix(64)) (asked from \(start))")
        }
        return high + 1
    }

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
                guard let next = try Self.nextRangeStart(ranged.name.dropFirst(prefix.count), after: start, place: dn) else { return values }
                start = next
            } else {
                // No range in the answer: the server sent every value (or there are none).
                return values + (entry.values(attribute) ?? [])
            }
        }
    }
}
