import Foundation
import RollcallCore
import RollcallHR
import Testing

@Suite struct CSVSourceTests {
    static let header = "Employee ID,First Name,Last Name,Department,Status,Hire Date,Termination Date,Manager ID\n"

    func read(_ body: String, formats: [String] = ["yyyy-MM-dd"]) async throws -> (HRReadResult, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hr-\(UUID().uuidString).csv").path
        try (Self.header + body).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = HRSourceSettings(csv: path, columns: [
            .employeeID: "Employee ID", .givenName: "First Name", .familyName: "Last Name", .department: "Department",
            .status: "Status", .hireDate: "Hire Date", .terminationDate: "Termination Date", .managerID: "Manager ID",
        ], statusValues: ["Active": .active, "Terminated": .terminated, "Leave": .active], dateFormats: formats)
        return (try await HRSource(settings: settings).read(), path)
    }

    @Test func mapsColumnsAndNormalisesValues() async throws {
        let (result, path) = try await read("E1, Ada ,Lovelace,\"R&D, Labs\",ACTIVE,2020-01-02,,E9\n")
        #expect(result.rejected.isEmpty)
        let record = try #require(result.records.first)
        #expect(record.employeeID == "E1")
        #expect(record.attributes.givenName == "Ada")
        #expect(record.attributes.department == "R&D, Labs")
        #expect(record.attributes.status == .active)
        #expect(record.attributes.hireDate == Day(iso: "2020-01-02"))
        #expect(record.attributes.terminationDate == nil)
        #expect(record.attributes.managerID == "E9")
        #expect(record.origin == SourceLocation(source: path, line: 2))
    }

    @Test func badRowsAreRejectedWithLineAndReason() async throws {
        let (result, path) = try await read("""
            E1,Ada,L,Sales,Active,2020-01-02,,
            ,No,Id,Sales,Active,2020-01-02,,
            E3,Bad,Date,Sales,Active,Bad Date,,
            E4,Odd,Status,Sales,Retired,2020-01-02,,
            E5,Too,Few
            E6,Zero,Date,Sales,Active,0000-00-00,,

            """)
        // 0000-00-00 is the default "no date" sentinel, not a bad date.
        #expect(result.records.map(\.employeeID) == ["E1", "E6"])
        #expect(result.records.last?.attributes.hireDate == nil)
        #expect(result.rejected.map(\.location) == [3, 4, 5, 6].map { SourceLocation(source: path, line: $0) })
        #expect(result.rejected.allSatisfy { $0.source == "hr" })
        let reasons = result.rejected.map(\.reason)
        #expect(reasons[0] == "employee_id is empty")
        #expect(reasons[1].contains("hire_date \"Bad Date\""))
        #expect(reasons[2].contains("status \"Retired\""))
        #expect(reasons[3] == "3 fields where the header has 8")
    }

    @Test func duplicateIDsAreDisputedAndNeitherRowIsUsed() async throws {
        let (result, _) = try await read("E1,Ada,L,Sales,Active,,,\nE2,Bo,M,Sales,Active,,,\nE1,Eve,N,Legal,Active,,,\n")
        #expect(result.records.map(\.employeeID) == ["E2"])
        #expect(result.rejected.map(\.location.line) == [2, 4])
        #expect(result.rejected.allSatisfy { $0.reason.contains("E1") })
    }

    @Test func otherDateFormatsWhenConfigured() async throws {
        let (result, _) = try await read("E1,Ada,L,Sales,Active,03/15/2021,12/31/2026,\n", formats: ["yyyy-MM-dd", "MM/dd/yyyy"])
        #expect(result.rejected.isEmpty)
        #expect(result.records.first?.attributes.hireDate == Day(iso: "2021-03-15"))
        #expect(result.records.first?.attributes.terminationDate == Day(iso: "2026-12-31"))
    }

    @Test func aMissingColumnFailsTheSourceNamingTheColumn() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hr-\(UUID().uuidString).csv").path
        try "ID,Name\nE1,Ada\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = HRSourceSettings(csv: path, columns: [.employeeID: "Employee ID"])
        do {
            _ = try await HRSource(settings: settings).read()
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("no column \"Employee ID\""))
            #expect(error.location?.line == 1)
        }
    }

    @Test func aMissingFileFailsTheSource() async {
        let settings = HRSourceSettings(csv: "/nonexistent/hr.csv", columns: [.employeeID: "id"])
        await #expect(throws: HRSourceError.self) { try await HRSource(settings: settings).read() }
    }
}
