import Foundation
import RollcallDirectory
@testable import RollcallFuzzing
import RollcallTestSupport
import Testing

/// The fuzz targets (scripts/fuzz) outside libFuzzer: every input kept in fuzz/corpus-regressions
/// passes, the seeds reach the HR record mapping rather than stopping at the syntax, and the
/// properties the targets check do catch what they are meant to.
@Suite struct FuzzRegressionTests {
    let harness: FuzzHarness
    let regressions = RepositoryPaths.root.appendingPathComponent("fuzz/corpus-regressions")

    init() throws {
        harness = try FuzzHarness(repository: RepositoryPaths.root)
    }

    @Test func everyKeptInputPasses() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: regressions.path).sorted()
        var replayed = 0
        for name in directories {
            // A directory that names no target would never be replayed.
            let target = try #require(FuzzTarget(rawValue: name), "fuzz/corpus-regressions/\(name) is not a fuzz target")
            let folder = regressions.appendingPathComponent(name)
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
                let bytes = try Array(Data(contentsOf: folder.appendingPathComponent(file)))
                #expect(throws: Never.self, "\(name)/\(file)") { try harness.run(target, bytes) }
                replayed += 1
            }
        }
        #expect(replayed >= 20)
    }

    @Test func seedsReachTheRecordMapping() throws {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seed-\(UUID().uuidString).csv").path
        defer { unlink(csv) }
        let generated = try Shell.runBlocking(RepositoryPaths.script("gen-sample"), ["--count", "20", "--csv", csv])
        try #require(generated.status == 0, "\(generated.error)")
        #expect(harness.hrRecords(.csv, try Array(Data(contentsOf: URL(fileURLWithPath: csv)))) == 20)

        let bamboo = #"{"employees": [{"employeeNumber": "7", "firstName": "Ada", "status": "Active", "hireDate": "2020-01-02"}]}"#
        #expect(harness.hrRecords(.json, Array(bamboo.utf8)) == 1)
        let workday = #"{"record": {"data": {"Employee_ID": "1", "Full_Name": "Ada L", "Start_Date": "2021-04-28T10:41:28.768Z"}}}"#
        #expect(harness.hrRecords(.ndjson, Array((workday + "\n" + workday.replacingOccurrences(of: "\"1\"", with: "\"2\"")).utf8)) == 2)
        // Records elsewhere than the recommended configuration says are not records.
        #expect(harness.hrRecords(.json, Array(#"[{"employeeNumber": "7"}]"#.utf8)) == nil)

        if let external = RepositoryPaths.externalTestData("faros-airbyte-hr-fixtures") {
            let log = try Array(Data(contentsOf: external.appendingPathComponent("workday/stream_v4.log")))
            #expect((harness.hrRecords(.ndjson, log) ?? 0) > 0)
            let record = try String(contentsOf: external.appendingPathComponent("bamboohr/user_details_input.json"), encoding: .utf8)
            #expect(harness.hrRecords(.json, Array(#"{"employees": [\#(record)]}"#.utf8)) == 1)
        }
    }

    @Test func theChecksCatchWhatTheyAreFor() throws {
        // libldap reads the value we escape, and not the raw text.
        #expect(FuzzHarness.libldapFirstValue("cn=Doe\\, John,dc=x") == Array("Doe, John".utf8))
        #expect(FuzzHarness.libldapFirstValue("cn=Doe, John,dc=x") != Array("Doe, John".utf8))
        #expect(FuzzHarness.unescapeFilter("a\\2ab\\5c") == Array("a*b\\".utf8))
        #expect(FuzzHarness.unescapeFilter("a\\2") == nil)
        // Values an attacker would pick pass every escaping property.
        for value in ["*)(uid=*))(|(uid=*", " #lead and trail ", "a\u{0}b", "Müller, \"Hans\" <hm>;+=\\"] {
            #expect(throws: Never.self) { try harness.run(.escaping, Array(value.utf8)) }
        }
        // A DirSync response decodes; what is not one does not.
        let response: [UInt8] = [0x30, 0x0e, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x06] + Array("cookie".utf8)
        let decoded = try #require(DirSyncControl.response(response))
        #expect(decoded.more == 1 && decoded.cookie == Array("cookie".utf8))
        #expect(DirSyncControl.response(Array(response.prefix(9))) == nil)
    }
}
