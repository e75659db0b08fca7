import Foundation
import RollcallCore
import RollcallDaemon
import RollcallDirectory
import RollcallHR
import RollcallTestSupport
import Testing

@Suite struct ConfigurationTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SecretFixture.write("secret", to: directory.appendingPathComponent("ldap.pw").path)
    }

    static let valid = """
        store:
          path: rollcall.sqlite
        events:
          source: urn:rollcall:test
        directories:
          - uri: ldap://127.0.0.1:3890
            security: starttls
            bind_dn: cn=rollcall,dc=example,dc=test
            bind_password_file: ldap.pw
            base_dn: ou=people,dc=example,dc=test
            filter: (objectClass=inetOrgPerson)
            correlation:
              hr_field: employee_id
              directory_attribute: employeeNumber
        hr:
          sources:
            - path: hr.csv
              fields:
                employee_id: Employee ID
                email: Work Email

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
        let source = try #require(resolved.hrSources.first)
        #expect(source.path == directory.appendingPathComponent("hr.csv").path)
        #expect(source.name == "hr" && source.format == .csv && !source.skipBadRecords && !source.allowEmpty)
        #expect(source.emptyValues == ["0000-00-00"])
        let directory = try #require(resolved.directories.first)
        #expect(directory.name == "default")
        #expect(directory.ldap.security == .startTLS)
        #expect(directory.search.pageSize == 500)
        #expect(directory.mapping.anchorAttribute == "entryUUID")
    }

    @Test func theEtcExampleIsValidApartFromItsPaths() throws {
        var text = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("etc/rollcall.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "/etc/rollcall/ldap-password", with: "ldap.pw")
            .replacingOccurrences(of: "ca_file: /etc/rollcall/ldap-ca.pem", with: "ca_file: ldap.pw")
        let resolved = try load(text)
        #expect(resolved.hrSources.first?.fields.count == 10)
        #expect(resolved.hrSources.first?.fields[.email] == FieldRule(from: "Work Email", letterCase: .lower))
        #expect(resolved.hrSources.first?.required == [.employeeID, .familyName])
        let directory = try #require(resolved.directories.first)
        #expect(directory.retry.attempts == 3)
        #expect(directory.ldap.minimumTLSVersion == .tls12)
        #expect(directory.mapping.extraAttributes.contains("departmentNumber"))
    }

    /// The commented entitlements example in etc/rollcall.yaml, uncommented, is valid as written.
    @Test func theEtcEntitlementsExampleIsValidUncommented() throws {
        var text = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("etc/rollcall.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "/etc/rollcall/ldap-password", with: "ldap.pw")
            .replacingOccurrences(of: "ca_file: /etc/rollcall/ldap-ca.pem", with: "ca_file: ldap.pw")
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "# entitlements:"))
        let end = try #require(lines[start...].firstIndex(of: "hr:"))
        var uncommented = lines
        for index in start..<end where lines[index].hasPrefix("# ") { uncommented[index] = String(lines[index].dropFirst(2)) }
        let resolved = try load(uncommented.joined(separator: "\n"))
        let entitlements = try #require(resolved.entitlements)
        #expect(entitlements.policy.birthright.map(\.name) == ["all-staff", "engineering"])
        #expect(entitlements.policy.separation.map(\.name) == ["ap-create-approve"])
        #expect(entitlements.policy.privileged?.groups == ["cn=ldap-admins,ou=groups,dc=example,dc=test"])
        #expect(entitlements.policy.privileged?.allowedMembers == ["cn=breakglass,ou=people,dc=example,dc=test"])
    }

    @Test(arguments: [
        ("directories:\n  - uri", "directories:\n  - urii", "directories[0].urii", "unknown key"),
        ("  bind_password_file: ldap.pw", "  bind_password: hunter2", "directories[0].bind_password", "never written in the configuration"),
        ("  security: starttls", "  security: tls", "directories[0].security", "\"tls\" is not one of"),
        ("  security: starttls", "  security: none", "directories[0].security", "allow_insecure"),
        ("  security: starttls\n    bind_dn: cn=rollcall,dc=example,dc=test\n    bind_password_file: ldap.pw", "  security: none",
         "directories[0].security", "an anonymous bind over plain ldap:// reads every entry in clear text"),
        ("  security: starttls", "  security: starttls\n    on_unlinked: ask", "directories[0].on_unlinked", "\"ask\" is not one of: link, report"),
        ("  security: starttls", "  security: starttls\n    on_unmatched: skip", "directories[0].on_unmatched", "\"skip\" is not one of: joiner, ignore"),
        ("  hr_field: employee_id", "  hr_field: badge", "directories[0].correlation.hr_field", "is not one of"),
        ("        employee_id: Employee ID\n", "        employee_no: Employee ID\n", "hr.sources[0].fields.employee_no", "not a person field"),
        ("        employee_id: Employee ID\n", "", "hr.sources[0].fields.employee_id", "is required"),
        ("        email: Work Email", "        email: {from: Work Email, case: title}", "hr.sources[0].fields.email.case", "is not one of"),
        ("        email: Work Email", "        email: {from: Work Email, cas: lower}", "hr.sources[0].fields.email.cas", "unknown key"),
        ("    - path: hr.csv", "    - path: hr.csv\n      format: xml", "hr.sources[0].format", "is not one of"),
        ("    - path: hr.csv", "    - path: hr.csv\n      records: Report_Entry", "hr.sources[0].records", "json and ndjson"),
        ("    - path: hr.csv", "    - path: hr.csv\n      required: [title]", "hr.sources[0].required", "not mapped"),
        ("    - path: hr.csv", "    - path: hr.csv\n      on_bad_rows: ignore", "hr.sources[0].on_bad_rows", "stop or skip"),
        ("  sources:\n", "  csv:\n", "hr.csv", "HR sources are a list now"),
        ("    - path: hr.csv", "    - path: hr.csv\n      url: https://hr.example.test/r", "hr.sources[0].url", "not both"),
        ("    - path: hr.csv", "    - path: hr.csv\n      paging: {next_link: next}", "hr.sources[0].paging", "for sources fetched over HTTP"),
        ("    - path: hr.csv", "    - url: ftp://hr.example.test/r", "hr.sources[0].url", "http:// or https://"),
        ("    - path: hr.csv", "    - url: https://hr.example.test/r", "hr.sources[0].format", "json or ndjson"),
        ("    - path: hr.csv", "    - url: https://hr.example.test/r\n      format: json\n      auth: {username: u}", "hr.sources[0].auth", "username with password_file"),
        ("    - path: hr.csv", "    - url: http://hr.example.test/r\n      format: json\n      auth: {bearer_token_file: ldap.pw}", "hr.sources[0].url", "clear text"),
        ("    - path: hr.csv", "    - url: https://hr.example.test/r\n      format: json\n      auth: {bearer_token_file: nope}", "hr.sources[0].auth.bearer_token_file", "does not exist"),
        ("    - path: hr.csv", "    - url: https://hr.example.test/r\n      format: ndjson\n      paging: {next_link: next}", "hr.sources[0].paging.next_link", "format: json"),
        ("    - path: hr.csv", "    - url: https://hr.example.test/r\n      format: json\n      paging: {offset_parameter: o}", "hr.sources[0].paging", "limit_parameter and page_size"),
        ("uri: ldap://127.0.0.1:3890", "uri: http://127.0.0.1:3890", "directories[0].uri", "ldap://"),
        ("    base_dn: ou=people,dc=example,dc=test\n", "", "directories[0].base_dn", "is required"),
        ("  bind_password_file: ldap.pw", "  bind_password_file: missing.pw", "directories[0].bind_password_file", "does not exist"),
        ("source: urn:rollcall:test", "source: not a uri", "events.source", "URI reference"),
        ("(objectClass=inetOrgPerson)", "objectClass=inetOrgPerson", "directories[0].filter", "parentheses"),
        ("- uri: ldap://127.0.0.1:3890", "- uri: ldap://127.0.0.1:3890\n    uris: [ldap://127.0.0.1:3891]", "directories[0].uris", "not both"),
        ("- uri: ldap://127.0.0.1:3890", "- uris: [ldaps://a:636, ldap://b:389]", "directories[0].uris", "cannot be mixed"),
        ("  security: starttls", "  security: starttls\n    bind: sasl_external", "directories[0].bind", "remove bind_dn"),
        ("  security: starttls", "  security: starttls\n    tls_cert_file: ldap.pw", "directories[0].tls_cert_file", "go together"),
        ("  security: starttls", "  security: starttls\n    tls_min_version: \"1.1\"", "directories[0].tls_min_version", "is not one of"),
        ("  security: starttls", "  security: starttls\n    retry: {attempts: 0}", "directories[0].retry.attempts", "between 1 and 100"),
        ("  security: starttls", "  security: starttls\n    delta: sometimes", "directories[0].delta", "is not one of"),
        ("  security: starttls", "  security: starttls\n    delta: dirsync", "directories[0].delta", "Active Directory's"),
        ("  security: starttls", "  security: starttls\n    kind: active_directory\n    delta: syncrepl", "directories[0].delta", "OpenLDAP's"),
        ("  security: starttls", "  security: starttls\n    kind: novell", "directories[0].kind", "is not one of"),
        ("directories:\n  - uri", "directories:\n  - name: a b\n    uri", "directories[0].name", "letters, digits"),
        ("directories:\n", "directory:\n", "directory", "directories are a list now"),
    ])
    func problemsNameTheirKey(replace: String, with: String, key: String, reason: String) throws {
        #expect(Self.valid.contains(replace), "test setup: \(replace)")
        let problem = try #require(error(Self.valid.replacingOccurrences(of: replace, with: with)))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
        #expect(!problem.description.contains("hunter2"))
    }

    @Test func failoverURIsAndSaslExternalOverLdapi() throws {
        let failover = try load(Self.valid.replacingOccurrences(of: "- uri: ldap://127.0.0.1:3890", with: "- uris: [ldap://127.0.0.1:3890, ldap://127.0.0.2:3890]"))
        #expect(failover.directories.first?.ldap.uri == "ldap://127.0.0.1:3890 ldap://127.0.0.2:3890")
        let local = try load(Self.valid
            .replacingOccurrences(of: "- uri: ldap://127.0.0.1:3890\n    security: starttls\n    bind_dn: cn=rollcall,dc=example,dc=test\n    bind_password_file: ldap.pw",
                                  with: "- uri: ldapi://%2Frun%2Fslapd%2Fldapi\n    bind: sasl_external"))
        #expect(local.directories.first?.ldap.bind == .saslExternal)
        #expect(local.directories.first?.ldap.security == LDAPSettings.Security.none)
    }

    @Test func activeDirectoryDefaults() throws {
        let loaded = try load(Self.valid.replacingOccurrences(of: "  security: starttls", with: "  security: starttls\n    kind: active_directory\n    delta: usn")
            .replacingOccurrences(of: "base_dn: ou=people,dc=example,dc=test", with: "base_dn: OU=People,DC=corp,DC=example,DC=com"))
        let ad = try #require(loaded.directories.first)
        #expect(ad.mapping.anchorAttribute == "objectGUID")
        #expect(ad.domainRoot == "DC=corp,DC=example,DC=com")
        #expect(ad.search.controls == ["1.2.840.113556.1.4.1339"])
        #expect(ad.delta == .usn)
    }

    static let twoDirectories = """
        store: {path: rollcall.sqlite}
        events: {source: "urn:rollcall:test"}
        directories:
          - name: corp-ad
            kind: active_directory
            uri: ldaps://dc1.corp.example.com
            bind_dn: rollcall@corp.example.com
            bind_password_file: ldap.pw
            base_dn: OU=Staff,DC=corp,DC=example,DC=com
            correlation: {hr_field: employee_id, directory_attribute: employeeID}
          - name: lab
            uri: ldap://127.0.0.1:3890
            base_dn: ou=people,dc=lab
            correlation: {hr_field: email, directory_attribute: mail}
        hr:
          sources: [{path: hr.csv, fields: {employee_id: id, email: mail}}]
        """

    @Test func severalDirectoriesEachWithTheirOwnSettings() throws {
        let resolved = try load(Self.twoDirectories)
        #expect(resolved.directories.map(\.name) == ["corp-ad", "lab"])
        #expect(resolved.directories.map(\.kind) == [.activeDirectory, .openldap])
        #expect(resolved.directories.map(\.correlation) == [.employeeID, .email])
        #expect(resolved.directories.map(\.mapping.anchorAttribute) == ["objectGUID", "entryUUID"])
        #expect(resolved.directories.map(\.ldap.security) == [.ldaps, .startTLS])
        #expect(resolved.directories.map(\.key) == ["directories[0]", "directories[1]"])
    }

    @Test func anHTTPSourceWithPagingAndCredentials() throws {
        let resolved = try load(Self.valid.replacingOccurrences(of: "    - path: hr.csv", with: """
                - url: https://hr.example.test/v1/employees?fields=all
                  format: json
                  records: employees
                  auth: {username: rollcall, password_file: ldap.pw}
                  timeout_seconds: 20
                  retry: {attempts: 5}
                  paging: {offset_parameter: offset, limit_parameter: limit, page_size: 200}
            """))
        let source = try #require(resolved.hrSources.first)
        let pull = try #require(source.http)
        #expect(source.path == "https://hr.example.test/v1/employees")
        #expect(pull.auth == .basic(username: "rollcall", passwordFile: directory.appendingPathComponent("ldap.pw").path))
        #expect(pull.paging == .offset(offsetParameter: "offset", limitParameter: "limit", pageSize: 200))
        #expect(pull.timeoutSeconds == 20 && pull.retry.attempts == 5)
    }

    @Test func correlationRulesInOrder() throws {
        let resolved = try load(Self.valid.replacingOccurrences(of: """
                correlation:
                  hr_field: employee_id
                  directory_attribute: employeeNumber
            """, with: """
                correlation:
                  - {hr_field: employee_id, directory_attribute: employeeNumber}
                  - {hr_field: email, directory_attribute: mail}
            """))
        let directory = try #require(resolved.directories.first)
        #expect(directory.rules == [CorrelationRule(hrField: .employeeID, attribute: "employeeNumber"),
                                    CorrelationRule(hrField: .email, attribute: "mail")])
        #expect(directory.mapping.moreCorrelationAttributes == ["mail"])
        let problem = try #require(error(Self.valid.replacingOccurrences(of: """
                correlation:
                  hr_field: employee_id
                  directory_attribute: employeeNumber
            """, with: """
                correlation:
                  - {hr_field: employee_id, directory_attribute: employeeNumber}
                  - {hr_field: badge, directory_attribute: x}
            """)))
        #expect(problem.description.contains("configuration"))
        #expect(problem.key == "directories[0].correlation[1].hr_field", "\(problem)")
        #expect(problem.description.contains("\"badge\" is not one of"))
    }

    @Test(arguments: [
        ("when: {department: {equals: Eng}}", "when: {dept: {equals: Eng}}", "entitlements.birthright[0].when.dept", "not a person attribute"),
        ("when: {department: {equals: Eng}}", "when: {department: {like: Eng}}", "entitlements.birthright[0].when.department.like", "expected equals"),
        ("when: {department: {equals: Eng}}", "when: {all: [{department: {equals: Eng}}, {title: {}}]}", "entitlements.birthright[0].when.all[1]", "exactly one of"),
        ("groups: [\"cn=a,ou=groups,dc=t\", \"cn=b,ou=groups,dc=t\"]", "groups: [cn=a,ou=groups,dc=t, cn=b,ou=groups,dc=t]",
         "entitlements.separation_of_duties[0].groups", "write DNs in quotes"),
        ("  directory: default", "  directory: nope", "entitlements.directory", "not a configured directory"),
        ("groups: [\"cn=admins,ou=groups,dc=t\"]", "groups: [\"cn=Domain Admins,cn=users,dc=t\"]", "entitlements.privileged.groups", "is not under entitlements.groups.base_dn"),
        ("groups: [\"cn=admins,ou=groups,dc=t\"]", "groups: []", "entitlements.privileged.groups", "at least one group DN"),
        ("allowed_members: [\"uid=root,dc=t\"]", "allowed_members: [root]", "entitlements.privileged.allowed_members", "root is not a DN"),
        ("allowed_members: [\"uid=root,dc=t\"]", "active_directory_protected: true", "entitlements.privileged.active_directory_protected",
         "needs the entitlement directory default to be kind: active_directory"),
    ])
    func entitlementProblemsNameTheirKey(replace: String, with: String, key: String, reason: String) throws {
        let text = Self.valid + """
            entitlements:
              directory: default
              groups: {base_dn: "ou=groups,dc=t"}
              birthright:
                - name: eng
                  group: cn=eng,ou=groups,dc=t
                  when: {department: {equals: Eng}}
              separation_of_duties:
                - name: ap
                  groups: ["cn=a,ou=groups,dc=t", "cn=b,ou=groups,dc=t"]
              privileged:
                groups: ["cn=admins,ou=groups,dc=t"]
                allowed_members: ["uid=root,dc=t"]

            """
        let valid = try load(text)
        #expect(valid.entitlements?.policy.privileged == PrivilegedPolicy(groups: ["cn=admins,ou=groups,dc=t"], allowedMembers: ["uid=root,dc=t"]))
        #expect(valid.entitlements?.protectedGroupsBaseDN == nil)
        #expect(valid.entitlements?.policy.birthright.first?.condition == .equals(.department, "Eng"))
        #expect(valid.entitlements?.policy.separation.first?.groups == ["cn=a,ou=groups,dc=t", "cn=b,ou=groups,dc=t"])
        #expect(text.contains(replace), "test setup: \(replace)")
        let problem = try #require(error(text.replacingOccurrences(of: replace, with: with)))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
    }

    @Test(arguments: [
        ("lifecycle: {purge_after_days: 400, tombstone_key_file: ldap.pw}", nil, nil),
        ("lifecycle: {purge_after_days: 400}", "lifecycle.tombstone_key_file", "is required with purge_after_days"),
        ("lifecycle: {purge_after_days: 10, tombstone_key_file: ldap.pw}", "lifecycle.purge_after_days", "between deprovision_after_days (30)"),
        ("lifecycle: {purge_after_days: 400, tombstone_key_file: nope.key}", "lifecycle.tombstone_key_file", "does not exist"),
        ("lifecycle: {tombstone_key_file: ldap.pw}", "lifecycle.tombstone_key_file", "only used with purge_after_days"),
    ] as [(String, String?, String?)])
    func retentionSettings(section: String, key: String?, reason: String?) throws {
        let text = Self.valid + section + "\n"
        guard let key, let reason else {
            let resolved = try load(text)
            #expect(resolved.lifecycle.purgeAfterDays == 400)
            #expect(resolved.tombstoneKeyFile == directory.appendingPathComponent("ldap.pw").path)
            return
        }
        let problem = try #require(error(text))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
    }

    /// Secret files as ssh treats private keys: readable by their owner only, and holding one
    /// printable line (the tombstone key any bytes, a webhook's secrets several lines).
    @Test func secretFilesMustBePrivateAndPlain() throws {
        let password = directory.appendingPathComponent("ldap.pw").path
        func refusal() -> String? { error(Self.valid).map { "\($0.key ?? "") \($0.reason)" } }
        #expect(refusal() == nil)
        for mode in [0o644, 0o640, 0o604, 0o620] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: password)
            let text = try #require(refusal())
            #expect(text.contains("directories[0].bind_password_file") && text.contains("(mode 0\(String(mode, radix: 8)))")
                    && text.contains("chmod 600 \(password)"), "\(text)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: password)
        #expect(refusal() == nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password)
        // A line break inside, or a control character: refused, the secret not shown.
        for (content, expected) in [("Zq9\nword\n", "line break inside"), ("Zq9\u{7}word", "control character"), ("Zq9\rword", "line break")] {
            try SecretFixture.write(content, to: password)
            let text = try #require(refusal())
            #expect(text.contains(expected) && !text.contains("Zq9"), "\(text)")
        }
        // Trailing line breaks are not part of the secret.
        try SecretFixture.write("password\r\n", to: password)
        #expect(refusal() == nil)
        // A tombstone key is bytes; a webhook secret file is lines.
        let key = directory.appendingPathComponent("tombstone.key").path
        try SecretFixture.write(Data([0, 1, 2, 10, 13, 200] + Array(repeating: 7, count: 40)), to: key)
        let hook = directory.appendingPathComponent("hook.whsec").path
        try SecretFixture.write("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=\nwhsec_b3RoZXItc2VjcmV0LXNlY3JldA==\n", to: hook)
        let more = """
            lifecycle: {purge_after_days: 400, tombstone_key_file: tombstone.key}
            webhooks: [{name: app, url: "https://hooks.example.com/x", secret_file: hook.whsec}]

            """
        #expect(error(Self.valid + more) == nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: hook)
        #expect(error(Self.valid + more)?.key == "webhooks[0].secret_file")
        // What a run reads is checked again (a file made readable after the start).
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        #expect(throws: SecretFile.Refusal.self) { try SecretFile.read(key, content: .binary) }
    }

    /// Production: an admin without root, umask 022, writes the password file the usual way and
    /// `rollcall config check` tells them what to do.
    @Test func anUnprivilegedAdminIsToldToChmod() async throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let config = directory.appendingPathComponent("rollcall.yaml").path
        try Self.valid.write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: directory.appendingPathComponent("ldap.pw").path)
        let password = directory.appendingPathComponent("ldap.pw").path
        func asNobody(_ command: String) async throws -> Shell.Result {
            try await Shell.run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/bin/sh", "-c", "umask 022; " + command])
        }
        _ = try await asNobody("echo s3cret-pass > \(password)")
        let checked = try await asNobody("\(CLITests.binary) config check --config \(config)")
        #expect(checked.status != 0 && checked.error.contains("(mode 0644): chmod 600 \(password)"), "\(checked.output)\(checked.error)")
        #expect(!checked.error.contains("s3cret-pass"))
        _ = try await asNobody("chmod 600 \(password)")
        let fixed = try await asNobody("\(CLITests.binary) config check --config \(config)")
        #expect(!fixed.error.contains("bind_password_file"), "\(fixed.error)")
    }

    /// `serve.tls` and where the feed may listen: plain HTTP on loopback only (or allow_insecure
    /// behind a proxy); a name that merely starts with 127. is not loopback.
    @Test(arguments: [
        ("serve: {listen: \"127.0.0.1:8642\"}", nil, nil),
        ("serve: {listen: \"[::1]:8642\"}", nil, nil),
        ("serve: {listen: \"0.0.0.0:8642\"}", "serve.listen", "is not a loopback address"),
        ("serve: {listen: \"127.evil.example:8642\"}", "serve.listen", "is not a loopback address"),
        ("serve: {listen: \"0.0.0.0:8642\", allow_insecure: true}", nil, nil),
        ("serve: {listen: \"0.0.0.0:8642\", tls: {cert_file: ldap.pw, key_file: ldap.pw}}", nil, nil),
        ("serve: {tls: {cert_file: ldap.pw, key_file: nope.key}}", "serve.tls.key_file", "does not exist"),
        ("serve: {tls: {cert_file: ldap.pw, key_file: ldap.pw, min_version: \"1.1\"}}", "serve.tls.min_version", "must be"),
        ("webhooks: [{name: a, url: \"http://127.evil.example/x\", secret_file: ldap.pw}]", "webhooks[0].url", "must be https://"),
        ("webhooks: [{name: a, url: \"http://127.0.0.9/x\", secret_file: ldap.pw}]", nil, nil),
    ] as [(String, String?, String?)])
    func listenerSettings(section: String, key: String?, reason: String?) throws {
        let text = Self.valid + section + "\n"
        guard let key, let reason else {
            let resolved = try load(text)
            if section.contains("tls:") { #expect(resolved.serve.tls?.minVersion == "1.2") }
            return
        }
        let problem = try #require(error(text))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
    }

    /// Numbers that would overflow a conversion later (seconds to milliseconds, to Int) are refused
    /// at load, naming the key and line; a quoted number is text and left to its key's own check.
    @Test(arguments: [
        ("    security: starttls\n", "    security: starttls\n    operation_timeout_seconds: 1e300\n", "directories[0].operation_timeout_seconds"),
        ("    security: starttls\n", "    security: starttls\n    page_size: 99999999999999\n", "directories[0].page_size"),
        ("    security: starttls\n", "    security: starttls\n    retry: {max_delay_seconds: .inf}\n", "directories[0].retry.max_delay_seconds"),
        ("    security: starttls\n", "    security: starttls\n    full_read_interval_hours: .nan\n", "directories[0].full_read_interval_hours"),
        ("source: urn:rollcall:test\n", "source: urn:rollcall:test\n  retention_days: -9e15\n", "events.retention_days"),
    ] as [(String, String, String)])
    func hugeNumbersAreRefusedAtLoad(replace: String, with: String, key: String) throws {
        #expect(Self.valid.contains(replace), "test setup: \(replace)")
        let problem = try #require(error(Self.valid.replacingOccurrences(of: replace, with: with)))
        #expect(problem.key == key && problem.reason.contains("out of range") && problem.line != nil, "\(problem)")
    }

    /// `events.retention_days`: 90 unless set, whole days from 1.
    @Test func eventRetention() throws {
        #expect(try load(Self.valid).eventRetentionDays == 90)
        let set = Self.valid.replacingOccurrences(of: "  source: urn:rollcall:test\n", with: "  source: urn:rollcall:test\n  retention_days: 14\n")
        #expect(try load(set).eventRetentionDays == 14)
        let zero = try #require(error(set.replacingOccurrences(of: "retention_days: 14", with: "retention_days: 0")))
        #expect(zero.key == "events.retention_days" && zero.description.contains("from 1 to 36500"), "\(zero)")
    }

    /// `reports.dormant_after_days`: 90 unless set, whole days from 1; an unknown key under
    /// `reports` names itself.
    @Test func dormantAfterDays() throws {
        #expect(try load(Self.valid).dormantAfterDays == 90)
        #expect(try load(Self.valid + "reports: {dormant_after_days: 30}\n").dormantAfterDays == 30)
        let zero = try #require(error(Self.valid + "reports: {dormant_after_days: 0}\n"))
        #expect(zero.key == "reports.dormant_after_days" && zero.description.contains("from 1 to 36500"), "\(zero)")
        let unknown = try #require(error(Self.valid + "reports: {dormant_days: 30}\n"))
        #expect(unknown.key == "reports.dormant_days", "\(unknown)")
    }

    @Test func anEmptyListOfDirectoriesIsAnError() throws {
        let problem = try #require(error("store: {path: a}\nevents: {source: urn:x}\ndirectories: []\nhr: {sources: [{path: hr.csv, fields: {employee_id: id}}]}\n"))
        #expect(problem.key == "directories")
        #expect(problem.description.contains("at least one"))
    }

    @Test func severalDirectoriesNeedDistinctNames() throws {
        let unnamed = try #require(error(Self.twoDirectories.replacingOccurrences(of: "  - name: lab\n    uri", with: "  - uri")))
        #expect(unnamed.key == "directories[1].name")
        #expect(unnamed.description.contains("required when several are configured"))
        let twice = try #require(error(Self.twoDirectories.replacingOccurrences(of: "name: lab", with: "name: corp-ad")))
        #expect(twice.key == "directories[1].name")
        #expect(twice.description.contains("already the name of directories[0]"))
        let badKey = try #require(error(Self.twoDirectories.replacingOccurrences(of: "    base_dn: ou=people,dc=lab", with: "    basedn: ou=people,dc=lab")))
        #expect(badKey.key == "directories[1].basedn")
        #expect(badKey.line == 13)
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
