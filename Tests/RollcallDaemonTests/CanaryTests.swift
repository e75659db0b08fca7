import Foundation
import RollcallTestSupport
import Testing

/// Issue 12: a canary in every secret file (the LDAP bind password, an HTTP bearer token, an HTTP
/// basic password, the tombstone key, a webhook secret), good runs and failing ones (a wrong
/// token, a wrong bind password, a webhook that never answers), then everything Rollcall wrote is
/// searched for each canary: logs at debug level, the store file and its WAL, run reports, the
/// audit export, an identity export, the event feed. Zero hits.
@Suite struct CanaryTests {
    static func canary(_ what: String) -> String { "CANARY\(what)\(UInt64.random(in: 1_000_000_000...9_999_999_999))" }

    @Test func noSecretAppearsAnywhere() async throws {
        let bearer = Self.canary("bearer")
        let basic = Self.canary("basic")
        let wrongBearer = Self.canary("wrongbearer")
        let wrongPassword = Self.canary("wrongldap")
        let tombstoneKey = Self.canary("tombstonekey") + "-0123456789abcdef0123"
        let webhookKey = Data(Self.canary("webhookkey").utf8)
        let whsec = "whsec_" + webhookKey.base64EncodedString()
        let record: (Int) -> [String: String] = { i in
            ["Employee ID": "E\(i)", "First Name": "Given\(i)", "Last Name": "Family\(i)", "Department": "Sales",
             "Job Title": "Analyst", "Status": "Active", "Termination Date": ""]
        }
        let bearerServer = try await HTTPFixture.start(["records": [record(4)], "paging": "none", "records_key": "data", "bearer": bearer])
        let basicServer = try await HTTPFixture.start(["records": [record(5)], "paging": "none", "records_key": "data", "basic": ["rollcall", basic]])
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let folder = world.directory
        func secret(_ name: String, _ text: String) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try SecretFixture.write(text, to: path)
            return path
        }
        let ldapPassword = try String(contentsOfFile: world.slapd.syncPasswordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let passwordFile = try secret("ldap.pw", ldapPassword)
        let bearerFile = try secret("bearer", bearer + "\n")
        let basicFile = try secret("basic", basic + "\n")
        let keyFile = try secret("tombstone.key", tombstoneKey)
        let hookFile = try secret("hook.whsec", whsec + "\n")
        let fields = ReconcileJobTests.fields
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closed = refusing.port
        let config = folder.appendingPathComponent("rollcall.yaml").path
        var text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: world.slapd.syncPasswordFile, with: passwordFile)
        text = text.replacingOccurrences(of: "hr:\n  sources:\n", with: """
            hr:
              sources:
                - name: api-bearer
                  url: \(bearerServer.url("/people?api_key=none"))
                  format: json
                  records: data
                  auth: {bearer_token_file: \(bearerFile)}
            \(fields)
                - name: api-basic
                  url: \(basicServer.url("/people"))
                  format: json
                  records: data
                  auth: {username: rollcall, password_file: \(basicFile)}
            \(fields)

            """)
        text += """
            lifecycle: {purge_after_days: 400, tombstone_key_file: \(keyFile)}
            webhooks:
              - {name: nowhere, url: "http://127.0.0.1:\(closed)/hook", secret_file: \(hookFile), timeout_seconds: 1}

            """
        text = text.replacingOccurrences(of: "    - path: hr.csv\n", with: "    - name: csv\n      path: hr.csv\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        var written: [String] = []
        func rollcall(_ arguments: [String]) async throws -> Shell.Result {
            let result = try await Shell.run(CLITests.binary, arguments + ["--config", config, "--log-level", "debug"])
            written.append(result.output + result.error)
            return result
        }
        let check = try await rollcall(["config", "check"])
        #expect(check.status == 0, "\(check.error)")
        // A good run: 5 persons from three sources.
        let good = try await rollcall(["reconcile"])
        #expect(good.status == 0, "\(good.error)")
        // A wrong bearer token: the HR read fails.
        try SecretFixture.write(wrongBearer + "\n", to: bearerFile)
        let refused = try await rollcall(["reconcile"])
        #expect(refused.status != 0 && refused.error.contains("401"), "\(refused.error)")
        try SecretFixture.write(bearer + "\n", to: bearerFile)
        // A wrong bind password: the directory read fails.
        try SecretFixture.write(wrongPassword, to: passwordFile)
        let unbound = try await rollcall(["reconcile"])
        #expect(unbound.status != 0, "\(unbound.error)")
        try SecretFixture.write(ldapPassword, to: passwordFile)
        // The daemon: a run, and a webhook that is never answered (deliveries fail and are retried).
        #expect(try await rollcall(["webhook", "replay", "nowhere", "--from", "1"]).status == 0)
        let notify = try NotifySocket()
        let (daemon, _) = try ServeTests.startAfterFirstRun(world, notify: notify, serve: "")
        try await Task.sleep(for: .seconds(3))
        daemon.signal(SIGTERM)
        daemon.wait(timeout: 30)
        written.append(daemon.errorOutput)
        #expect(daemon.errorOutput.contains("webhook delivery failed"), "\(daemon.errorOutput.suffix(2000))")
        // What an operator or an auditor gets out.
        for command in [["runs", "--limit", "10"], ["report", "1"], ["report", "2"], ["report", "3"], ["events", "list"],
                        ["audit", "export"], ["identity", "export", "E4"], ["identity", "export", "E5"], ["status", "--json"]] {
            written.append(try await rollcall(command).output)
        }
        // The store's bytes, its WAL's, everything in the folder Rollcall made.
        var bytes: [Data] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("rollcall.sqlite") {
            bytes.append(try Data(contentsOf: folder.appendingPathComponent(name)))
        }
        #expect(!bytes.isEmpty)
        let everything = written.joined(separator: "\n")
        #expect(everything.contains("Given4") && everything.contains("Given5"), "the searched output holds the runs' data")
        for canary in [ldapPassword, bearer, basic, wrongBearer, wrongPassword, tombstoneKey, whsec, String(decoding: webhookKey, as: UTF8.self)] {
            #expect(!everything.contains(canary), "\(canary.prefix(12))… appears in what Rollcall printed or logged")
            for data in bytes {
                #expect(data.range(of: Data(canary.utf8)) == nil, "\(canary.prefix(12))… appears in the store's files")
            }
        }
    }
}
