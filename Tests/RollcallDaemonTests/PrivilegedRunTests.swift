import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Privileged access against a real Samba AD DC: the protected groups (adminCount=1) and built-in
/// admin groups are found and watched without being configured; changes made outside Rollcall
/// are announced with high severity, and memberships no rule grants are flagged.
@Suite struct PrivilegedRunTests {
    static let domainAdmins = "CN=Domain Admins,CN=Users,\(SambaFixture.base)"
    static let administrators = "CN=Administrators,CN=Builtin,\(SambaFixture.base)"
    static let backupOperators = "CN=Backup Operators,CN=Builtin,\(SambaFixture.base)"
    static let opsBackup = "CN=Ops Backup,\(SambaFixture.groups)"

    static func job(_ dc: SambaFixture) throws -> (ReconcileJob, Store) {
        let world = try ADWorld.make(dc, top: """
            entitlements:
              groups: {base_dn: "\(SambaFixture.groups)", filter: "(cn=Ops Backup)"}
              birthright:
                - {name: ops-backup, group: "\(opsBackup)", when: {department: {equals: Ops}}}
              privileged:
                allowed_members: ["CN=Administrator,CN=Users,\(SambaFixture.base)"]
            """, fields: "{employee_id: id, status: status, department: department}",
            hr: "id,status,department\n" + (1...9).map { String(format: "E%05d,Active,%@\n", $0, $0 == 1 ? "Ops" : "Sales") }.joined())
        return (world.job, try world.store())
    }

    static func privileged(_ store: Store, after seq: Int64) throws -> [String] {
        try store.events(after: seq).filter { $0.type.hasPrefix("dev.rollcall.privileged.") }.map { event in
            let change = event.data["change"]?.stringValue.map { " \($0)" } ?? ""
            return "\(event.type.dropFirst("dev.rollcall.".count))\(change) \(event.subject) \(event.data["group"]?.stringValue ?? "?")"
        }.sorted()
    }

    /// Nothing about entitlements configured: an Active Directory's protected groups are watched
    /// anyway; `active_directory_protected: false` is the only way to turn it off.
    @Test func activeDirectoryIsWatchedWithoutAnEntitlementsSection() async throws {
        let dc = try await SambaFixture.start()
        let world = try ADWorld.make(dc, hr: ADWorld.staff())
        let job = world.job
        let store = try world.store()
        let first = try await job.run(dryRun: false)
        #expect(try store.loadState().privileged["default"]?[Self.domainAdmins.lowercased()] != nil)
        try await dc.modify("dn: \(Self.domainAdmins)\nchangetype: modify\nadd: member\nmember: CN=User 00002,\(SambaFixture.people)\n-\n")
        _ = try await job.run(dryRun: false)
        let seen = try Self.privileged(store, after: first.lastSeq ?? 0)
        #expect(seen.contains("privileged.membership_changed added E00002 \(Self.domainAdmins)"), "\(seen)")
        #expect(seen.contains("privileged.unauthorised E00002 \(Self.domainAdmins)"), "\(seen)")
    }

    @Test func protectedGroupsAreWatchedAndChangesOutsideRollcallAnnounced() async throws {
        let dc = try await SambaFixture.start()
        try await dc.modify("""
            dn: \(Self.opsBackup)
            changetype: add
            objectClass: group
            sAMAccountName: ops-backup

            """)
        let (job, store) = try Self.job(dc)

        // First sight: the baseline. Administrator is in the admin groups but allowed: nothing to say.
        let first = try await job.run(dryRun: false)
        var seq = first.lastSeq ?? 0
        #expect(try Self.privileged(store, after: 0).isEmpty)
        let watched = try store.loadState().privileged["default"] ?? [:]
        #expect(watched[Self.domainAdmins.lowercased()]?.members.keys.contains("cn=administrator,cn=users,\(SambaFixture.base.lowercased())") == true)
        #expect(watched[Self.backupOperators.lowercased()] != nil)
        #expect(try await job.run(dryRun: false).summary.events == 0)

        // Someone makes E00002 a Domain Admin: direct in Domain Admins, nested in Administrators.
        try await dc.modify("""
            dn: \(Self.domainAdmins)
            changetype: modify
            add: member
            member: CN=User 00002,\(SambaFixture.people)

            """)
        var run = try await job.run(dryRun: false)
        #expect(try Self.privileged(store, after: seq) == [
            "privileged.membership_changed added E00002 \(Self.administrators)",
            "privileged.membership_changed added E00002 \(Self.domainAdmins)",
            "privileged.unauthorised E00002 \(Self.administrators)",
            "privileged.unauthorised E00002 \(Self.domainAdmins)",
        ])
        let added = try #require(try store.events(after: seq).first { $0.data["group"]?.stringValue == Self.administrators && $0.data["change"] != nil })
        #expect(added.data["nested"] == .bool(true))
        #expect(added.data["severity"] == .string("high"))
        #expect(added.data["member"] == .string("CN=User 00002,\(SambaFixture.people)"))
        #expect(run.summary.privilegedChanges == 2 && run.summary.unauthorised == 2)
        seq = run.lastSeq ?? seq
        #expect(try await job.run(dryRun: false).summary.events == 0)

        // The backup group (granted to Ops people by a birthright rule) is nested into Backup
        // Operators and E00001 (Ops) is put in it: an authorised change. E00002 is taken out again.
        try await dc.modify("""
            dn: \(Self.backupOperators)
            changetype: modify
            add: member
            member: \(Self.opsBackup)

            dn: \(Self.opsBackup)
            changetype: modify
            add: member
            member: CN=User 00001,\(SambaFixture.people)

            dn: \(Self.domainAdmins)
            changetype: modify
            delete: member
            member: CN=User 00002,\(SambaFixture.people)

            """)
        run = try await job.run(dryRun: false)
        let after = try store.events(after: seq).filter { $0.type.hasPrefix("dev.rollcall.privileged.") }
        #expect(try Self.privileged(store, after: seq) == [
            "privileged.membership_changed added E00001 \(Self.backupOperators)",
            "privileged.membership_changed removed E00002 \(Self.administrators)",
            "privileged.membership_changed removed E00002 \(Self.domainAdmins)",
        ])
        let granted = try #require(after.first { $0.subject == "E00001" })
        #expect(granted.data["authorised"] == .bool(true))
        #expect(granted.data["rules"] == .array(["ops-backup"]))
        #expect(try store.loadState().privilegedNotices.isEmpty)
        #expect(try await job.run(dryRun: false).summary.events == 0)
    }
}
