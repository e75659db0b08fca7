import Foundation
import GRDB
import RollcallCore
@testable import RollcallStore
import Testing

/// Audit content written straight as canonical JSON must be the bytes the `JSONValue` path gives:
/// `audit verify` and chains written before both depend on it.
@Suite struct AuditContentTests {
    @Test(arguments: [false, true])
    func aPersonIsWrittenAsItsValue(_ full: Bool) {
        let person = full
            ? StoredPerson(employeeID: "E1", attributes: PersonAttributes(
                givenName: "Zoë", familyName: "Ng", displayName: "Zoë \"Z\" Ng", email: "z@example.test", department: "R&D\n",
                title: "CTO", managerID: "E0", employeeType: "contractor", location: "Oslo", status: .suspended,
                hireDate: Day(iso: "2021-03-04"), terminationDate: Day(iso: "2027-01-01")),
                lifecycle: .suspended, lifecycleSince: Day(iso: "2026-11-01"), source: "workday", missingSince: Day(iso: "2026-11-02"))
            : StoredPerson(employeeID: "E2", attributes: PersonAttributes(), lifecycle: .active)
        var out = CanonicalJSON.Writer()
        PersonColumns.write(person, into: &out)
        #expect(out.text == CanonicalJSON.text(PersonColumns.json(person)))
    }

    @Test(arguments: [nil, "E1"] as [String?])
    func contentAroundACanonicalDetailIsTheContentOfItsValue(_ hrID: String?) {
        let detail: JSONValue = .object(["b": .array([.int(1), "x"]), "a": .null])
        #expect(AuditChain.content(subject: "s \"1\"", canonicalDetail: CanonicalJSON.text(detail), hrID: hrID)
                == CanonicalJSON.text(.object(["subject": "s \"1\"", "hr_id": JSONValue(hrID), "detail": detail])))
    }
}

/// Rows written with `sqlite3_bind_*` directly (the first load's hot inserts).
@Suite struct RowWriterTests {
    @Test func valuesNullsAndEmptyStringsArriveAsBoundAndAConstraintFailureIsADatabaseError() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b INTEGER, s TEXT)")
            var row = try RowWriter(db, sql: "INSERT INTO t (k, n, b, s) VALUES (?, ?, ?, ?)")
            for (key, number, flag, text) in [("a", Int64?(-7), Bool?(true), String?("Zoë \u{0}x")), ("", nil, false, ""), ("c", Int64.max, nil, nil)] {
                row.text(key)
                row.int(number)
                row.bool(flag)
                row.text(text)
                try row.step()
            }
            let rows = try Row.fetchAll(db, sql: "SELECT k, n, b, s, typeof(s), length(CAST(s AS BLOB)) FROM t ORDER BY k")
            #expect(rows.map { $0[0] as String } == ["", "a", "c"])
            #expect(rows.map { $0[1] as Int64? } == [nil, -7, Int64.max])
            #expect(rows.map { $0[2] as Int64? } == [0, 1, nil])
            // Every byte is bound, a NUL included (reading it back as a C string would stop there).
            #expect(rows.map { $0[3] as String? } == ["", "Zoë ", nil])
            #expect(rows.map { $0[5] as Int64? } == [0, Int64("Zoë \u{0}x".utf8.count), nil])
            #expect(rows.map { $0[4] as String } == ["text", "text", "null"])
            row.text("a")
            for _ in 0..<3 { row.text(nil) }
            #expect(throws: DatabaseError.self) { try row.step() }
            // The failed row left nothing bound behind: the next one is written whole.
            row.text("d")
            row.int(1)
            row.bool(nil)
            row.text("x")
            try row.step()
            #expect(try String.fetchOne(db, sql: "SELECT s FROM t WHERE k = 'd'") == "x")
            // A bind SQLite refuses (here one value too many) fails the row instead of writing it short.
            row.text("e")
            row.int(1)
            row.bool(true)
            row.text("y")
            row.text("one too many")
            #expect(throws: DatabaseError.self) { try row.step() }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t WHERE k = 'e'") == 0)
        }
    }
}
