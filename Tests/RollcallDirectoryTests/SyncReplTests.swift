import Foundation
import RollcallDirectory
import RollcallTestSupport
import Testing

/// RFC 4533 refreshOnly against a real slapd with syncprov and a session log.
@Suite struct SyncReplTests {
    static let request = SearchRequest(baseDN: SlapdFixture.peopleBase, filter: "(objectClass=inetOrgPerson)",
                                       attributes: ["entryUUID", "employeeNumber", "title"])

    func connect(_ slapd: SlapdFixture) async throws -> LDAPConnection {
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        return try await LDAPConnection.connect(LDAPSettings(uri: slapd.uri, security: .none, bindDN: SlapdFixture.syncDN,
                                                             bindPassword: password))
    }

    func refresh(_ slapd: SlapdFixture, cookie: [UInt8]?) async throws -> SyncReplRefresh {
        let connection = try await connect(slapd)
        guard case .refreshed(let result) = try await connection.syncReplRefresh(Self.request, cookie: cookie) else {
            throw FixtureError("the server asked for a full refresh")
        }
        return result
    }

    static func uuid(_ entry: LDAPEntry) -> String { entry.strings("entryUUID")?.first ?? "" }

    /// libldap's refresh has no deadline of its own: a directory that stops answering mid-refresh
    /// (here a proxy that goes silent after the bind) ends it after operation_timeout_seconds
    /// without anything arriving, as an error that treats nothing as deleted. The socket has TCP
    /// keepalive on.
    @Test func aRefreshThatStopsReceivingEndsAtItsDeadline() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(5))
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-\(UUID().uuidString)").path
        let slapdPort = slapd.uri.split(separator: ":").last.map(String.init) ?? ""
        let proxy = try BackgroundProcess("/usr/bin/python3", [RepositoryPaths.script("stalling-proxy"), "127.0.0.1", slapdPort, "2", portFile])
        defer { proxy.signal(SIGTERM) }
        var port: String?
        for _ in 0..<100 where port == nil {
            port = try? String(contentsOfFile: portFile, encoding: .utf8)
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        let connection = try await LDAPConnection.connect(LDAPSettings(uri: "ldap://127.0.0.1:\(try #require(port))", security: .none,
                                                                       bindDN: SlapdFixture.syncDN, bindPassword: password,
                                                                       operationTimeoutSeconds: 2))
        let keepalive = try await connection.keepalive()
        #expect(keepalive.enabled && keepalive.idleSeconds == 60)
        let started = Date()
        do {
            _ = try await connection.syncReplRefresh(Self.request, cookie: nil)
            Issue.record("a refresh without answers returned")
        } catch let error as LDAPError {
            #expect(error.description.contains("nothing arrived for 2 s") && error.description.contains("nothing is treated as deleted"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 30)
        // The connection is closed, not left half-read.
        await #expect(throws: LDAPError.self) { _ = try await connection.syncReplRefresh(Self.request, cookie: nil) }
    }

    @Test func aFirstRefreshListsEverythingAndADeltaOnlyWhatChanged() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(20))
        let initial = try await refresh(slapd, cookie: nil)
        #expect(initial.changed.count == 20)
        #expect(initial.completeness == .presentsListed)
        #expect(!initial.cookie.isEmpty)
        let uuidOf = Dictionary(uniqueKeysWithValues: initial.changed.map { ($0.dn, Self.uuid($0)) })

        // Nothing changed: nothing is sent.
        let quiet = try await refresh(slapd, cookie: initial.cookie)
        #expect(quiet.changed.isEmpty)
        #expect(quiet.deleted.isEmpty)

        try await slapd.modify("""
            dn: uid=p3,ou=people,dc=example,dc=test
            changetype: modify
            replace: title
            title: Promoted

            dn: uid=p5,ou=people,dc=example,dc=test
            changetype: delete

            dn: uid=p21,ou=people,dc=example,dc=test
            changetype: add
            objectClass: inetOrgPerson
            uid: p21
            cn: Person 21
            sn: P21
            employeeNumber: E21

            """)
        let delta = try await refresh(slapd, cookie: quiet.cookie)
        #expect(Set(delta.changed.map(\.dn)) == ["uid=p3,ou=people,dc=example,dc=test", "uid=p21,ou=people,dc=example,dc=test"])
        #expect(delta.changed.first { $0.dn.hasPrefix("uid=p3,") }?.strings("title") == ["Promoted"])
        #expect(delta.deleted == [uuidOf["uid=p5,ou=people,dc=example,dc=test"] ?? "?"])
        #expect(delta.completeness == .changesOnly)
        #expect(delta.cookie != quiet.cookie)
    }

    @Test func afterARestartTheStaleCookieGetsAPresentList() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(10))
        let initial = try await refresh(slapd, cookie: nil)
        let uuidOf = Dictionary(uniqueKeysWithValues: initial.changed.map { ($0.dn, Self.uuid($0)) })
        // The delete happens before the restart, so only the lost session log knew about it.
        try await slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: delete\n")
        try await slapd.restart()
        let after = try await refresh(slapd, cookie: initial.cookie)
        // slapd 2.5 without its session log answers with the list of present entries.
        #expect(after.completeness == .presentsListed)
        #expect(after.changed.isEmpty && after.present.count == 9)
        switch after.completeness {
        case .presentsListed:
            let alive = after.present.union(after.changed.map(Self.uuid))
            #expect(alive.count == 9)
            #expect(!alive.contains(uuidOf["uid=p2,ou=people,dc=example,dc=test"] ?? "?"))
        case .changesOnly:
            #expect(after.deleted == [uuidOf["uid=p2,ou=people,dc=example,dc=test"] ?? "?"])
        }
    }

    @Test func anUnknownCookieIsAFullRefreshOrARefreshRequired() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(4))
        let connection = try await connect(slapd)
        let outcome = try await connection.syncReplRefresh(Self.request, cookie: Array("rid=000,csn=20000101000000.000000Z#000000#000#000000".utf8))
        switch outcome {
        case .refreshRequired:
            break
        case .refreshed(let result):
            #expect(result.completeness == .presentsListed)
            #expect(result.present.union(result.changed.map(Self.uuid)).count == 4)
        }
    }
}

/// refreshAndPersist: a change made with ldapmodify arrives while the stream is open.
@Suite struct PersistentSyncTests {
    @Test func anLdapmodifyArrivesWithinASecond() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(3))
        let connection = try await SyncReplTests().connect(slapd)
        var iterator = connection.persistentChanges(SyncReplTests.request).makeAsyncIterator()
        var refreshed: [String] = []
        while let change = try await iterator.next() {
            if case .changed(let entry) = change { refreshed.append(entry.dn) }
            if case .refreshDone = change { break }
        }
        #expect(refreshed.count == 3)

        // Measured from the moment ldapmodify returns (the change is committed), so the time to
        // start the ldapmodify process on a loaded machine does not count.
        try await slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: modify\nreplace: title\ntitle: Live\n")
        let clock = ContinuousClock()
        let start = clock.now
        let change = try await iterator.next()
        let elapsed = clock.now - start
        guard case .changed(let entry) = try #require(change) else {
            Issue.record("expected a changed entry, got \(String(describing: change))")
            return
        }
        #expect(entry.dn == "uid=p2,ou=people,dc=example,dc=test")
        #expect(entry.strings("title") == ["Live"])
        #expect(elapsed < .seconds(1), "arrived after \(elapsed)")

        try await slapd.modify("dn: uid=p3,ou=people,dc=example,dc=test\nchangetype: delete\n")
        guard case .deleted(let uuid) = try #require(try await iterator.next()) else {
            Issue.record("expected a deletion")
            return
        }
        #expect(UUID(uuidString: uuid) != nil)
    }

    @Test func theStreamFailsWhenTheServerGoesAway() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(2))
        let connection = try await SyncReplTests().connect(slapd)
        var iterator = connection.persistentChanges(SyncReplTests.request).makeAsyncIterator()
        while let change = try await iterator.next() {
            if case .refreshDone = change { break }
        }
        slapd.kill()
        await #expect(throws: LDAPError.self) {
            while try await iterator.next() != nil {}
        }
    }
}
