import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Active Directory deltas against a real Samba AD DC, as a matrix: three filters (the one
/// etc/rollcall.yaml recommends among them) × the administrator and the least-privilege sync
/// account × DirSync and uSNChanged. In one delta: a user deleted, one deleted and recreated (same
/// sAMAccountName and employeeID), one moved out of the base, one that stops matching the filter
/// (where the filter tests an attribute), and one attribute change. The delta must see each as a
/// full read would: a forced full read afterwards changes nothing.
@Suite struct ADDeltaMatrixTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var filter: String
        var admin: Bool
        var mode: String
        var testDescription: String { "\(mode), \(admin ? "Administrator" : "least-privilege account"), \(filter)" }
    }

    static let filters = ["(objectClass=user)", "(&(objectCategory=person)(objectClass=user))", "(&(objectClass=user)(department=*))"]
    static let cases: [Case] = filters.flatMap { filter in
        [true, false].flatMap { admin in ["dirsync", "usn"].map { Case(filter: filter, admin: admin, mode: $0) } }
    }

    static let base = "OU=Matrix,\(SambaFixture.base)"
    static func user(_ n: Int, ou: String = base) -> String {
        "dn: CN=M\(n),\(ou)\nchangetype: add\nobjectClass: user\nsAMAccountName: m\(n)\nemployeeID: M\(n)\ndepartment: Sales\ntitle: T\n\n"
    }

    @Test(arguments: cases)
    func deltasSeeWhatAFullReadSees(_ matrix: Case) async throws {
        let dc = try await SambaFixture.start()
        try await dc.modify("dn: \(Self.base)\nchangetype: add\nobjectClass: organizationalUnit\n\n"
                            + "dn: OU=MatrixOut,\(SambaFixture.base)\nchangetype: add\nobjectClass: organizationalUnit\n\n"
                            + (1...6).map { Self.user($0) }.joined())
        let world = try ADWorld.make(dc, account: matrix.admin ? .administrator : .deltaSync, base: "OU=Matrix, DC=example, DC=test",
                                     filter: matrix.filter,
                                     directory: ["attributes: [sAMAccountName, title, department]", "delta: \(matrix.mode)",
                                                 // users added over LDAP without a password are disabled; account state is AccountStateRunTests'
                                                 "disabled_when: none"],
                                     top: "entitlements: {privileged: {active_directory_protected: false}}",
                                     hr: "id,status\n" + (1...6).map { "M\($0),Active\n" }.joined())
        let job = world.job
        let store = try world.store()
        let first = try await job.run(dryRun: false)
        #expect(first.summary.linked == 6, "\(matrix): the base written with spaces reads every account")
        let before = try store.loadState()
        func anchor(_ id: String) throws -> String { try #require(before.links.first { $0.employeeID == id }?.anchor) }

        let stopsMatching = matrix.filter.contains("department")
        try await dc.modify("dn: CN=M1,\(Self.base)\nchangetype: delete\n\n"
                            + "dn: CN=M2,\(Self.base)\nchangetype: delete\n\n" + Self.user(2)
                            + "dn: CN=M3,\(Self.base)\nchangetype: modrdn\nnewrdn: CN=M3\ndeleteoldrdn: 1\nnewsuperior: OU=MatrixOut,\(SambaFixture.base)\n\n"
                            + (stopsMatching ? "dn: CN=M4,\(Self.base)\nchangetype: modify\ndelete: department\n-\n\n" : "")
                            + "dn: CN=M5,\(Self.base)\nchangetype: modify\nreplace: title\ntitle: Promoted\n-\n")
        let delta = try await job.run(dryRun: false)
        #expect(delta.directories.first?.read == "delta", "\(matrix)")
        let seen = try store.events(after: first.lastSeq ?? 0).map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject)" }
        var expected = ["account.removed \(try anchor("M1"))", "account.relinked M2", "account.removed \(try anchor("M3"))"]
        if stopsMatching { expected.append("account.removed \(try anchor("M4"))") }
        #expect(Set(seen) == Set(expected), "\(matrix)")
        #expect(try store.identity("M5")?.accounts.first?.attributes["title"] == .array(["Promoted"]), "\(matrix)")

        let full = try await job.run(dryRun: false, forceFull: true)
        #expect(full.directories.first?.read == "full")
        let missed = try store.events(after: max(delta.lastSeq ?? 0, first.lastSeq ?? 0)).map(\.type)
        #expect(full.summary.events == 0, "\(matrix): the full read found what the delta missed: \(missed)")
    }
}
