import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallTestSupport
import Synchronization
import Testing

/// Against a real Samba AD DC (2,000 users, 50 groups, one group of 1,600).
@Suite struct ActiveDirectoryTests {
    static func settings(_ dc: SambaFixture, admin: Bool = false) throws -> LDAPSettings {
        let file = admin ? dc.adminPasswordFile : dc.syncPasswordFile
        return LDAPSettings(uri: dc.uri, security: .none, bindDN: admin ? SambaFixture.adminUser : SambaFixture.syncUser,
                            bindPassword: Array(try Data(contentsOf: URL(fileURLWithPath: file))), networkTimeoutSeconds: 5)
    }

    static let mapping = AccountMapping(anchorAttribute: "objectGUID", correlationAttribute: "employeeID",
                                        extraAttributes: ["sAMAccountName", "objectSid", "userAccountControl"])

    static func people(_ dc: SambaFixture) throws -> DirectoryReader {
        DirectoryReader(settings: try settings(dc),
                        request: SearchRequest(baseDN: SambaFixture.people, filter: "(&(objectCategory=person)(objectClass=user))",
                                               attributes: [], pageSize: 500),
                        mapping: mapping)
    }

    @Test func usersReadWithDecodedGUIDsSIDsAndAccountControl() async throws {
        let dc = try await SambaFixture.start()
        let accounts = try await Self.people(dc).readAccounts(logger: Logger(label: "test"))
        #expect(accounts.count == 2000)
        #expect(Set(accounts.map(\.anchor)).count == 2000)
        #expect(accounts.allSatisfy { UUID(uuidString: $0.anchor) != nil })
        let disabled = try #require(accounts.first { $0.correlationValue == "E00097" })
        let attributes = try JSONDecoder().decode([String: [String]].self, from: Data(disabled.attributesJSON.utf8))
        #expect(attributes["userAccountControl"] == ["546"])
        #expect(UserAccountControl(text: attributes["userAccountControl"]?.first ?? "")?.isDisabled == true)
        #expect(attributes["objectSid"]?.first?.hasPrefix("S-1-5-21-") == true)
        let enabled = try #require(accounts.first { $0.correlationValue == "E00001" })
        #expect(enabled.attributesJSON.contains("\"544\""))
    }

    @Test func rangeRetrievalReadsAGroupOverFifteenHundred() async throws {
        let dc = try await SambaFixture.start()
        let connection = try await LDAPConnection.connect(try Self.settings(dc))
        let members = try await connection.allValues(of: "member", in: "CN=Group Big,\(SambaFixture.groups)")
        #expect(members.count == 1600)
        #expect(Set(members.map { String(decoding: $0, as: UTF8.self) }).count == 1600)
        let small = try await connection.allValues(of: "member", in: "CN=Group 01,\(SambaFixture.groups)")
        #expect(small.count == 10)
    }

    @Test func aRecreatedAccountIsANewAnchor() async throws {
        let dc = try await SambaFixture.start()
        let before = try await Self.people(dc).readAccounts(logger: Logger(label: "test"))
        let old = try #require(before.first { $0.correlationValue == "E00005" })
        try await dc.modify("""
            dn: CN=User 00005,\(SambaFixture.people)
            changetype: delete

            dn: CN=User 00005,\(SambaFixture.people)
            changetype: add
            objectClass: user
            sAMAccountName: u00005
            employeeID: E00005
            userAccountControl: 544

            """)
        let after = try await Self.people(dc).readAccounts(logger: Logger(label: "test"))
        let new = try #require(after.first { $0.correlationValue == "E00005" })
        #expect(after.count == 2000)
        #expect(new.anchor != old.anchor)
        #expect(new.dn == old.dn)
        #expect(!after.contains { $0.anchor == old.anchor })
    }
}

@Suite struct DirSyncTests {
    @Test func changesAndDeletesSinceTheCookie() async throws {
        let dc = try await SambaFixture.start()
        let connection = try await LDAPConnection.connect(try ActiveDirectoryTests.settings(dc, admin: true))
        let attributes = ["objectGUID", "sAMAccountName", "title", "isDeleted"]
        let filter = "(&(objectClass=user)(sAMAccountName=u0001*))"
        let initial = try await connection.dirSync(baseDN: SambaFixture.base, filter: filter, attributes: attributes, cookie: nil)
        #expect(initial.entries.count == 10)
        #expect(!initial.cookie.isEmpty)
        let guids = Dictionary(uniqueKeysWithValues: initial.entries.compactMap { entry -> (String, String)? in
            guard let name = entry.strings("sAMAccountName")?.first, let guid = entry.values("objectGUID")?.first.flatMap(ADValues.guid) else { return nil }
            return (name, guid)
        })

        let quiet = try await connection.dirSync(baseDN: SambaFixture.base, filter: filter, attributes: attributes, cookie: initial.cookie)
        #expect(quiet.entries.isEmpty)

        try await dc.modify("""
            dn: CN=User 00011,\(SambaFixture.people)
            changetype: modify
            replace: title
            title: Moved

            dn: CN=User 00012,\(SambaFixture.people)
            changetype: delete

            """)
        let delta = try await connection.dirSync(baseDN: SambaFixture.base, filter: filter, attributes: attributes, cookie: quiet.cookie)
        let changed = delta.entries.first { $0.values("objectGUID")?.first.flatMap(ADValues.guid) == guids["u00011"] }
        #expect(changed?.strings("title") == ["Moved"])
        let deleted = delta.entries.first { $0.values("objectGUID")?.first.flatMap(ADValues.guid) == guids["u00012"] }
        #expect(deleted?.strings("isDeleted") == ["TRUE"])
        #expect(delta.entries.count == 2)
    }

    @Test func withoutTheReplicationRightTheErrorSaysSo() async throws {
        let dc = try await SambaFixture.start()
        let connection = try await LDAPConnection.connect(try ActiveDirectoryTests.settings(dc))
        do {
            _ = try await connection.dirSync(baseDN: SambaFixture.base, filter: "(objectClass=user)", attributes: ["objectGUID"], cookie: nil)
            Issue.record("DirSync worked without the right")
        } catch let error as LDAPError {
            #expect(error.code == 50)
            #expect(error.description.contains("Replicating Directory Changes"))
            #expect(error.description.contains(SambaFixture.syncUser))
        }
    }
}

@Suite struct USNDeltaTests {
    static let request = SearchRequest(baseDN: SambaFixture.people, filter: "(&(objectCategory=person)(objectClass=user))",
                                       attributes: ["objectGUID", "sAMAccountName", "title"])

    func guid(_ entry: LDAPEntry) -> String? { entry.values("objectGUID")?.first.flatMap(ADValues.guid) }

    @Test(arguments: [false, true])
    func changesDeletesAndMovesOutOfScope(admin: Bool) async throws {
        let dc = try await SambaFixture.start()
        let connection = try await LDAPConnection.connect(try ActiveDirectoryTests.settings(dc, admin: admin))
        let all = try await ActiveDirectoryTests.people(dc).readAccounts(logger: Logger(label: "test"))
        let anchor = { (employee: String) in all.first { $0.correlationValue == employee }?.anchor }
        let start = try await connection.usnCheckpoint()
        #expect(start.highestCommittedUSN > 0)
        #expect(start.dsServiceName.hasPrefix("CN=NTDS Settings,"))

        guard case .delta(let quiet) = try await connection.usnDelta(Self.request, domainRoot: SambaFixture.base, since: start) else {
            Issue.record("the same DC asked for a full read")
            return
        }
        #expect(quiet.changed.isEmpty && quiet.gone.isEmpty)

        try await dc.modify("""
            dn: CN=User 00021,\(SambaFixture.people)
            changetype: modify
            replace: title
            title: Changed

            dn: CN=User 00022,\(SambaFixture.people)
            changetype: delete

            dn: CN=User 00023,\(SambaFixture.people)
            changetype: modrdn
            newrdn: CN=User 00023
            deleteoldrdn: 1
            newsuperior: OU=Elsewhere,\(SambaFixture.base)

            """)
        guard case .delta(let delta) = try await connection.usnDelta(Self.request, domainRoot: SambaFixture.base,
                                                                     since: quiet.checkpoint) else {
            Issue.record("the same DC asked for a full read")
            return
        }
        #expect(delta.changed.map { guid($0) } == [anchor("E00021")])
        #expect(delta.changed.first?.strings("title") == ["Changed"])
        // The move out of OU=People is seen by anyone; the tombstone of the delete only by an
        // account that may list CN=Deleted Objects (the administrator here, not the sync account).
        let expected = admin ? [anchor("E00022"), anchor("E00023")] : [anchor("E00023")]
        // Objects outside the base that changed (e.g. the binding account's logon data) are also
        // "gone" for this base; only the ones this base held matter.
        #expect(delta.gone.intersection(all.map(\.anchor)) == Set(expected.compactMap { $0 }))
        #expect(delta.checkpoint.highestCommittedUSN > quiet.checkpoint.highestCommittedUSN)
    }

    @Test func anotherDomainControllerForcesAFullRead() async throws {
        let dc = try await SambaFixture.start()
        let connection = try await LDAPConnection.connect(try ActiveDirectoryTests.settings(dc))
        var checkpoint = try await connection.usnCheckpoint()
        checkpoint.dsServiceName = "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test"
        guard case .fullRequired(let reason, _) = try await connection.usnDelta(Self.request, domainRoot: SambaFixture.base,
                                                                                since: checkpoint) else {
            Issue.record("a checkpoint from another DC was used for a delta")
            return
        }
        #expect(reason.contains("domain controller changed"))
    }
}
