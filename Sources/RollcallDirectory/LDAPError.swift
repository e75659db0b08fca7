import COpenLDAP

/// The one error type of the directory connector. `code` is the LDAP result code (or libldap's
/// negative API code); `step` says what Rollcall was doing; the message never holds a password.
public struct LDAPError: Error, Sendable, CustomStringConvertible {
    public enum Step: String, Sendable {
        case configure = "configure the connection"
        case connect = "connect"
        case tls = "establish TLS"
        case bind = "bind"
        case search = "search"
        case decode = "decode an entry"
    }

    /// e-syncRefreshRequired (RFC 4533, 0x1000): the server cannot continue from the cookie; only
    /// a full read can.
    public var isRefreshRequired: Bool { code == 0x1000 }

    public var step: Step
    public var code: Int32
    /// Server or libldap diagnostic text, if any.
    public var diagnostic: String?
    /// The URI, base DN or entry DN the error concerns.
    public var place: String?
    public var detail: String?

    public init(step: Step, code: Int32, diagnostic: String? = nil, place: String? = nil, detail: String? = nil) {
        self.step = step
        self.code = code
        self.diagnostic = diagnostic
        self.place = place
        self.detail = detail
    }

    /// LDAP result 4: the server stopped at its size limit. The read is incomplete, never a deletion.
    public var isSizeLimit: Bool { code == 4 }

    public var description: String {
        var text = "LDAP: could not \(step.rawValue)"
        if let place { text += " (\(place))" }
        // Code 0 is a problem Rollcall found in what the server sent, not an LDAP result.
        if code != 0 {
            text += ": \(LDAPError.name(of: code)) [\(code)]"
            if let detail { text += "; \(detail)" }
        } else if let detail {
            text += ": \(detail)"
        }
        if let diagnostic, !diagnostic.isEmpty { text += "; server said: \(diagnostic)" }
        return text
    }

    static func name(of code: Int32) -> String {
        guard let text = ldap_err2string(code) else { return "unknown error" }
        return String(cString: text)
    }
}
