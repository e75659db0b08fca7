import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Whole runs against a real Samba AD DC, with DirSync and with uSNChanged deltas.
@Suite struct ActiveDirectoryRunTests {
    static func job(_ dc: SambaFixture, mode: String, admin: Bool = true) throws -> (ReconcileJob, Store) {
        let world = try ADWorld.make(dc, account: admin ? .administrator : .readOnly,
                                     directory: ["attributes: [sAMAccountName, title, userAccountControl]", "delta: \(mode)"],
                                     hr: ADWorld.staff())
        return (world.job, try world.store())
    }

    @Test(arguments: ["dirsync", "usn"])
    func deltasSeeDeletesMovesAndChanges(mode: String) async throws {
        let dc = try await SambaFixture.start()
        let (job, store) = try Self.job(dc, mode: mode)

        let first = try await job.run(dryRun: false)
        #expect(first.directories.first?.read == "full")
        #expect(first.summary.matched == 9)
        let anchors = Dictionary(uniqueKeysWithValues: try store.loadState().links.map { ($0.employeeID, $0.anchor) })
        #expect(anchors.values.allSatisfy { UUID(uuidString: $0) != nil })

        let quiet = try await job.run(dryRun: false)
        #expect(quiet.directories.first?.read == "delta")
        #expect(quiet.summary.events == 0)

        try await dc.modify("""
            dn: CN=User 00003,\(SambaFixture.people)
            changetype: delete

            dn: CN=User 00004,\(SambaFixture.people)
            changetype: modrdn
            newrdn: CN=User 00004
            deleteoldrdn: 1
            newsuperior: OU=Elsewhere,\(SambaFixture.base)

            dn: CN=User 00005,\(SambaFixture.people)
            changetype: modify
            replace: title
            title: Promoted

            """)
        let delta = try await job.run(dryRun: false)
        #expect(delta.directories.first?.read == "delta")
        let removed = try store.events(after: 9).filter { $0.type == "dev.rollcall.account.removed" }.map(\.subject)
        #expect(Set(removed) == Set([anchors["E00003"], anchors["E00004"]].compactMap { $0 }))
        #expect(try store.identity("E00005")?.accounts.first?.attributes["title"] == .array(["Promoted"]))

        let full = try await job.run(dryRun: false, forceFull: true)
        #expect(full.directories.first?.read == "full")
        #expect(full.summary.events == 0)
        #expect(full.summary.entriesRead == 7)
    }

    /// The sync account cannot see tombstones, so a uSNChanged delta misses a delete; the next
    /// full read, the safety net, finds it.
    @Test func aDeleteTheDeltaCannotSeeIsFoundByTheNextFullRead() async throws {
        let dc = try await SambaFixture.start()
        let (job, store) = try Self.job(dc, mode: "usn", admin: false)
        let first = try await job.run(dryRun: false)
        let seen = first.lastSeq ?? 0
        let anchor = try #require(try store.loadState().links.first { $0.employeeID == "E00006" }?.anchor)
        try await dc.modify("dn: CN=User 00006,\(SambaFixture.people)\nchangetype: delete\n")
        let delta = try await job.run(dryRun: false)
        #expect(delta.directories.first?.read == "delta")
        #expect(delta.summary.events == 0)
        let full = try await job.run(dryRun: false, forceFull: true)
        #expect(full.directories.first?.read == "full")
        #expect(try store.events(after: seen).map { "\($0.type) \($0.subject)" } == ["dev.rollcall.account.removed \(anchor)"])
    }
}
