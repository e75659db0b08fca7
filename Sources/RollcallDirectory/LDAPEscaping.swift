/// Escaping for values that come from outside (HR data, operators) and go into LDAP strings.
///
/// Every such value goes through here: an employee id of `*)(uid=*` must match that literal text,
/// not every entry.
public enum LDAPEscaping {
    /// An assertion value for a search filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
    /// become `\2a`, `\28`, `\29`, `\5c` and `\00`. Everything else, UTF-8 included, is kept.
    public static func filterValue(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*": out += "\\2a"
            case "(": out += "\\28"
            case ")": out += "\\29"
            case "\\": out += "\\5c"
            case "\u{0}": out += "\\00"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// An equality filter `(attribute=value)` with the value escaped. The attribute name must be a
    /// plain attribute description (letters, digits, `-`, `;` options, or an OID).
    public static func equalityFilter(attribute: String, value: String) throws -> String {
        guard isAttributeDescription(attribute) else {
            throw LDAPError(step: .search, code: 87, place: attribute, detail: "not an attribute name")
        }
        return "(\(attribute)=\(filterValue(value)))"
    }

    /// An attribute value inside a DN (RFC 4514 section 2.4): `"`, `+`, `,`, `;`, `<`, `>`, `\`
    /// anywhere, `#` or a space at the start and a space at the end are backslash-escaped; control
    /// characters become hex pairs (`\00`, `\09`): libldap and slapd trim a leading or trailing
    /// tab, CR or LF from an unescaped value, so it would name another entry (found by fuzzing).
    public static func dnValue(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "\"", "+", ",", ";", "<", ">", "\\":
                out += "\\"
                out.unicodeScalars.append(scalar)
            case "#" where index == 0, " " where index == 0 || index == scalars.count - 1:
                out += "\\"
                out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += "\\" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 0xf, radix: 16)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isAttributeDescription(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII,
              first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ";" || $0 == ".") }
    }
}
