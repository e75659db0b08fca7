import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// A directory read cut short by a size limit must never become "998 accounts were deleted".
@Suite(.enabled(if: RepositoryPaths.externalTestData("openldap-tests") != nil,
                "../shared/testdata/external/openldap-tests is not present next to the repository"))
struct SizeLimitedReadTests {
    @Test func its9282AnonymousRunFailsWithoutAnyEvent() async throws {
        let folder = try #require(RepositoryPaths.externalTestData("openldap-tests"))
        let ldif = try String(contentsOf: folder.appendingPathComponent("its9282-exampledb.ldif"), encoding: .utf8)
        let slapd = try await SlapdFixture.start(ldif: ldif, suffix: "dc=example,dc=com", sizeLimit: 500, dataHasRoot: true)
        let uids = ldif.split(separator: "\n").filter { $0.hasPrefix("uid: ") }.map { $0.dropFirst(5) }
        #expect(uids.count == 999)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("its9282-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try ("id,status\n" + uids.map { "\($0),Active\n" }.joined())
            .write(to: directory.appendingPathComponent("hr.csv"), atomically: true, encoding: .utf8)
        func configuration(bind: String) throws -> ResolvedConfiguration {
            let text = """
                store: {path: rollcall.sqlite}
                events: {source: "urn:rollcall:its9282"}
                guard: {first_run: apply}  # the first run applies as planned (its hold is GuardRunTests' subject)
                directories:
                  - uri: \(slapd.uri)
                    security: none
                    allow_insecure: true
                    correlation: {hr_field: employee_id, directory_attribute: uid}
                \(bind)
                    base_dn: dc=example,dc=com
                    filter: (objectClass=inetOrgPerson)
                    page_size: 100
                hr:
                  sources:
                    - path: hr.csv
                      fields: {employee_id: id, status: status}
                """
            let file = directory.appendingPathComponent("rollcall-\(UUID().uuidString).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            return try ConfigurationLoader.load(path: file.path)
        }
        let logger = Logger(label: "test")
        let withAccount = try configuration(bind: "    bind_dn: \(slapd.syncBindDN)\n    bind_password_file: \(slapd.syncPasswordFile)")
        let first = try await ReconcileJob(configuration: withAccount, logger: logger).run(dryRun: false)
        #expect(first.summary.entriesRead == 999)
        #expect(first.summary.matched == 999)

        let anonymous = try configuration(bind: "")
        do {
            _ = try await ReconcileJob(configuration: anonymous, logger: logger).run(dryRun: false)
            Issue.record("a size-limited read was applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("Size limit exceeded"))
        }
        let store = try Store.open(path: withAccount.storePath)
        #expect(try store.events(after: 0, limit: 5000).count == 999)
        #expect(try store.events(after: 999).isEmpty)
        #expect(try store.loadState().links.count == 999)
        #expect(try store.runs().first?.status == "failed")
    }
}
