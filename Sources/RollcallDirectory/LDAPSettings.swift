/// How to reach and authenticate to one directory. Built by the daemon from configuration.
public struct LDAPSettings: Sendable {
    public enum Security: String, Sendable, CaseIterable {
        /// Plain LDAP; allowed only where the configuration says so.
        case none
        /// `ldap://` upgraded with the StartTLS extended operation before binding.
        case startTLS = "starttls"
        /// `ldaps://`: TLS from the first byte.
        case ldaps
    }

    /// How Rollcall authenticates.
    public enum Bind: String, Sendable, CaseIterable {
        /// Simple bind with `bindDN` and `bindPassword` (anonymous when both are nil).
        case simple
        /// SASL EXTERNAL: the identity the transport already proved, a TLS client certificate or
        /// the peer credentials of an ldapi:// socket. No password.
        case saslExternal = "sasl_external"
    }

    /// The lowest TLS version accepted.
    public enum TLSVersion: String, Sendable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// One URI, or several separated by spaces: libldap tries them in order (failover).
    public var uri: String
    public var security: Security
    public var bind: Bind = .simple
    /// PEM certificate and key presented to the server (for SASL EXTERNAL over TLS).
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var minimumTLSVersion: TLSVersion?
    /// PEM file of the certificate authorities to trust; nil uses the system store.
    public var caFile: String?
    public var bindDN: String?
    /// The bind password's bytes, read from a file by the caller. Never printed.
    public var bindPassword: [UInt8]?
    public var networkTimeoutSeconds: Int
    public var operationTimeoutSeconds: Int

    public init(uri: String, security: Security, caFile: String? = nil, bindDN: String? = nil,
                bindPassword: [UInt8]? = nil, networkTimeoutSeconds: Int = 10, operationTimeoutSeconds: Int = 120) {
        self.uri = uri
        self.security = security
        self.caFile = caFile
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.networkTimeoutSeconds = networkTimeoutSeconds
        self.operationTimeoutSeconds = operationTimeoutSeconds
    }
}

/// What to read: base, scope, filter, attributes and page size.
public struct SearchRequest: Sendable {
    public enum Scope: String, Sendable, CaseIterable {
        case base, one, sub
    }

    public var baseDN: String
    public var scope: Scope
    public var filter: String
    public var attributes: [String]
    public var pageSize: Int
    /// OIDs of value-less controls sent with every page, e.g. `SearchRequest.showDeleted`.
    public var controls: [String]

    /// Active Directory: include deleted objects (tombstones) in the results.
    public static let showDeleted = "1.2.840.113556.1.4.417"
    /// Active Directory: do not return continuation references to other domains.
    public static let domainScope = "1.2.840.113556.1.4.1339"

    public init(baseDN: String, scope: Scope = .sub, filter: String, attributes: [String], pageSize: Int = 500,
                controls: [String] = []) {
        self.baseDN = baseDN
        self.scope = scope
        self.filter = filter
        self.attributes = attributes
        self.pageSize = pageSize
        self.controls = controls
    }
}

/// One entry as returned by the server: its DN and each attribute's raw values, in the server's
/// order. A list, not a dictionary: entries have a handful of attributes, and hashing them cost more
/// than scanning (measured with scripts/bench).
public struct LDAPEntry: Sendable {
    public var dn: String
    public var attributes: [(name: String, values: [[UInt8]])]

    public init(dn: String, attributes: [(name: String, values: [[UInt8]])]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// The raw values of an attribute (names match case-insensitively, as in LDAP); nil when absent.
    public func values(_ name: String) -> [[UInt8]]? {
        if let exact = attributes.first(where: { $0.name == name }) { return exact.values }
        let lowered = name.lowercased()
        return attributes.first { $0.name.lowercased() == lowered }?.values
    }

    /// The values of an attribute as UTF-8 text; nil when absent.
    public func strings(_ name: String) -> [String]? {
        values(name)?.map { String(decoding: $0, as: UTF8.self) }
    }
}
