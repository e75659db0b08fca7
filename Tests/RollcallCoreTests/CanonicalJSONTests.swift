import Foundation
import RollcallCore
import Testing

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysAndWritesNoWhiteSpace() {
        let value: JSONValue = .object(["b": .int(2), "a": .array([.null, .bool(true), "x"]), "B": .object([:])])
        #expect(CanonicalJSON.text(value) == #"{"B":{},"a":[null,true,"x"],"b":2}"#)
    }

    @Test(arguments: ["plain", "quote \" and backslash \\", "line\nbreak\ttab\r", "\u{01}\u{1F}", "Zoë 🚀 ∑", "</script>"])
    func stringsRoundTripThroughAJSONParser(_ text: String) throws {
        let encoded = CanonicalJSON.text(.object(["k": .string(text)]))
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(encoded.utf8))
        #expect(decoded["k"] == text)
        #expect(!encoded.contains("\n"))
    }

    @Test func attributeMapsAreObjectsOfArrays() {
        #expect(CanonicalJSON.text(["uid": ["p1"], "cn": ["A", "B"]]) == #"{"cn":["A","B"],"uid":["p1"]}"#)
    }

    @Test func theSameValueGivesTheSameBytes() {
        var fields: [String: JSONValue] = [:]
        for i in 0..<50 { fields["k\(i)"] = .int(i) }
        let texts = (0..<5).map { _ in CanonicalJSON.text(.object(fields.shuffled().reduce(into: [:]) { $0[$1.key] = $1.value })) }
        #expect(Set(texts).count == 1)
    }
}

@Suite struct EventCatalogueTests {
    /// docs/events.md must describe every event type Rollcall can emit.
    @Test(arguments: EventKind.allCases)
    func everyKindIsDocumented(_ kind: EventKind) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalogue = try String(contentsOf: root.appendingPathComponent("docs/events.md"), encoding: .utf8)
        #expect(catalogue.contains("### `\(kind.cloudEventType)`"))
        #expect(catalogue.contains("\"type\":\"\(kind.cloudEventType)\""), "an example of \(kind.cloudEventType)")
    }
}

@Suite struct CanonicalAttributeTests {
    @Test func writingFromValuesEqualsWritingTheMap() {
        let names = CanonicalJSON.sortedKeys(["uid", "cn", "mail", "Title"])
        let values: [[String]?] = names.map { ["uid": ["p1"], "cn": ["A \"B\"", "C"], "Title": []][$0] }
        let map: [String: [String]] = ["uid": ["p1"], "cn": ["A \"B\"", "C"], "Title": []]
        #expect(CanonicalJSON.attributes(sortedNames: names, values: values) == CanonicalJSON.text(map))
    }
}
