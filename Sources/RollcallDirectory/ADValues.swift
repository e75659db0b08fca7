import Foundation

/// Decoding of Active Directory's binary and numeric attribute values.
public enum ADValues {
    /// objectGUID (16 bytes) in its text form. AD stores the first three groups little-endian
    /// (Microsoft's GUID layout) and the last two as they are, so the bytes are not in text order.
    public static func guid(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        let hex = order.map { index -> String in
            let text = String(bytes[index], radix: 16)
            return bytes[index] < 16 ? "0" + text : text
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// objectSid in its text form `S-1-5-21-…`: revision, 48-bit big-endian authority, then
    /// 32-bit little-endian sub-authorities.
    public static func sid(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 8 else { return nil }
        let count = Int(bytes[1])
        guard bytes.count == 8 + 4 * count else { return nil }
        var authority: UInt64 = 0
        for byte in bytes[2..<8] { authority = authority << 8 | UInt64(byte) }
        var parts = ["S", String(bytes[0]), String(authority)]
        for index in 0..<count {
            let offset = 8 + 4 * index
            let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            parts.append(String(value))
        }
        return parts.joined(separator: "-")
    }

    /// A FILETIME (100-ns intervals since 1601-01-01 UTC), as in accountExpires, pwdLastSet and
    /// lastLogonTimestamp. 0 and 9223372036854775807 mean "never" (nil).
    public static func fileTime(_ text: String) -> Date? {
        guard let value = Int64(text.trimmingCharacters(in: .whitespaces)), value > 0, value != Int64.max else { return nil }
        let secondsFrom1601 = Double(value) / 10_000_000
        return Date(timeIntervalSince1970: secondsFrom1601 - 11_644_473_600)
    }

    /// A GeneralizedTime such as whenChanged `20261127032517.0Z`.
    public static func generalizedTime(_ text: String) -> Date? {
        let digits = text.prefix(14)
        guard digits.count == 14, digits.allSatisfy(\.isNumber), text.hasSuffix("Z") else { return nil }
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        let number = { (from: Int, length: Int) -> Int in
            Int(digits.dropFirst(from).prefix(length)) ?? 0
        }
        components.year = number(0, 4)
        components.month = number(4, 2)
        components.day = number(6, 2)
        components.hour = number(8, 2)
        components.minute = number(10, 2)
        components.second = number(12, 2)
        return Calendar(identifier: .gregorian).date(from: components)
    }
}

/// userAccountControl, decoded (MS-ADTS 2.2.16).
public struct UserAccountControl: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From the attribute's decimal text; AD may send it as a signed 32-bit number.
    public init?(text: String) {
        if let value = UInt32(text) {
            self.init(rawValue: value)
        } else if let signed = Int32(text) {
            self.init(rawValue: UInt32(bitPattern: signed))
        } else {
            return nil
        }
    }

    public static let script = UserAccountControl(rawValue: 0x1)
    public static let accountDisabled = UserAccountControl(rawValue: 0x2)
    public static let homeDirectoryRequired = UserAccountControl(rawValue: 0x8)
    public static let lockedOut = UserAccountControl(rawValue: 0x10)
    public static let passwordNotRequired = UserAccountControl(rawValue: 0x20)
    public static let passwordCannotChange = UserAccountControl(rawValue: 0x40)
    public static let encryptedTextPasswordAllowed = UserAccountControl(rawValue: 0x80)
    public static let tempDuplicateAccount = UserAccountControl(rawValue: 0x100)
    public static let normalAccount = UserAccountControl(rawValue: 0x200)
    public static let interdomainTrustAccount = UserAccountControl(rawValue: 0x800)
    public static let workstationTrustAccount = UserAccountControl(rawValue: 0x1000)
    public static let serverTrustAccount = UserAccountControl(rawValue: 0x2000)
    public static let passwordNeverExpires = UserAccountControl(rawValue: 0x10000)
    public static let mnsLogonAccount = UserAccountControl(rawValue: 0x20000)
    public static let smartcardRequired = UserAccountControl(rawValue: 0x40000)
    public static let trustedForDelegation = UserAccountControl(rawValue: 0x80000)
    public static let notDelegated = UserAccountControl(rawValue: 0x100000)
    public static let useDESKeyOnly = UserAccountControl(rawValue: 0x200000)
    public static let dontRequirePreauth = UserAccountControl(rawValue: 0x400000)
    public static let passwordExpired = UserAccountControl(rawValue: 0x800000)
    public static let trustedToAuthenticateForDelegation = UserAccountControl(rawValue: 0x1000000)
    public static let partialSecretsAccount = UserAccountControl(rawValue: 0x4000000)

    static let names: [(UserAccountControl, String)] = [
        (.script, "script"), (.accountDisabled, "account_disabled"), (.homeDirectoryRequired, "home_directory_required"),
        (.lockedOut, "locked_out"), (.passwordNotRequired, "password_not_required"),
        (.passwordCannotChange, "password_cannot_change"), (.encryptedTextPasswordAllowed, "encrypted_text_password_allowed"),
        (.tempDuplicateAccount, "temp_duplicate_account"), (.normalAccount, "normal_account"),
        (.interdomainTrustAccount, "interdomain_trust_account"), (.workstationTrustAccount, "workstation_trust_account"),
        (.serverTrustAccount, "server_trust_account"), (.passwordNeverExpires, "password_never_expires"),
        (.mnsLogonAccount, "mns_logon_account"), (.smartcardRequired, "smartcard_required"),
        (.trustedForDelegation, "trusted_for_delegation"), (.notDelegated, "not_delegated"),
        (.useDESKeyOnly, "use_des_key_only"), (.dontRequirePreauth, "dont_require_preauth"),
        (.passwordExpired, "password_expired"), (.trustedToAuthenticateForDelegation, "trusted_to_authenticate_for_delegation"),
        (.partialSecretsAccount, "partial_secrets_account"),
    ]

    /// The set flags by name, in bit order; unknown bits as `0x…`.
    public var flagNames: [String] {
        var names = UserAccountControl.names.filter { contains($0.0) }.map(\.1)
        let known = UserAccountControl.names.reduce(UInt32(0)) { $0 | $1.0.rawValue }
        let unknown = rawValue & ~known
        if unknown != 0 { names.append("0x" + String(unknown, radix: 16)) }
        return names
    }

    public var isDisabled: Bool { contains(.accountDisabled) }
}
