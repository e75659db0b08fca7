import COpenLDAP
import Dispatch
import Foundation

/// One libldap connection. libldap calls block, so they never run on Swift's cooperative pool:
/// every use of the handle happens on this connection's private serial queue, one call at a time.
///
/// Invariant behind `@unchecked Sendable`: `handle` is only read or written inside `queue.sync` /
/// `queue.async` blocks (see `perform`), so the C handle is never touched by two threads at once.
public final class LDAPConnection: @unchecked Sendable {
    let queue = DispatchQueue(label: "rollcall.ldap.connection")
    private var handle: OpaquePointer?
    public let settings: LDAPSettings

    private init(settings: LDAPSettings) {
        self.settings = settings
    }

    deinit {
        if let handle { ldap_unbind_ext_s(handle, nil, nil) }
    }

    /// Opens the connection: options, TLS as configured, then a simple bind (or anonymous).
    public static func connect(_ settings: LDAPSettings) async throws -> LDAPConnection {
        _ = ignoreBrokenPipes
        let connection = LDAPConnection(settings: settings)
        try await connection.perform { connection in try connection.open() }
        return connection
    }

    /// libldap writes to its socket with plain write(2): a server that dies between two requests
    /// would kill the whole process with SIGPIPE instead of failing the read (found by killing
    /// slapd mid-read). Ignored process-wide, once: the write then fails with EPIPE and the read
    /// reports the lost server.
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Closes the connection now (also done when the object is released).
    public func close() async {
        try? await perform { connection in
            if let handle = connection.handle { ldap_unbind_ext_s(handle, nil, nil) }
            connection.handle = nil
        }
    }

    /// Runs `body` on the connection's queue without blocking the caller's thread.
    func perform<T: Sendable>(_ body: @escaping @Sendable (LDAPConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(self) })
            }
        }
    }

    /// Drops a handle whose socket was shut down (a deadline passed): later calls fail at once
    /// with "the connection is closed". On the queue.
    func discardHandle() {
        if let handle { ldap_unbind_ext_s(handle, nil, nil) }
        handle = nil
    }

    /// The handle, for code already running on the queue.
    func requireHandle(step: LDAPError.Step) throws -> OpaquePointer {
        guard let handle else { throw LDAPError(step: step, code: -1, place: settings.uri, detail: "the connection is closed") }
        return handle
    }

    private func open() throws {
        var ld: OpaquePointer?
        var rc = ldap_initialize(&ld, settings.uri)
        guard rc == LDAP_SUCCESS, let ld else {
            throw LDAPError(step: .configure, code: rc, place: settings.uri, detail: "not a usable LDAP URI")
        }
        handle = ld
        try setInt(ld, LDAP_OPT_PROTOCOL_VERSION, 3)
        try check(rollcall_ldap_set_flag(ld, LDAP_OPT_REFERRALS, 0), "referrals off")
        var network = timeval(tv_sec: settings.networkTimeoutSeconds, tv_usec: 0)
        try check(ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &network), "network timeout")
        var operation = timeval(tv_sec: settings.operationTimeoutSeconds, tv_usec: 0)
        try check(ldap_set_option(ld, LDAP_OPT_TIMEOUT, &operation), "operation timeout")

        if settings.security != .none {
            try configureTLS(ld)
        }
        // Connect explicitly, so that an unreachable server is not reported as a TLS or bind failure.
        rc = ldap_connect(ld)
        guard rc == LDAP_SUCCESS else {
            let ldaps = settings.security == .ldaps
            throw LDAPError(step: ldaps ? .tls : .connect, code: rc, diagnostic: diagnostic(ld), place: settings.uri,
                            detail: ldaps ? LDAPConnection.ldapsHint(diagnostic(ld)) : "is the server running and reachable on that host and port?")
        }
        LDAPConnection.enableKeepalive(ld)
        if settings.security == .startTLS {
            rc = ldap_start_tls_s(ld, nil, nil)
            guard rc == LDAP_SUCCESS else {
                throw LDAPError(step: .tls, code: rc, diagnostic: diagnostic(ld), place: settings.uri,
                                detail: "StartTLS failed; check the CA file, the server certificate's names and that the server offers StartTLS")
            }
        }
        try bind(ld)
    }

    private func configureTLS(_ ld: OpaquePointer) throws {
        try setInt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, LDAP_OPT_X_TLS_DEMAND)
        if let minimum = settings.minimumTLSVersion {
            try setInt(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, minimum == .tls13 ? (3 << 8) + 4 : (3 << 8) + 3)
            // Debian's libldap is built on GnuTLS, which takes the versions from its priority string.
            let priority = minimum == .tls13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3" : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
            try check(priority.withCString { ldap_set_option(ld, LDAP_OPT_X_TLS_CIPHER_SUITE, $0) }, "TLS versions")
        }
        for (option, path, what) in [(LDAP_OPT_X_TLS_CERTFILE, settings.clientCertificateFile, "client certificate"),
                                     (LDAP_OPT_X_TLS_KEYFILE, settings.clientKeyFile, "client key")] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw LDAPError(step: .tls, code: -1, place: settings.uri, detail: "the \(what) file \(path) cannot be read")
            }
            try check(path.withCString { ldap_set_option(ld, option, $0) }, what)
        }
        if let caFile = settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw LDAPError(step: .tls, code: -1, place: settings.uri, detail: "the CA file \(caFile) cannot be read")
            }
            let rc = caFile.withCString { ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, $0) }
            try check(rc, "CA file")
        }
        // Without a new TLS context the per-handle CA file is silently ignored.
        try setInt(ld, LDAP_OPT_X_TLS_NEWCTX, 0)
    }

    private func bind(_ ld: OpaquePointer) throws {
        if settings.bind == .saslExternal {
            // EXTERNAL carries no credentials: the server takes the identity from the transport.
            // slapd answers the first request with an empty challenge (14, bind in progress); the
            // empty response completes it.
            // (A berval with a nil pointer would be left out of the request: point it at "".)
            var rc = ldap_sasl_bind_s(ld, nil, "EXTERNAL", nil, nil, nil, nil)
            var rounds = 0
            while rc == LDAP_SASL_BIND_IN_PROGRESS && rounds < 3 {
                rc = "".withCString { pointer in
                    var empty = berval(bv_len: 0, bv_val: UnsafeMutablePointer(mutating: pointer))
                    return ldap_sasl_bind_s(ld, nil, "EXTERNAL", &empty, nil, nil, nil)
                }
                rounds += 1
            }
            guard rc == LDAP_SUCCESS else {
                throw LDAPError(step: .bind, code: rc, diagnostic: diagnostic(ld), place: "\(settings.uri) with SASL EXTERNAL",
                                detail: "the server did not accept the transport's identity (TLS client certificate or ldapi:// peer credentials)")
            }
            return
        }
        let password = settings.bindPassword ?? []
        let rc: Int32 = password.withUnsafeBufferPointer { buffer in
            var credential = berval(bv_len: ber_len_t(buffer.count),
                                    bv_val: UnsafeMutablePointer(mutating: buffer.baseAddress.map {
                                        UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)
                                    }))
            return ldap_sasl_bind_s(ld, settings.bindDN, nil, &credential, nil, nil, nil)
        }
        guard rc == LDAP_SUCCESS else {
            throw LDAPError(step: .bind, code: rc, diagnostic: diagnostic(ld),
                            place: "\(settings.uri) as \(settings.bindDN ?? "anonymous")",
                            detail: rc == 49 ? "wrong bind DN or password (the password file's content is not shown)" : nil)
        }
    }

    /// With ldaps:// the TCP connection and the TLS handshake are one step; libldap's diagnostic
    /// tells them apart when it can.
    static func ldapsHint(_ diagnostic: String?) -> String {
        let text = diagnostic?.lowercased() ?? ""
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") || text.contains("gnutls") {
            return "the TLS handshake failed; check directory.ca_file and that the server certificate names this host (an IP needs an IP SAN)"
        }
        return "could not connect or complete the TLS handshake; is the server listening for ldaps on that port, and does directory.ca_file sign its certificate?"
    }

    /// The identity the server sees for this connection (RFC 4532 "Who am I?"), e.g. `dn:cn=rollcall,…`.
    public func whoAmI() async throws -> String {
        try await perform { connection in
            let ld = try connection.requireHandle(step: .bind)
            var identity: UnsafeMutablePointer<berval>?
            let rc = ldap_whoami_s(ld, &identity, nil, nil)
            defer { if let identity { ber_bvfree(identity) } }
            guard rc == LDAP_SUCCESS else { throw LDAPError(step: .bind, code: rc, place: connection.settings.uri, detail: "who am I failed") }
            return identity.map { LDAPConnection.string($0.pointee) } ?? ""
        }
    }

    func diagnostic(_ ld: OpaquePointer) -> String? {
        var message: UnsafeMutablePointer<CChar>?
        guard ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) == LDAP_SUCCESS, let message else { return nil }
        defer { ldap_memfree(message) }
        let text = String(cString: message)
        return text.isEmpty ? nil : text
    }

    private func setInt(_ ld: OpaquePointer, _ option: Int32, _ value: Int32) throws {
        var v = value
        try check(ldap_set_option(ld, option, &v), "option \(option)")
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == LDAP_OPT_SUCCESS else {
            throw LDAPError(step: .configure, code: rc, place: settings.uri, detail: "could not set \(what)")
        }
    }
}
