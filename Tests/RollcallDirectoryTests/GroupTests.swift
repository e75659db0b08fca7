import Foundation
import RollcallCore
import RollcallDirectory
import RollcallTestSupport
import Testing

@Suite struct GroupTests {
    /// OpenLDAP has no in-chain rule: groups are read and expanded by Rollcall, cycles included.
    @Test func openLDAPNestedGroupsWithACycle() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(4) + """
            dn: cn=outer,ou=services,dc=example,dc=test
            objectClass: groupOfNames
            cn: outer
            member: uid=p1,ou=people,dc=example,dc=test
            member: cn=inner,ou=services,dc=example,dc=test

            dn: cn=inner,ou=services,dc=example,dc=test
            objectClass: groupOfNames
            cn: inner
            member: uid=p2,ou=people,dc=example,dc=test
            member: cn=outer,ou=services,dc=example,dc=test

            dn: cn=other,ou=services,dc=example,dc=test
            objectClass: groupOfNames
            cn: other
            member: uid=p4,ou=people,dc=example,dc=test


            """)
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        let connection = try await LDAPConnection.connect(LDAPSettings(uri: slapd.uri, security: .none, bindDN: SlapdFixture.syncDN,
                                                                       bindPassword: password))
        let groups = try await connection.readGroups(baseDN: "ou=services,dc=example,dc=test", filter: "(objectClass=groupOfNames)",
                                                     anchorAttribute: "entryUUID")
        #expect(groups.count == 3)
        let members = GroupExpansion.effectiveMembers(groups)
        let expected: Set<String> = ["uid=p1,ou=people,dc=example,dc=test", "uid=p2,ou=people,dc=example,dc=test"]
        #expect(members["cn=outer,ou=services,dc=example,dc=test"] == expected)
        #expect(members["cn=inner,ou=services,dc=example,dc=test"] == expected)
        #expect(members["cn=other,ou=services,dc=example,dc=test"] == ["uid=p4,ou=people,dc=example,dc=test"])
    }

    /// Active Directory: Rollcall's own expansion agrees with the DC's in-chain matching rule, and
    /// the 1,600-member group arrives whole through range retrieval.
    @Test func activeDirectoryInChainAgreesWithOwnExpansion() async throws {
        let dc = try await SambaFixture.start()
        try await dc.modify("""
            dn: CN=Nested Outer,\(SambaFixture.groups)
            changetype: add
            objectClass: group
            sAMAccountName: nestedouter
            member: CN=Group 01,\(SambaFixture.groups)
            member: CN=User 01999,\(SambaFixture.people)

            dn: CN=Group 01,\(SambaFixture.groups)
            changetype: modify
            add: member
            member: CN=Group 02,\(SambaFixture.groups)

            """)
        let connection = try await LDAPConnection.connect(try ActiveDirectoryTests.settings(dc))
        let groups = try await connection.readGroups(baseDN: SambaFixture.groups, filter: "(objectClass=group)", anchorAttribute: "objectGUID")
        #expect(groups.first { $0.dn.hasPrefix("CN=Group Big,") }?.members.count == 1600)
        let own = GroupExpansion.effectiveMembers(groups)["cn=nested outer,\(SambaFixture.groups.lowercased())"] ?? []
        let chain = try await connection.transitiveMembers(of: "CN=Nested Outer,\(SambaFixture.groups)", baseDN: SambaFixture.base)
        #expect(own.count == 21)
        #expect(own == Set(chain.map { $0.lowercased() }))
        // The other direction: the user's memberOf (direct groups only, as AD keeps it) names the group.
        let user = try #require(try await connection.firstEntry(SearchRequest(baseDN: "CN=User 01999,\(SambaFixture.people)", scope: .base,
                                                                              filter: "(objectClass=user)", attributes: ["memberOf"])))
        #expect(user.strings("memberOf")?.contains("CN=Nested Outer,\(SambaFixture.groups)") == true)
        #expect(user.strings("memberOf")?.contains("CN=Group 01,\(SambaFixture.groups)") == false)
    }
}
