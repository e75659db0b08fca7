import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallTestSupport
import Synchronization
import Testing

/// OpenLDAP's own test data (../shared/testdata/external/openldap-tests), which nobody here wrote.
@Suite(.enabled(if: RepositoryPaths.externalTestData("openldap-tests") != nil,
                "../shared/testdata/external/openldap-tests is not present next to the repository"))
struct OpenLDAPTestDataTests {
    static func data(_ name: String) throws -> String {
        let folder = try #require(RepositoryPaths.externalTestData("openldap-tests"))
        return try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    static func syncSettings(_ slapd: SlapdFixture) throws -> LDAPSettings {
        LDAPSettings(uri: slapd.uri, security: .none, bindDN: slapd.syncBindDN,
                     bindPassword: Array(try Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile))))
    }

    /// test.ldif: a base64 value with leading and trailing spaces, folded DNs, multi-valued cn.
    @Test func base64AndFoldedValuesArriveIntact() async throws {
        let slapd = try await SlapdFixture.start(ldif: try Self.data("test.ldif"), suffix: "dc=example,dc=com", dataHasRoot: true)
        let reader = DirectoryReader(
            settings: try Self.syncSettings(slapd),
            request: SearchRequest(baseDN: "ou=People,dc=example,dc=com", filter: "(objectClass=OpenLDAPperson)", attributes: []),
            mapping: AccountMapping(anchorAttribute: "entryUUID", correlationAttribute: "uid", extraAttributes: ["sn", "cn"]))
        let accounts = try await reader.readAccounts(logger: Logger(label: "test"))
        #expect(accounts.count == 10)
        let babs = try #require(accounts.first { $0.correlationValue == "bjensen" })
        #expect(babs.dn == "cn=Barbara Jensen,ou=Information Technology Division,ou=People,dc=example,dc=com")
        #expect(babs.attributesJSON == #"{"cn":["Barbara Jensen","Babs Jensen"],"sn":[" Jensen "]}"#)
    }

    /// its9282: 999 people behind slapd's default 500-entry size limit.
    @Test func aSizeLimitedAnonymousReadFailsAndTheSyncAccountReadsAll() async throws {
        let slapd = try await SlapdFixture.start(ldif: try Self.data("its9282-exampledb.ldif"), suffix: "dc=example,dc=com",
                                           sizeLimit: 500, dataHasRoot: true)
        let request = SearchRequest(baseDN: "dc=example,dc=com", filter: "(objectClass=inetOrgPerson)", attributes: [], pageSize: 100)
        let mapping = AccountMapping(anchorAttribute: "entryUUID", correlationAttribute: "uid")
        let anonymous = DirectoryReader(settings: LDAPSettings(uri: slapd.uri, security: .none), request: request, mapping: mapping)
        do {
            let accounts = try await anonymous.readAccounts(logger: Logger(label: "test"))
            Issue.record("a size-limited read returned \(accounts.count) accounts")
        } catch let error as LDAPError {
            #expect(error.isSizeLimit)
            #expect(error.description.contains("after 500 entries"))
        }
        let sync = DirectoryReader(settings: try Self.syncSettings(slapd), request: request, mapping: mapping)
        #expect(try await sync.readAccounts(logger: Logger(label: "test")).count == 999)
    }
}

/// Partial manager DNs (its9282) are reported, never guessed; good ones resolve.
@Suite struct ReferenceResolverTests {
    static func entry(_ dn: String, manager: [String] = []) -> LDAPEntry {
        LDAPEntry(dn: dn, attributes: manager.isEmpty ? [] : [(name: "manager", values: manager.map { Array($0.utf8) })])
    }

    @Test func fullAndPartialReferences() {
        let entries = [
            Self.entry("cn=Boss, ou=Management, dc=example,dc=com"),
            Self.entry("cn=Twin,ou=A,dc=example,dc=com"),
            Self.entry("cn=Twin,ou=B,dc=example,dc=com"),
            Self.entry("cn=Worker,ou=A,dc=example,dc=com",
                       manager: ["CN=Boss,OU=Management,DC=example,DC=com", "cn=Boss", "cn=Twin", "cn=Nobody", "cn=Gone,ou=A,dc=example,dc=com"]),
        ]
        let report = ReferenceResolver.resolve(entries: entries, attribute: "manager")
        #expect(report.resolved["cn=Worker,ou=A,dc=example,dc=com"] == ["cn=Boss, ou=Management, dc=example,dc=com",
                                                                        "cn=Boss, ou=Management, dc=example,dc=com"])
        #expect(report.unresolved.map(\.value) == ["cn=Twin", "cn=Nobody", "cn=Gone,ou=A,dc=example,dc=com"])
        #expect(report.unresolved[0].reason.contains("matches 2 entries"))
    }

    @Test(.enabled(if: RepositoryPaths.externalTestData("openldap-tests") != nil, "openldap-tests absent"))
    func its9282ManagersAreAllReported() async throws {
        let folder = try #require(RepositoryPaths.externalTestData("openldap-tests"))
        let slapd = try await SlapdFixture.start(ldif: try String(contentsOf: folder.appendingPathComponent("its9282-exampledb.ldif"), encoding: .utf8),
                                                 suffix: "dc=example,dc=com", dataHasRoot: true)
        let connection = try await LDAPConnection.connect(try OpenLDAPTestDataTests.syncSettings(slapd))
        let entries = Mutex<[LDAPEntry]>([])
        try await connection.pagedSearch(SearchRequest(baseDN: "dc=example,dc=com", filter: "(objectClass=inetOrgPerson)",
                                                       attributes: ["manager"])) { page in entries.withLock { $0.append(contentsOf: page) } }
        let report = ReferenceResolver.resolve(entries: entries.withLock { $0 }, attribute: "manager")
        // Every manager value in that data is a bare RDN of a person who is not in the tree.
        #expect(report.unresolved.count == 999)
        #expect(report.resolved.isEmpty)
        #expect(report.unresolved.allSatisfy { $0.reason == "is a partial DN that matches no entry read" })
    }
}
