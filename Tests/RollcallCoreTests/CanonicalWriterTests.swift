import Foundation
@testable import RollcallCore
import Testing

/// The hot paths write event data and audit content straight as canonical JSON; these pin that
/// the bytes are the ones the `JSONValue` path gives (the outbox, the audit hashes and consumers
/// see no difference), and that the text reads back as the same value.
@Suite struct CanonicalWriterTests {
    @Test func theWriterGivesTheSameTextAsAValue() {
        var out = CanonicalJSON.Writer()
        out.beginObject()
        out.key("a")
        out.beginArray()
        out.string("x\n\"y\"")
        out.string(nil)
        out.int(-3)
        out.bool(true)
        out.bool(nil)
        out.beginObject()
        out.endObject()
        out.beginArray()
        out.endArray()
        out.endArray()
        out.field("b", "Zoë")
        out.key("c")
        out.value(.object(["z": .int(1), "y": .null]))
        out.key("d")
        out.raw(#"{"k":[1]}"#)
        out.endObject()
        let value: JSONValue = .object([
            "a": .array([.string("x\n\"y\""), .null, .int(-3), .bool(true), .null, .object([:]), .array([])]),
            "b": "Zoë", "c": .object(["y": .null, "z": .int(1)]), "d": .object(["k": .array([.int(1)])]),
        ])
        #expect(out.text == CanonicalJSON.text(value))
    }

    @Test(arguments: [
        JSONValue.object(["s": "tab\there \u{01} \\ \" ∑ 🚀", "n": .int(-42), "big": .int(Int.max), "t": .bool(true), "f": .bool(false),
                          "z": .null, "a": .array([.object([:]), .array([]), "", .int(0)])]),
        JSONValue.array([]), JSONValue.string("only"), JSONValue.int(7), JSONValue.null,
    ])
    func canonicalTextReadsBackAsTheSameValue(_ value: JSONValue) {
        #expect(CanonicalJSON.value(CanonicalJSON.text(value)) == value)
    }

    @Test(arguments: [#"{"a": 1}"#, #"{"a":1.5}"#, #"[1,]"#, #"{"a":1"#, "nul", #""\u0041""#, "1e3", #"{"a":1}x"#, ""])
    func textThatIsNotCanonicalIsLeftToADecoder(_ text: String) {
        #expect(CanonicalJSON.value(text) == nil)
    }

    @Test func anEventKeepsItsDataAsTextAndReadsItBack() {
        let data: JSONValue = .object(["hr_id": "E1", "directory": "corp", "n": .int(2)])
        var event = EventDraft(kind: .orphaned, subject: "a1", data: data)
        #expect(event.dataJSON == CanonicalJSON.text(data))
        #expect(event.hrID == "E1")
        #expect(event.data == data)
        event.data = .object(["hr_id": .int(3)])
        #expect(event.hrID == nil)
        #expect(event.dataJSON == #"{"hr_id":3}"#)
    }

    @Test func aQuarantinedPlansEventsEncodeTheirDataAsAValueAsBefore() throws {
        let event = EventDraft(kind: .joiner, subject: "E1", data: .object(["hr_id": "E1", "person": .object(["title": "CFO"])]))
        let encoded = try JSONEncoder().encode(event)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect((object["data"] as? [String: Any])?["hr_id"] as? String == "E1")
        #expect(try JSONDecoder().decode(EventDraft.self, from: encoded) == event)
    }

    /// Every combination the reconciler writes directly gives the bytes of `json(...)`.
    @Test(arguments: [false, true])
    func eventPayloadsWrittenDirectlyMatchTheirValues(_ full: Bool) throws {
        let attributes = full
            ? PersonAttributes(givenName: "Zoë", familyName: "O\"Brien", displayName: "Zoë O\"Brien", email: "z@example.test",
                               department: "Finance\tOps", title: "CFO", managerID: "E0", employeeType: "employee", location: "Basel",
                               status: .terminated, hireDate: Day(iso: "2020-01-02"), terminationDate: Day(iso: "2026-11-30"))
            : PersonAttributes()
        let record = HRRecord(employeeID: "E1", attributes: attributes, origin: SourceLocation(source: "hr", line: 2))
        let accounts: [(directory: String, account: DirectoryAccount)] = full
            ? [("ad", DirectoryAccount(anchor: "g1", dn: "CN=Zoë,OU=People", correlationValue: "E1")),
               ("ldap", DirectoryAccount(anchor: "u1", dn: "uid=z,ou=people", correlationValue: nil))]
            : []
        let payload = EventPayload(record: record, accounts: accounts, lifecycle: full ? .terminated : .active)
        let changes = full ? [AttributeChange(attribute: "title", before: nil, after: "CFO"),
                              AttributeChange(attribute: "department", before: "A", after: nil)] : []
        let linked = accounts.first
        for rule in [nil, "email"] as [String?] {
            for previous in [nil, "old"] as [String?] {
                let direct = payload.draft(.linked, changes: changes, linked: linked, rule: rule, previousAnchor: previous,
                                           previousID: previous, tombstone: previous.map { "t-" + $0 })
                var value = payload.json(changes: changes, linked: linked, rule: rule, previousAnchor: previous, previousID: previous)
                if let previous, case .object(var fields) = value {
                    fields["tombstone"] = .string("t-" + previous)
                    value = .object(fields)
                }
                #expect(direct == EventDraft(kind: .linked, subject: "E1", data: value))
            }
        }
    }
}
