import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// One configuration, three directories at once: a Samba AD DC and two slapd servers, each with
/// its own URI, bind, base, filter, anchor and correlation rule.
@Suite struct MultiDirectoryRunTests {
    static let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_773_576_000) }

    static func entry(_ i: Int, mail: Bool) -> String {
        let id = String(format: "E%05d", i)
        return "dn: uid=p\(i),ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: p\(i)\ncn: P \(i)\nsn: P\n"
            + (mail ? "mail: \(id.lowercased())@Example.test\n" : "employeeNumber: \(id)\n") + "\n"
    }

    static func hr(department: (Int) -> String = { _ in "Sales" }) -> String {
        "id,mail,department,status\n" + (1...6).map { i in
            let id = String(format: "E%05d", i)
            return "\(id),\(id.lowercased())@example.test,\(department(i)),Active\n"
        }.joined()
    }

    @Test func threeDirectoriesOnePersonOneAccountEach() async throws {
        async let dcStart = SambaFixture.start()
        async let labStart = SlapdFixture.start(ldif: (1...4).map { Self.entry($0, mail: false) }.joined())
        async let engStart = SlapdFixture.start(ldif: (3...6).map { Self.entry($0, mail: true) }.joined())
        let (dc, lab, eng) = try await (dcStart, labStart, engStart)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("multi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let csv = folder.appendingPathComponent("hr.csv")
        try Self.hr().write(to: csv, atomically: true, encoding: .utf8)
        let config = """
            store: {path: rollcall.sqlite}
            events: {source: "urn:rollcall:multi"}
            guard: {first_run: apply}  # the first run applies as planned (its hold is GuardRunTests' subject)
            directories:
              - name: corp-ad
                kind: active_directory
                uri: \(dc.uri)
                security: none
                allow_insecure: true
                bind_dn: \(SambaFixture.syncUser)
                bind_password_file: \(dc.syncPasswordFile)
                base_dn: \(SambaFixture.people)
                filter: (&(objectClass=user)(sAMAccountName=u0000*))
                attributes: [sAMAccountName]
                delta: usn
                correlation: {hr_field: employee_id, directory_attribute: employeeID}
              - name: lab-ldap
                uri: \(lab.uri)
                ca_file: \(lab.caFile)
                bind_dn: \(SlapdFixture.syncDN)
                bind_password_file: \(lab.syncPasswordFile)
                base_dn: \(SlapdFixture.peopleBase)
                filter: (objectClass=inetOrgPerson)
                delta: syncrepl
                correlation: {hr_field: employee_id, directory_attribute: employeeNumber}
              - name: eng-ldap
                uri: \(eng.ldapsURI)
                ca_file: \(eng.caFile)
                bind_dn: \(SlapdFixture.syncDN)
                bind_password_file: \(eng.syncPasswordFile)
                base_dn: \(SlapdFixture.peopleBase)
                filter: (objectClass=inetOrgPerson)
                anchor_attribute: uid
                correlation: {hr_field: email, directory_attribute: mail}
            hr:
              sources:
                - path: hr.csv
                  fields: {employee_id: id, email: mail, department: department, status: status}
            """
        let file = folder.appendingPathComponent("rollcall.yaml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: file.path)
        let job = ReconcileJob(configuration: configuration, logger: Logger(label: "test"), now: Self.clock)
        let store = try Store.open(path: configuration.storePath)

        let first = try await job.run(dryRun: false)
        // AD: u00001…u00009 (six persons, three orphans); lab: E00001…E00004; eng: E00003…E00006 by mail.
        #expect(first.summary.entriesRead == 9 + 4 + 4)
        #expect(first.summary.matched == 6)
        #expect(first.summary.linked == 14)
        #expect(first.summary.orphans == 3)
        #expect(first.summary.joiners == 0)
        #expect(first.directories.map(\.directory) == ["corp-ad", "lab-ldap", "eng-ldap"])
        let identity = try #require(try store.identity("E00003"))
        #expect(identity.accounts.map(\.directory) == ["corp-ad", "eng-ldap", "lab-ldap"])
        #expect(identity.accounts.first { $0.directory == "eng-ldap" }?.anchor == "p3")
        let orphans = try store.events().filter { $0.type == "dev.rollcall.account.orphaned" }
        #expect(orphans.allSatisfy { $0.data["directory"] == .string("corp-ad") } && orphans.count == 3)

        let quiet = try await job.run(dryRun: false)
        #expect(quiet.summary.events == 0)
        #expect(quiet.directories.map(\.read) == ["delta", "delta", "full"])

        // One move: one mover event, naming the person's account in every directory.
        try Self.hr { $0 == 3 ? "Legal" : "Sales" }.write(to: csv, atomically: true, encoding: .utf8)
        let moved = try await job.run(dryRun: false)
        #expect(moved.summary.movers == 1 && moved.summary.events == 1)
        let mover = try #require(try store.events(after: moved.firstSeq.map { $0 - 1 } ?? 0).first)
        let directories = mover.data["accounts"].flatMap { accounts -> [String]? in
            guard case .array(let items) = accounts else { return nil }
            return items.compactMap { if case .string(let name)? = $0["directory"] { name } else { nil } }
        }
        #expect(directories == ["corp-ad", "eng-ldap", "lab-ldap"])

        // One directory down: the run fails naming it, and nothing is applied.
        let before = try store.events().count
        lab.kill()
        try Self.hr { $0 == 3 ? "Finance" : "Sales" }.write(to: csv, atomically: true, encoding: .utf8)
        do {
            _ = try await job.run(dryRun: false)
            Issue.record("a run with an unreachable directory applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.hasPrefix("directory lab-ldap: "), "\(failure.reason)")
        }
        #expect(try store.events().count == before)
        #expect(try store.loadState().persons["E00003"]?.attributes.department == "Legal")
        #expect(try store.runs().first?.status == "failed")
    }
}
