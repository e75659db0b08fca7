import Crypto
import Foundation

/// Keyed pseudonyms of HR ids (HMAC-SHA256, hex): what a purged person's tombstone keeps. Without
/// the key nobody can tell which id a tombstone stands for, even by trying every possible id; with
/// it Rollcall recognises a purged person who is still in an HR export. The key must never change
/// once tombstones exist (it would stop recognising them).
public struct Pseudonymiser: Sendable {
    private let key: SymmetricKey

    /// - Parameter key: at least 16 bytes of secret material.
    public init(key: [UInt8]) throws {
        guard key.count >= 16 else { throw PseudonymKeyError(length: key.count) }
        self.key = SymmetricKey(data: key)
    }

    public func pseudonym(of employeeID: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("rollcall/hr-id/\(employeeID)".utf8), using: key)
        return Hex.encode(code)
    }
}

public struct PseudonymKeyError: Error, Sendable, CustomStringConvertible {
    public var length: Int
    public var description: String { "the tombstone key has \(length) bytes; it needs at least 16 (e.g. head -c 32 /dev/urandom > FILE)" }
}
