import Foundation
import RollcallCore
import RollcallHR
import Testing

/// JSON and NDJSON sources, field transforms, and several sources read together.
@Suite struct JSONSourceTests {
    static func file(_ text: String, _ suffix: String = "json") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hr-\(UUID().uuidString).\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let fields: [PersonField: FieldRule] = [
        .employeeID: FieldRule(from: "Employee_ID"),
        .email: FieldRule(from: "contact.email", letterCase: .lower),
        .managerID: FieldRule(from: "Manager_ID"),
        .department: FieldRule(from: "Dept", valueMap: ["ENG": "Engineering"]),
        .hireDate: FieldRule(from: "Start_Date"),
    ]

    @Test func aWorkdayStyleReportWithNestedKeysNumbersAndTransforms() async throws {
        let path = try Self.file("""
            {"Report_Entry": [
              {"Employee_ID": "100", "contact": {"email": " Ada@Example.TEST "}, "Manager_ID": 200, "Dept": "eng", "Start_Date": "2016-01-02T16:44:56.854Z"},
              {"Employee_ID": 200, "contact": {"email": "bo@example.test"}, "Manager_ID": null, "Dept": "Legal", "Start_Date": "2019-07-01"},
              {"Employee_ID": "300", "contact": {"email": ["x"]}, "Dept": "Legal"},
              "not a record",
              {"Employee_ID": "", "Dept": "Legal"}
            ]}
            """)
        let settings = HRSourceSettings(name: "workday", format: .json, path: path, recordsPath: "Report_Entry",
                                        fields: Self.fields, dateFormats: ["iso8601"])
        let result = try await HRSource(settings: settings).read()
        #expect(result.records.map(\.employeeID) == ["100", "200"])
        let ada = try #require(result.records.first)
        #expect(ada.attributes.email == "ada@example.test")
        #expect(ada.attributes.managerID == "200")
        #expect(ada.attributes.department == "Engineering", "the value map matches case-insensitively")
        #expect(ada.attributes.hireDate == Day(iso: "2016-01-02"))
        #expect(ada.origin.description == "\(path) record 1")
        #expect(result.records.last?.attributes.managerID == nil)
        #expect(result.rejected.map(\.location.line) == [3, 4, 5])
        #expect(result.rejected.allSatisfy { $0.location.isRecordNumber && $0.source == "workday" })
        #expect(result.rejected[0].reason.contains("contact.email (mapped to email) holds a JSON array"))
        #expect(result.rejected[1].reason == "is not a JSON object")
        #expect(result.rejected[2].reason == "employee_id is empty")
        #expect(result.countsBySource == ["workday": 2])
    }

    @Test func anNDJSONEnvelopeWithBadLines() async throws {
        let path = try Self.file("""
            {"record": {"data": {"Employee_ID": "1", "Dept": "ENG"}}, "type": "RECORD"}

            {"record": {"data": {"Employee_ID": "2", "Dept": "Legal"}}, "type": "RECORD"}
            {"record": {"data": {"Employee_ID": "3"
            {"type": "STATE"}
            """, "ndjson")
        let settings = HRSourceSettings(name: "feed", format: .ndjson, path: path, recordsPath: "record.data", fields: Self.fields)
        let result = try await HRSource(settings: settings).read()
        #expect(result.records.map(\.employeeID) == ["1", "2"])
        #expect(result.records.map(\.origin.line) == [1, 3])
        #expect(result.rejected.map(\.location.line) == [4, 5])
        #expect(result.rejected[0].reason.hasPrefix("is not JSON"))
        #expect(result.rejected[1].reason == "has no record at \"record.data\"")
    }

    @Test func aDocumentWithoutTheRecordsFailsTheSource() async throws {
        let path = try Self.file("{\"Report_Entry\": {}}")
        let settings = HRSourceSettings(name: "w", format: .json, path: path, recordsPath: "Report_Entry", fields: Self.fields)
        await #expect { try await HRSource(settings: settings).read() } throws: { error in
            "\(error)".contains("holds no array of records at \"Report_Entry\"")
        }
        let broken = HRSourceSettings(name: "w", format: .json, path: try Self.file("[{\"Employee_ID\": 1},"), fields: Self.fields)
        await #expect { try await HRSource(settings: broken).read() } throws: { error in "\(error)".contains("is not JSON") }
    }

    @Test func requiredFieldsEmptyValuesAndTrimmingCanBeConfigured() async throws {
        let path = try Self.file("""
            [{"id": "1", "name": "  Ada  ", "end": "N/A"},
             {"id": "2", "end": "2030-01-01"}]
            """)
        var settings = HRSourceSettings(name: "s", format: .json, path: path,
                                        fields: [.employeeID: FieldRule(from: "id"), .givenName: FieldRule(from: "name", trim: false),
                                                 .terminationDate: FieldRule(from: "end")],
                                        emptyValues: ["N/A"], required: [.givenName])
        var result = try await HRSource(settings: settings).read()
        #expect(result.records.map(\.employeeID) == ["1"])
        #expect(result.records.first?.attributes.givenName == "  Ada  ")
        #expect(result.records.first?.attributes.terminationDate == nil)
        #expect(result.rejected.first?.reason == "required field given_name empty")
        settings.required = [.employeeID]
        result = try await HRSource(settings: settings).read()
        #expect(result.records.count == 2)
    }
}

@Suite struct HRSourcesTests {
    static func csv(_ name: String, _ body: String, allowEmpty: Bool = false) throws -> HRSourceSettings {
        let path = try JSONSourceTests.file("id,manager\n" + body, "csv")
        var settings = HRSourceSettings(csv: path, columns: [.employeeID: "id", .managerID: "manager"], name: name)
        settings.allowEmpty = allowEmpty
        return settings
    }

    @Test func anIDInTwoSourcesIsDisputedInBoth() async throws {
        let employees = try Self.csv("employees", "E1,\nE2,E1\n")
        let contractors = try Self.csv("contractors", "C1,E1\nE2,\n")
        let result = try await HRSources.read([employees, contractors])
        #expect(result.records.map(\.employeeID) == ["E1", "C1"])
        #expect(Set(result.rejected.map(\.source)) == ["employees", "contractors"])
        #expect(result.rejected.count == 2)
        #expect(result.rejected.allSatisfy { $0.reason.contains("employee id E2") && $0.reason.contains("disputed") })
        #expect(result.countsBySource == ["employees": 1, "contractors": 1])
    }

    @Test func anEmptySourceFailsUnlessAllowed() async throws {
        let employees = try Self.csv("employees", "E1,\n")
        let empty = try Self.csv("contractors", "")
        await #expect { try await HRSources.read([employees, empty]) } throws: { error in
            "\(error)".contains("source contractors yielded no persons")
        }
        let allowed = try Self.csv("contractors", "", allowEmpty: true)
        #expect(try await HRSources.read([employees, allowed]).records.count == 1)
        let allBad = try Self.csv("contractors", ",E1\n")
        await #expect { try await HRSources.read([employees, allBad]) } throws: { error in
            "\(error)".contains("1 records rejected")
        }
    }

    @Test func managerProblemsAreWarningsAndThePersonsAreUsed() async throws {
        let source = try Self.csv("hr", "E1,E1\nE2,E3\nE3,E4\nE4,E2\nE5,E9\nE6,E2\n")
        let result = try await HRSources.read([source])
        #expect(result.records.count == 6)
        #expect(result.rejected.isEmpty)
        let reasons = result.warnings.map { "\($0.location.line) \($0.reason)" }
        #expect(reasons == [
            "2 employee E1 is their own manager",
            "3 manager cycle: E2 → E3 → E4 → E2",
            "4 manager cycle: E2 → E3 → E4 → E2",
            "5 manager cycle: E2 → E3 → E4 → E2",
            "6 manager id E9 of employee E5 is in no HR source",
        ])
    }

    @Test func aLongManagerChainIsLinear() async throws {
        let body = (1...50_000).map { "E\($0),E\($0 + 1)\n" }.joined() + "E50001,\n"
        let result = try await HRSources.read([try Self.csv("hr", body)])
        #expect(result.warnings.isEmpty)
        #expect(result.records.count == 50_001)
    }
}
