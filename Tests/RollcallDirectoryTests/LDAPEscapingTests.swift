import Foundation
import Logging
import RollcallDirectory
import RollcallTestSupport
import Synchronization
import Testing

@Suite struct LDAPEscapingTests {
    @Test(arguments: [
        ("E1001", "E1001"),
        ("*)(uid=*", "\\2a\\29\\28uid=\\2a"),
        ("a\\b", "a\\5cb"),
        ("nul\u{0}byte", "nul\\00byte"),
        ("Zoë (R&D)", "Zoë \\28R&D\\29"),
    ])
    func filterValues(_ input: String, _ expected: String) {
        #expect(LDAPEscaping.filterValue(input) == expected)
    }

    @Test(arguments: [
        ("Smith, John", "Smith\\, John"),
        (" leading and trailing ", "\\ leading and trailing\\ "),
        ("#hash", "\\#hash"),
        ("a#b", "a#b"),
        ("x+y;z<w>\"q\\", "x\\+y\\;z\\<w\\>\\\"q\\\\"),
        ("nul\u{0}", "nul\\00"),
        // libldap trims an unescaped leading or trailing tab/CR/LF (found by scripts/fuzz).
        ("\tlead\r\n", "\\09lead\\0d\\0a"),
        ("a\u{7f}b", "a\\7fb"),
    ])
    func dnValues(_ input: String, _ expected: String) {
        #expect(LDAPEscaping.dnValue(input) == expected)
    }

    @Test func attributeNamesAreChecked() {
        #expect(throws: LDAPError.self) { try LDAPEscaping.equalityFilter(attribute: "uid)(cn", value: "x") }
        #expect((try? LDAPEscaping.equalityFilter(attribute: "employeeNumber", value: "E*")) == "(employeeNumber=E\\2a)")
    }

    /// Against slapd: an injected id matches only an entry whose value is literally that text.
    @Test func injectionsMatchOnlyTheLiteralValue() async throws {
        let slapd = try await SlapdFixture.start(ldif: """
            dn: uid=p1,ou=people,dc=example,dc=test
            objectClass: inetOrgPerson
            uid: p1
            cn: P1
            sn: P
            employeeNumber: E1

            dn: uid=p2,ou=people,dc=example,dc=test
            objectClass: inetOrgPerson
            uid: p2
            cn: P2
            sn: P
            employeeNumber: *)(uid=*


            """)
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        let connection = try await LDAPConnection.connect(LDAPSettings(uri: slapd.uri, security: .none, bindDN: SlapdFixture.syncDN,
                                                                       bindPassword: password))
        for (value, expected) in [("*)(uid=*", ["uid=p2,ou=people,dc=example,dc=test"]), ("*", []), ("E1", ["uid=p1,ou=people,dc=example,dc=test"])] {
            let found = Mutex<[String]>([])
            let filter = try LDAPEscaping.equalityFilter(attribute: "employeeNumber", value: value)
            try await connection.pagedSearch(SearchRequest(baseDN: SlapdFixture.peopleBase, filter: filter, attributes: ["uid"])) { page in
                found.withLock { $0.append(contentsOf: page.map(\.dn)) }
            }
            #expect(found.withLock { $0 } == expected, "filter \(filter)")
        }
    }
}
