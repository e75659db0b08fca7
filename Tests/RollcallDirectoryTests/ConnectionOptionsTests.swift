import Foundation
import RollcallDirectory
import RollcallTestSupport
import Testing

/// Failover URIs, SASL EXTERNAL (ldapi:// and TLS client certificates), minimum TLS version.
@Suite struct ConnectionOptionsTests {
    @Test func failsOverToTheNextURI() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(2))
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closed = refusing.port
        let connection = try await LDAPConnection.connect(LDAPSettings(uri: "ldap://127.0.0.1:\(closed) \(slapd.uri)", security: .none,
                                                                       networkTimeoutSeconds: 2))
        #expect(try await connection.whoAmI() == "")
    }

    @Test func allURIsDownNamesThemAll() async throws {
        let refusingA = try RefusingPort(), refusingB = try RefusingPort()
        defer { withExtendedLifetime((refusingA, refusingB)) {} }
        let a = refusingA.port, b = refusingB.port
        do {
            _ = try await LDAPConnection.connect(LDAPSettings(uri: "ldap://127.0.0.1:\(a) ldap://127.0.0.1:\(b)", security: .none,
                                                             networkTimeoutSeconds: 2))
            Issue.record("connected with every server down")
        } catch let error as LDAPError {
            #expect(error.step == .connect)
            #expect(error.description.contains(":\(a)") && error.description.contains(":\(b)"))
        }
    }

    @Test func saslExternalOverLdapiUsesThePeerCredentials() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(2))
        var settings = LDAPSettings(uri: slapd.ldapiURI, security: .none)
        settings.bind = .saslExternal
        let connection = try await LDAPConnection.connect(settings)
        let identity = try await connection.whoAmI()
        #expect(identity.hasPrefix("dn:gidNumber=\(getgid())+uidNumber=\(getuid()),cn=peercred,cn=external,cn=auth"))
    }

    @Test func saslExternalOverTLSUsesTheClientCertificate() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(2))
        var settings = LDAPSettings(uri: slapd.uri, security: .startTLS, caFile: slapd.caFile)
        settings.bind = .saslExternal
        settings.clientCertificateFile = slapd.clientCertificateFile
        settings.clientKeyFile = slapd.clientKeyFile
        let connection = try await LDAPConnection.connect(settings)
        #expect(try await connection.whoAmI() == "dn:cn=rollcall-client")
    }

    @Test func saslExternalWithoutAnIdentityIsRefused() async throws {
        let slapd = try await SlapdFixture.start(ldif: "")
        var settings = LDAPSettings(uri: slapd.uri, security: .none)
        settings.bind = .saslExternal
        do {
            _ = try await LDAPConnection.connect(settings)
            Issue.record("EXTERNAL without a certificate or socket identity was accepted")
        } catch let error as LDAPError {
            #expect(error.step == .bind)
            #expect(error.description.contains("SASL EXTERNAL"))
        }
    }

    @Test func aMinimumTLSVersionRefusesAnOlderServer() async throws {
        let slapd = try await SlapdFixture.start(ldif: "", tlsCiphers: "NORMAL:-VERS-TLS1.3")
        var settings = LDAPSettings(uri: slapd.ldapsURI, security: .ldaps, caFile: slapd.caFile, networkTimeoutSeconds: 3)
        settings.minimumTLSVersion = .tls12
        _ = try await LDAPConnection.connect(settings)
        settings.minimumTLSVersion = .tls13
        do {
            _ = try await LDAPConnection.connect(settings)
            Issue.record("a TLS 1.2 server was accepted with a TLS 1.3 minimum")
        } catch let error as LDAPError {
            #expect(error.step == .tls, "\(error)")
        }
    }
}
