@testable import RollcallHR
import Testing

@Suite struct CSVParserTests {
    func records(_ text: String) throws -> [CSVParser.Record] {
        var parser = CSVParser(bytes: Array(text.utf8))
        var out: [CSVParser.Record] = []
        while let record = try parser.next() { out.append(record) }
        return out
    }

    @Test func quotedFieldsWithCommasQuotesAndLineBreaksKeepPhysicalLines() throws {
        let text = "id,title\r\nE1,\"Director, Sales\"\r\nE2,\"two\nlines\"\r\nE3,\"say \"\"hi\"\"\"\r\n"
        let rows = try records(text)
        #expect(rows.map(\.fields) == [["id", "title"], ["E1", "Director, Sales"], ["E2", "two\nlines"], ["E3", "say \"hi\""]])
        #expect(rows.map(\.line) == [1, 2, 3, 5])
    }

    @Test func byteOrderMarkIsIgnored() throws {
        let rows = try records("\u{FEFF}id,name\nE1,Ada\n")
        #expect(rows.first?.fields == ["id", "name"])
    }

    @Test func emptyFieldsAndMissingFinalNewline() throws {
        let rows = try records("a,,c\n,,\nx,y,z")
        #expect(rows.map(\.fields) == [["a", "", "c"], ["", "", ""], ["x", "y", "z"]])
    }

    @Test func blankLinesAreSkippedButCounted() throws {
        let rows = try records("h\n\nE1\n\r\nE2\n")
        #expect(rows.map(\.line) == [1, 3, 5])
    }

    @Test func unclosedQuoteIsFatalAndNamesTheRecordLine() {
        var parser = CSVParser(bytes: Array("h\nE1,\"never closed\nE2,x\n".utf8))
        #expect(throws: Never.self) { _ = try parser.next() }
        do {
            _ = try parser.next()
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.line == 2)
            #expect(!error.recoverable)
        }
    }

    @Test func strayQuoteRejectsOnlyThatLine() throws {
        var parser = CSVParser(bytes: Array("h,v\nE1,ab\"c\nE2,ok\n".utf8))
        _ = try parser.next()
        do {
            _ = try parser.next()
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.line == 2)
            #expect(error.recoverable)
        }
        let next = try parser.next()
        #expect(next?.fields == ["E2", "ok"])
        #expect(next?.line == 3)
    }
}

/// Values are trimmed of Unicode white space at both ends (a fast path skips values that start
/// and end with printable ASCII; these pin both paths).
@Suite struct TrimmingTests {
    @Test(arguments: [
        ("Ada", "Ada"), (" Ada\t", "Ada"), ("\u{00A0}Zoë\u{2003}", "Zoë"), ("a b", "a b"), ("x\u{00A0}", "x"),
        ("\u{3000}y", "y"), ("é", "é"), ("\t", ""), ("", ""), ("A\u{0085}", "A"),
    ])
    func bothEndsAreTrimmed(_ raw: String, _ expected: String) {
        #expect(raw.trimmedOfWhitespace() == expected)
    }
}
