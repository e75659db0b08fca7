import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A secret read from a file named in the configuration: the bytes up to trailing line breaks.
/// Callers name the configuration key in their errors; the content never appears in one.
///
/// As ssh does with private keys, a secret file that others could read or change is refused: it
/// must be readable by its owner only (mode 0600 or 0400), and owned by the user reading it or by
/// root. A systemd credential ($CREDENTIALS_DIRECTORY, `LoadCredential=`) passes by construction.
public enum SecretFile {
    /// What a secret may hold.
    public enum Content: Sendable {
        /// One line of text: no control character, no line break inside (a password, a token).
        case line
        /// Lines of text (a webhook's `whsec_` secrets, two while rotating): no other control character.
        case lines
        /// Any bytes (a key).
        case binary
    }

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path) \(reason)" }
    }

    /// The secret, checked: the file's owner and mode, then its content.
    public static func read(_ path: String, content: Content = .line) throws(Refusal) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Refusal(path: path, reason: errno == EACCES ? "cannot be read by this user (uid \(geteuid()))" : "does not exist or cannot be read")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw Refusal(path: path, reason: "is not a regular file")
        }
        try checkOwnerAndMode(path, owner: status.st_uid, mode: status.st_mode)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 { throw Refusal(path: path, reason: "cannot be read") }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            guard bytes.count <= 1 << 20 else { throw Refusal(path: path, reason: "is larger than 1 MiB: not a secret") }
        }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        try checkContent(path, bytes, content)
        return bytes
    }

    /// Owned by the reader or root (root may read what the service owns), and no permission for
    /// group or others.
    static func checkOwnerAndMode(_ path: String, owner: uid_t, mode: mode_t) throws(Refusal) {
        let me = geteuid()
        guard owner == me || owner == 0 || me == 0 else {
            throw Refusal(path: path, reason: "is owned by uid \(owner), not by this user (uid \(me)) or root: chown it to the user Rollcall runs as")
        }
        let open = mode & 0o077
        guard open == 0 else {
            let octal = String(mode & 0o777, radix: 8)
            throw Refusal(path: path, reason: "is accessible by group or others (mode 0\(octal)): chmod 600 \(path), or use a systemd credential (credential:NAME)")
        }
    }

    static func checkContent(_ path: String, _ bytes: [UInt8], _ content: Content) throws(Refusal) {
        switch content {
        case .binary:
            return
        case .line:
            if bytes.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
                throw Refusal(path: path, reason: "holds a line break inside the secret: one line only")
            }
            if bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
                throw Refusal(path: path, reason: "holds a control character: a secret here is printable text")
            }
        case .lines:
            if bytes.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r")) || $0 == 0x7f }) {
                throw Refusal(path: path, reason: "holds a control character: a secret here is printable text")
            }
        }
    }
}
