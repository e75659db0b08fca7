import Foundation
import RollcallCore
import RollcallDaemon
import RollcallHR
import RollcallTestSupport
import Testing

/// Real HR exports nobody on this team wrote (Faros AI's BambooHR and Workday fixtures), read
/// through the shipped example configurations in etc/examples: only the file format differs (the
/// fixtures are Airbyte NDJSON with each record at `record.data`).
@Suite(.enabled(if: RepositoryPaths.externalTestData("faros-airbyte-hr-fixtures") != nil,
                "../shared/testdata/external/faros-airbyte-hr-fixtures absent"))
struct HRExportTests {
    static func sources(example: String, fixture: String) throws -> [HRSourceSettings] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hr-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let secret = folder.appendingPathComponent("secret").path
        try SecretFixture.write("x", to: secret)
        let data = try #require(RepositoryPaths.externalTestData("faros-airbyte-hr-fixtures")).appendingPathComponent(fixture).path
        var text = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("etc/examples/\(example).yaml"), encoding: .utf8)
        for path in ["/etc/rollcall/ad-password", "/etc/rollcall/ad-ca.pem", "/etc/rollcall/ldap-password", "/etc/rollcall/ldap-ca.pem"] {
            text = text.replacingOccurrences(of: path, with: secret)
        }
        text = text.replacingOccurrences(of: "      format: json\n", with: "      format: ndjson\n      on_bad_rows: skip\n")
            .replacingOccurrences(of: "records: Report_Entry", with: "records: record.data")
            .replacingOccurrences(of: "records: employees", with: "records: record.data")
            .replacingOccurrences(of: "/var/lib/rollcall/hr/workday-report.json", with: data)
            .replacingOccurrences(of: "/var/lib/rollcall/hr/bamboohr-report.json", with: data)
            .replacingOccurrences(of: "/var/lib/rollcall/rollcall.sqlite", with: folder.appendingPathComponent("r.sqlite").path)
        let file = folder.appendingPathComponent("rollcall.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try ConfigurationLoader.load(path: file.path).hrSources
    }

    static let today = Day(year: 2026, month: 11, day: 27) ?? Day(epochSeconds: 0)

    @Test func bambooHRSentinelsBadDatesDuplicatesAndSelfManagers() async throws {
        let result = try await HRSources.read(try Self.sources(example: "bamboohr", fixture: "bamboohr/all-streams.log"))
        // 87 records; employeeNumber 59 is on lines 1 and 2, and line 1 has "Bad Date" in both dates.
        #expect(result.records.count == 85)
        #expect(result.rejected.map(\.location.line) == [1, 2])
        #expect(result.rejected.allSatisfy { $0.location.source.hasSuffix("all-streams.log") && $0.source == "bamboohr" })
        #expect(result.rejected[0].reason.contains("hire_date \"Bad Date\""))
        #expect(result.rejected[0].reason.contains("termination_date \"Bad Date Again\""))
        #expect(result.rejected[1].reason.contains("employee id 59 also at line 1") && result.rejected[1].reason.contains("disputed"))
        #expect(!result.records.contains { $0.employeeID == "59" })
        // "0000-00-00" is no date: nobody gets a termination date from the sentinel, so nobody is a leaver.
        #expect(result.records.allSatisfy { $0.attributes.terminationDate == nil })
        #expect(result.records.allSatisfy { Lifecycle(policy: LifecyclePolicy()).state(of: $0.attributes, on: Self.today, stored: nil).state == .active })
        // The value map turns BambooHR's employment status into an employee type.
        #expect(Set(result.records.compactMap(\.attributes.employeeType)).isSubset(of: ["employee", "contractor", "intern", "On-Leave", "Terminated"]))
        #expect(result.records.contains { $0.attributes.employeeType == "contractor" })
        #expect(result.records.allSatisfy { $0.attributes.email.map { $0 == $0.lowercased() } ?? true })
        // Three people are recorded as their own supervisor: used, and reported.
        let own = result.warnings.filter { $0.reason.hasSuffix("is their own manager") }
        #expect(own.count == 3)
        #expect(own.allSatisfy { $0.source == "bamboohr" })

        // A first run on these persons and a second one: no leaver from any sentinel or bad date.
        let first = try Reconciler().plan(records: result.records, directories: [], state: StoredState(), today: Self.today)
        let second = try Reconciler().plan(records: result.records, directories: [], state: StoredState().applying(first), today: Self.today)
        #expect(first.summary.leavers == 0 && second.isEmpty)
    }

    @Test func workdayDuplicateSelfManagerAndAFutureTermination() async throws {
        let result = try await HRSources.read(try Self.sources(example: "workday", fixture: "workday/stream_many_records_per_employee.log"))
        // Employee 197 appears twice: disputed, neither record used.
        #expect(result.rejected.count == 2)
        #expect(result.rejected.allSatisfy { $0.reason.contains("employee id 197") })
        #expect(result.records.count == 102)
        // One of the 197 rows names 197 as its own manager: that record is rejected anyway, but
        // nobody used is self-managed, and the managers outside the report are reported.
        #expect(result.warnings.allSatisfy { $0.reason.contains("is in no HR source") || $0.reason.contains("before hire_date") })
        #expect(result.warnings.contains { $0.reason.contains("manager id 203") })
        let ends = result.records.compactMap(\.attributes.terminationDate).map(\.description).sorted()
        // 201's termination (2022) is before its start (2023): an earlier employment's, ignored.
        #expect(ends == ["2020-02-10", "2050-08-31"])
        #expect(result.records.first { $0.employeeID == "201" }.map { $0.attributes.terminationDate == nil && $0.attributes.status == .active } == true)
        #expect(result.records.first { $0.employeeID == "100" }?.attributes.hireDate == Day(iso: "2016-01-02"))

        // Month by month from 2015 to today: each past termination is one leaver on its day, the
        // 2050 one fires nothing.
        var state = StoredState()
        var leavers: [String] = []
        for year in 2015...2026 {
            for month in 1...12 {
                guard let day = Day(year: year, month: month, day: 1), day <= Self.today else { continue }
                let plan = try Reconciler().plan(records: result.records, directories: [], state: state, today: day)
                leavers += plan.events.filter { $0.kind == .leaver }.map(\.subject)
                state = state.applying(plan)
            }
        }
        let now = try Reconciler().plan(records: result.records, directories: [], state: state, today: Self.today)
        leavers += now.events.filter { $0.kind == .leaver }.map(\.subject)
        // 200 worked 2019-02-10 to 2020-02-10: one leaver. 201's termination (2022) is before its
        // start (2023): reported, ignored, and 201 stays active.
        #expect(leavers == ["200"])
        #expect(result.warnings.contains { $0.reason == "termination_date 2022-10-11 is before hire_date 2023-10-11 for employee 201; the termination date is ignored (an earlier employment's)" })
        #expect(state.persons["201"]?.lifecycle == .active)
        #expect(state.persons.values.filter { $0.attributes.terminationDate?.description == "2050-08-31" }.allSatisfy { $0.lifecycle == .active })
    }

    /// The Workday example as shipped, fetched from a local HTTP server the way a Workday tenant
    /// serves a custom report: one JSON document, rows under Report_Entry, a bearer token.
    @Test func theWorkdayExampleOverHTTPWithABearerToken() async throws {
        let fixture = try #require(RepositoryPaths.externalTestData("faros-airbyte-hr-fixtures")).appendingPathComponent("workday/stream_v3.log")
        let rows = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n").map { line -> Any in
            let envelope = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (envelope?["record"] as? [String: Any])?["data"] ?? [:]
        }
        let server = try await HTTPFixture.start(["records": rows, "records_key": "Report_Entry", "bearer": "wd-token"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wd-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let token = folder.appendingPathComponent("token").path
        try SecretFixture.write("wd-token\n", to: token)
        var text = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("etc/examples/workday.yaml"), encoding: .utf8)
        for path in ["/etc/rollcall/ad-password", "/etc/rollcall/ad-ca.pem"] { text = text.replacingOccurrences(of: path, with: token) }
        text = text.replacingOccurrences(of: "      path: /var/lib/rollcall/hr/workday-report.json\n",
                                         with: "      url: \(server.url("/ccx/service/customreport2/t/o/Workers?format=json"))\n      auth: {bearer_token_file: \(token)}\n")
        let file = folder.appendingPathComponent("rollcall.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let sources = try ConfigurationLoader.load(path: file.path).hrSources
        let result = try await HRSources.read(sources)
        #expect(result.records.count == 103)
        #expect(result.rejected.isEmpty)
        #expect(result.records.first?.origin.description == "\(server.url("/ccx/service/customreport2/t/o/Workers")) record 1")
        #expect(try server.requests().map(\.authorization_scheme) == ["Bearer"])
    }

    @Test func theSelfManagedWorkdayRowIsReportedWhenItsIDIsNotDisputed() async throws {
        // The same export without the second 197 row: the self-managed row is used and reported.
        let original = try #require(RepositoryPaths.externalTestData("faros-airbyte-hr-fixtures"))
            .appendingPathComponent("workday/stream_many_records_per_employee.log")
        let lines = try String(contentsOf: original, encoding: .utf8).split(separator: "\n")
        let kept = lines.filter { line in
            !(line.contains("\"Employee_ID\": \"197\"") && !line.contains("\"Manager_ID\": \"197\""))
        }
        #expect(kept.count == lines.count - 1)
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("workday-\(UUID().uuidString).log")
        try (kept.joined(separator: "\n") + "\n").write(to: copy, atomically: true, encoding: .utf8)
        var sources = try Self.sources(example: "workday", fixture: "workday/stream_many_records_per_employee.log")
        sources[0].path = copy.path
        let result = try await HRSources.read(sources)
        #expect(result.rejected.isEmpty)
        let own = result.warnings.filter { $0.reason == "employee 197 is their own manager" }
        #expect(own.count == 1)
        #expect(own.first?.location.line == kept.firstIndex { $0.contains("\"Manager_ID\": \"197\"") }.map { $0 + 1 })
    }
}
