/// An LDAP distinguished name parsed per RFC 4514, for comparing two DNs as a directory does:
/// attribute types case-insensitively, values with escapes resolved (`\,`, `\2C`), spaces around
/// the separators not significant, and values compared case-insensitively with runs of spaces
/// folded to one, which is the matching rule of every naming attribute Rollcall meets (cn, ou, dc,
/// o, l, uid: caseIgnoreMatch; Active Directory's DN syntax). Multi-valued RDNs (`a=1+b=2`)
/// compare in any order. `OU=Staff, DC=corp, DC=example` and `ou=staff,dc=CORP,dc=example` are
/// the same DN.
public struct DistinguishedName: Hashable, Sendable, CustomStringConvertible {
    /// Each RDN as its normalised `type=value` parts, sorted; the leaf first.
    public let rdns: [[String]]
    /// The text it was parsed from.
    public let text: String

    /// nil when the text is not a DN (an RDN without `=`, a dangling escape, bad hex).
    public init?(_ text: String) {
        guard let rdns = DistinguishedName.parse(Array(text.utf8)) else { return nil }
        self.rdns = rdns
        self.text = text
    }

    public var description: String { text }

    /// Whether this DN is `base` or lies under it.
    public func isWithin(_ base: DistinguishedName) -> Bool {
        guard base.rdns.count <= rdns.count else { return false }
        return Array(rdns.suffix(base.rdns.count)) == base.rdns
    }

    public static func == (lhs: DistinguishedName, rhs: DistinguishedName) -> Bool { lhs.rdns == rhs.rdns }
    public func hash(into hasher: inout Hasher) { hasher.combine(rdns) }

    /// Whether `dn` is `base` or under it, both given as text; a text that is not a DN is under nothing.
    public static func isWithin(_ dn: String, base: String) -> Bool {
        guard let entry = DistinguishedName(dn), let base = DistinguishedName(base) else { return false }
        return entry.isWithin(base)
    }

    private static func parse(_ bytes: [UInt8]) -> [[String]]? {
        if bytes.allSatisfy({ $0 == UInt8(ascii: " ") }) { return [] }  // the root DSE's empty DN
        var rdns: [[String]] = []
        var rdn: [String] = []
        var index = 0
        while index <= bytes.count {
            // type
            var type: [UInt8] = []
            while index < bytes.count, bytes[index] != UInt8(ascii: "=") {
                if bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: "+") { return nil }
                type.append(bytes[index])
                index += 1
            }
            guard index < bytes.count else { return nil }  // no '='
            index += 1
            let name = String(decoding: type, as: UTF8.self).trimmingCharacters(in: " ").lowercased()
            guard !name.isEmpty else { return nil }
            // value
            var value: [UInt8] = []
            var trailingSpaces = 0  // unescaped spaces at the end are not part of the value
            var started = false
            var isHexString = false
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "+"), bytes[index] != UInt8(ascii: ";") {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count else { return nil }
                    let next = bytes[index + 1]
                    if let high = hex(next), index + 2 < bytes.count, let low = hex(bytes[index + 2]) {
                        value.append(high << 4 | low)
                        index += 3
                    } else if hex(next) != nil {
                        return nil
                    } else {
                        value.append(next)
                        index += 2
                    }
                    trailingSpaces = 0
                    started = true
                    continue
                }
                if byte == UInt8(ascii: " ") {
                    if started { value.append(byte); trailingSpaces += 1 }
                } else {
                    if !started && byte == UInt8(ascii: "#") { isHexString = true }
                    value.append(byte)
                    trailingSpaces = 0
                    started = true
                }
                index += 1
            }
            value.removeLast(trailingSpaces)
            var text = String(decoding: value, as: UTF8.self)
            if !isHexString {
                text = text.lowercased().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            } else {
                text = text.lowercased()
            }
            rdn.append(name + "=" + text)
            if index >= bytes.count || bytes[index] != UInt8(ascii: "+") {
                rdns.append(rdn.sorted())
                rdn = []
            }
            index += 1
            if index > bytes.count { break }
        }
        return rdns
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

private extension String {
    func trimmingCharacters(in character: Character) -> String {
        guard let first = firstIndex(where: { $0 != character }), let last = lastIndex(where: { $0 != character }) else { return "" }
        return String(self[first...last])
    }
}
