import Foundation
import RollcallDaemon
import Testing

@Suite struct ConfigurationTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "secret".write(to: directory.appendingPathComponent("ldap.pw"), atomically: true, encoding: .utf8)
    }

    static let valid = """
        store:
          path: rollcall.sqlite
        events:
          source: urn:rollcall:test
        directory:
          uri: ldap://127.0.0.1:3890
          security: starttls
          bind_dn: cn=rollcall,dc=example,dc=test
          bind_password_file: ldap.pw
          base_dn: ou=people,dc=example,dc=test
          filter: (objectClass=inetOrgPerson)
        hr:
          csv:
            path: hr.csv
            columns:
              employee_id: Employee ID
              email: Work Email
        correlation:
          hr_field: employee_id
          directory_attribute: employeeNumber

        """

    func load(_ text: String) throws(ConfigurationError) -> ResolvedConfiguration {
        let file = directory.appendingPathComponent("rollcall.yaml").path
        try? text.write(toFile: file, atomically: true, encoding: .utf8)
        return try ConfigurationLoader.load(path: file)
    }

    func error(_ text: String) -> ConfigurationError? {
        do {
            _ = try load(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func theShippedExampleAndAValidFileLoad() throws {
        let resolved = try load(Self.valid)
        #expect(resolved.storePath == directory.appendingPathComponent("rollcall.sqlite").path)
        #expect(resolved.csv.path == directory.appendingPathComponent("hr.csv").path)
        #expect(resolved.ldap.security == .startTLS)
        #expect(resolved.search.pageSize == 500)
        #expect(resolved.mapping.anchorAttribute == "entryUUID")
        #expect(resolved.skipBadRows == false)
    }

    @Test func theEtcExampleIsValidApartFromItsPaths() throws {
        var text = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("etc/rollcall.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "/etc/rollcall/ldap-password", with: "ldap.pw")
            .replacingOccurrences(of: "ca_file: /etc/rollcall/ldap-ca.pem", with: "ca_file: ldap.pw")
        let resolved = try load(text)
        #expect(resolved.csv.columns.count == 10)
        #expect(resolved.retry.attempts == 3)
        #expect(resolved.ldap.minimumTLSVersion == .tls12)
        #expect(resolved.mapping.extraAttributes.contains("departmentNumber"))
    }

    @Test(arguments: [
        ("directory:\n  uri", "directory:\n  urii", "directory.urii", "unknown key"),
        ("  bind_password_file: ldap.pw", "  bind_password: hunter2", "directory.bind_password", "never written in the configuration"),
        ("  security: starttls", "  security: tls", "directory.security", "\"tls\" is not one of"),
        ("  security: starttls", "  security: none", "directory.security", "allow_insecure"),
        ("  hr_field: employee_id", "  hr_field: badge", "correlation.hr_field", "is not one of"),
        ("      employee_id: Employee ID\n", "      employee_no: Employee ID\n", "hr.csv.columns.employee_no", "not a person field"),
        ("uri: ldap://127.0.0.1:3890", "uri: http://127.0.0.1:3890", "directory.uri", "ldap://"),
        ("  base_dn: ou=people,dc=example,dc=test\n", "", "directory.base_dn", "is required"),
        ("  bind_password_file: ldap.pw", "  bind_password_file: missing.pw", "directory.bind_password_file", "does not exist"),
        ("source: urn:rollcall:test", "source: not a uri", "events.source", "URI reference"),
        ("(objectClass=inetOrgPerson)", "objectClass=inetOrgPerson", "directory.filter", "parentheses"),
        ("  uri: ldap://127.0.0.1:3890", "  uri: ldap://127.0.0.1:3890\n  uris: [ldap://127.0.0.1:3891]", "directory.uris", "not both"),
        ("  uri: ldap://127.0.0.1:3890", "  uris: [ldaps://a:636, ldap://b:389]", "directory.uris", "cannot be mixed"),
        ("  security: starttls", "  security: starttls\n  bind: sasl_external", "directory.bind", "remove bind_dn"),
        ("  security: starttls", "  security: starttls\n  tls_cert_file: ldap.pw", "directory.tls_cert_file", "go together"),
        ("  security: starttls", "  security: starttls\n  tls_min_version: \"1.1\"", "directory.tls_min_version", "is not one of"),
        ("  security: starttls", "  security: starttls\n  retry: {attempts: 0}", "directory.retry.attempts", "between 1 and 100"),
        ("  security: starttls", "  security: starttls\n  delta: sometimes", "directory.delta", "is not one of"),
        ("  security: starttls", "  security: starttls\n  delta: dirsync", "directory.delta", "Active Directory's"),
        ("  security: starttls", "  security: starttls\n  kind: active_directory\n  delta: syncrepl", "directory.delta", "OpenLDAP's"),
        ("  security: starttls", "  security: starttls\n  kind: novell", "directory.kind", "is not one of"),
    ])
    func problemsNameTheirKey(replace: String, with: String, key: String, reason: String) throws {
        #expect(Self.valid.contains(replace), "test setup: \(replace)")
        let problem = try #require(error(Self.valid.replacingOccurrences(of: replace, with: with)))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
        #expect(!problem.description.contains("hunter2"))
    }

    @Test func failoverURIsAndSaslExternalOverLdapi() throws {
        let failover = try load(Self.valid.replacingOccurrences(of: "  uri: ldap://127.0.0.1:3890", with: "  uris: [ldap://127.0.0.1:3890, ldap://127.0.0.2:3890]"))
        #expect(failover.ldap.uri == "ldap://127.0.0.1:3890 ldap://127.0.0.2:3890")
        let local = try load(Self.valid
            .replacingOccurrences(of: "  uri: ldap://127.0.0.1:3890\n  security: starttls\n  bind_dn: cn=rollcall,dc=example,dc=test\n  bind_password_file: ldap.pw",
                                  with: "  uri: ldapi://%2Frun%2Fslapd%2Fldapi\n  bind: sasl_external"))
        #expect(local.ldap.bind == .saslExternal)
        #expect(local.ldap.security == .none)
    }

    @Test func activeDirectoryDefaults() throws {
        let ad = try load(Self.valid.replacingOccurrences(of: "  security: starttls", with: "  security: starttls\n  kind: active_directory\n  delta: usn")
            .replacingOccurrences(of: "base_dn: ou=people,dc=example,dc=test", with: "base_dn: OU=People,DC=corp,DC=example,DC=com"))
        #expect(ad.mapping.anchorAttribute == "objectGUID")
        #expect(ad.domainRoot == "DC=corp,DC=example,DC=com")
        #expect(ad.search.controls == ["1.2.840.113556.1.4.1339"])
        #expect(ad.delta == .usn)
    }

    @Test func unknownKeysCarryTheirLine() throws {
        let problem = try #require(error(Self.valid.replacingOccurrences(of: "  filter:", with: "  filtre:")))
        #expect(problem.line == 11)
    }

    @Test func notYAMLIsAClearError() throws {
        let problem = try #require(error("store: [unclosed"))
        #expect(problem.description.contains("not valid YAML"))
    }
}

enum RepositoryRoot {
    static var url: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
