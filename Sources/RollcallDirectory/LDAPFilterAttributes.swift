/// The attribute types an LDAP filter (RFC 4515) tests, in order of appearance, each once.
///
/// Active Directory's DirSync reports an object only when a requested attribute changed, and
/// Samba evaluates a DirSync filter on the requested attributes only: a delta must ask for what its
/// filter tests.
public enum LDAPFilterAttributes {
    public static func names(in filter: String) -> [String] {
        var names: [String] = []
        var seen = Set<String>()
        let bytes = Array(filter.utf8)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "(") else { index += 1; continue }
            index += 1
            // An item: attribute, then =, ~=, >=, <= or :… (extensible match); &, |, ! are not items.
            var name: [UInt8] = []
            while index < bytes.count, isAttributeByte(bytes[index]) {
                name.append(bytes[index])
                index += 1
            }
            guard !name.isEmpty, index < bytes.count,
                  [UInt8(ascii: "="), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "<"), UInt8(ascii: ":")].contains(bytes[index]) else { continue }
            let text = String(decoding: name, as: UTF8.self)
            if seen.insert(text.lowercased()).inserted { names.append(text) }
        }
        return names
    }

    private static func isAttributeByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: ";")
    }
}
