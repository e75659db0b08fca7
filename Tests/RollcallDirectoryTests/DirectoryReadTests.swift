import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallTestSupport
import Synchronization
import Testing

/// The directory path against a real slapd on 127.0.0.1.
@Suite struct DirectoryReadTests {
    static func people(_ count: Int, from start: Int = 1) -> String {
        (start..<(start + count)).map { i in
            """
            dn: uid=p\(i),ou=people,dc=example,dc=test
            objectClass: inetOrgPerson
            uid: p\(i)
            cn: Person \(i)
            sn: P\(i)
            employeeNumber: E\(i)
            title: Title \(i)


            """
        }.joined()
    }

    static let mapping = AccountMapping(anchorAttribute: "entryUUID", correlationAttribute: "employeeNumber",
                                        extraAttributes: ["uid", "title"])
    static let logger = Logger(label: "test")

    func settings(_ slapd: SlapdFixture, uri: String? = nil, security: LDAPSettings.Security = .none,
                  caFile: String? = nil, bindDN: String? = SlapdFixture.syncDN) throws -> LDAPSettings {
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        return LDAPSettings(uri: uri ?? slapd.uri, security: security, caFile: caFile, bindDN: bindDN,
                            bindPassword: bindDN == nil ? nil : password, networkTimeoutSeconds: 5, operationTimeoutSeconds: 10)
    }

    func request(pageSize: Int = 7) -> SearchRequest {
        SearchRequest(baseDN: SlapdFixture.peopleBase, filter: "(objectClass=inetOrgPerson)", attributes: [], pageSize: pageSize)
    }

    @Test func pagedReadReturnsEveryEntryWithItsAnchor() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(50))
        let reader = DirectoryReader(settings: try settings(slapd), request: request(pageSize: 7), mapping: Self.mapping)
        let accounts = try await reader.readAccounts(logger: Self.logger)
        #expect(accounts.count == 50)
        #expect(Set(accounts.map(\.anchor)).count == 50)
        #expect(accounts.allSatisfy { UUID(uuidString: $0.anchor) != nil })
        let p7 = try #require(accounts.first { $0.correlationValue == "E7" })
        #expect(p7.dn == "uid=p7,ou=people,dc=example,dc=test")
        #expect(p7.attributesJSON == #"{"title":["Title 7"],"uid":["p7"]}"#)
    }

    @Test func pagesArriveOneAtATime() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(25))
        let connection = try await LDAPConnection.connect(try settings(slapd))
        let sizes = Mutex<[Int]>([])
        var search = request(pageSize: 10)
        search.attributes = ["entryUUID"]
        let total = try await connection.pagedSearch(search) { page in sizes.withLock { $0.append(page.count) } }
        #expect(total == 25)
        #expect(sizes.withLock { $0 } == [10, 10, 5])
    }

    @Test func startTLSWithTheConfiguredCAFile() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(3))
        let reader = DirectoryReader(settings: try settings(slapd, security: .startTLS, caFile: slapd.caFile),
                                     request: request(), mapping: Self.mapping)
        #expect(try await reader.readAccounts(logger: Self.logger).count == 3)
    }

    @Test func ldapsWithTheConfiguredCAFile() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(3))
        let reader = DirectoryReader(settings: try settings(slapd, uri: slapd.ldapsURI, security: .ldaps, caFile: slapd.caFile),
                                     request: request(), mapping: Self.mapping)
        #expect(try await reader.readAccounts(logger: Self.logger).count == 3)
    }

    @Test func anUntrustedCertificateFailsAtTheTLSStep() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(1))
        let other = try await SlapdFixture.start(ldif: "")  // its own CA, which did not sign slapd's certificate
        for (uri, security) in [(slapd.uri, LDAPSettings.Security.startTLS), (slapd.ldapsURI, .ldaps)] {
            do {
                _ = try await LDAPConnection.connect(try settings(slapd, uri: uri, security: security, caFile: other.caFile))
                Issue.record("\(security) with the wrong CA must fail")
            } catch let error as LDAPError {
                #expect(error.step == .tls, "\(error)")
                #expect(error.description.contains("TLS"))
            }
        }
    }

    @Test func aWrongPasswordFailsTheBindAndIsNotPrinted() async throws {
        let slapd = try await SlapdFixture.start(ldif: "")
        var bad = try settings(slapd)
        bad.bindPassword = Array("hunter2-not-it".utf8)
        do {
            _ = try await LDAPConnection.connect(bad)
            Issue.record("a wrong password must fail")
        } catch let error as LDAPError {
            #expect(error.step == .bind)
            #expect(error.code == 49)
            #expect(error.description.contains(SlapdFixture.syncDN))
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func aSizeLimitedReadFailsInsteadOfReturningPart() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(12))
        let reader = DirectoryReader(settings: try settings(slapd, bindDN: SlapdFixture.limitedDN), request: request(pageSize: 3),
                                     mapping: Self.mapping)
        do {
            let accounts = try await reader.readAccounts(logger: Self.logger)
            Issue.record("a size-limited read returned \(accounts.count) accounts")
        } catch let error as LDAPError {
            #expect(error.isSizeLimit)
            #expect(error.description.contains("incomplete"))
            #expect(error.description.contains("nothing is treated as deleted"))
        }
    }

    @Test func aServerLostMidReadFailsTheRead() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(40))
        let connection = try await LDAPConnection.connect(try settings(slapd))
        let pages = Mutex(0)
        do {
            try await connection.pagedSearch(request(pageSize: 5)) { _ in
                pages.withLock { $0 += 1 }
                slapd.kill()
            }
            Issue.record("a read through a dead server completed")
        } catch let error as LDAPError {
            #expect(error.step == .search)
            #expect(error.code < 0, "libldap's API codes for a lost server are negative: \(error)")
            #expect(error.description.contains("after 5 entries"))
        }
        #expect(pages.withLock { $0 } == 1)
    }

    @Test func anEntryWithoutAnAnchorFailsNamingItsDN() async throws {
        let slapd = try await SlapdFixture.start(ldif: Self.people(2) + """
            dn: uid=nonumber,ou=people,dc=example,dc=test
            objectClass: inetOrgPerson
            uid: nonumber
            cn: No Number
            sn: N


            """)
        let mapping = AccountMapping(anchorAttribute: "employeeNumber", correlationAttribute: "uid")
        let reader = DirectoryReader(settings: try settings(slapd), request: request(), mapping: mapping)
        do {
            _ = try await reader.readAccounts(logger: Self.logger)
            Issue.record("an entry without its anchor was accepted")
        } catch let error as LDAPError {
            #expect(error.place == "uid=nonumber,ou=people,dc=example,dc=test")
            #expect(error.description.contains("employeeNumber"))
        }
    }

    @Test func anUnreachableServerFailsTheConnection() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        for security in [LDAPSettings.Security.none, .startTLS] {
            let settings = LDAPSettings(uri: "ldap://127.0.0.1:\(port)", security: security, networkTimeoutSeconds: 2)
            do {
                _ = try await LDAPConnection.connect(settings)
                Issue.record("connected to a closed port")
            } catch let error as LDAPError {
                // Not a TLS or bind problem: the server is not there.
                #expect(error.step == .connect, "\(error)")
                #expect(error.description.contains("reachable"))
            }
        }
    }
}
