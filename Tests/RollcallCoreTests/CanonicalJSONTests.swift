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

/// Each example in docs/events.md has the shape of the event Core emits for that type today
/// (same keys at every level), so the catalogue cannot drift from the code.
@Suite struct EventExampleShapeTests {
    /// Events of every kind from a few runs of Core.
    static func produced() throws -> [EventKind: JSONValue] {
        var events: [EventKind: JSONValue] = [:]
        var state = StoredState()
        func run(_ records: [HRRecord], _ accounts: [DirectoryAccount], on day: Day = F.today) throws {
            let plan = try Reconciler().plan(records: records, accounts: accounts, state: state, today: day)
            for event in plan.events where events[event.kind] == nil { events[event.kind] = event.data }
            state = state.applying(plan)
        }
        try run([F.person("E1"), F.person("E2"), F.person("E3")], [F.account("a2", key: "E2"), F.account("a3", key: "E3"), F.account("s", key: nil)])
        try run([F.person("E1"), F.person("E2", department: "Legal"), F.person("E3", end: "2026-01-01")],
                [F.account("a2", key: "E2"), F.account("a3", key: "E3")])
        try run([F.person("E1"), F.person("E2", department: "Legal", given: "Bo"), F.person("E3")],
                [F.account("a2", key: "E2"), F.account("a3", key: "E3")])
        // E3 drops out of the feed: missing.
        try run([F.person("E1"), F.person("E2", department: "Legal", given: "Bo")], [F.account("a2", key: "E2"), F.account("a3", key: "E3")])
        // The calendar: a pre-hire starts, goes on leave, comes back; a leaver's grace ends.
        state = StoredState()
        let days = ["2026-03-28", "2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04", "2026-05-10"].compactMap { Day(iso: $0) }
        try run([hr(hire: "2026-04-01")], [], on: days[0])
        try run([hr(hire: "2026-04-01")], [], on: days[1])
        try run([hr(hire: "2026-04-01", status: .suspended)], [], on: days[2])
        try run([hr(hire: "2026-04-01")], [], on: days[3])
        try run([hr(hire: "2026-04-01", end: "2026-04-04")], [], on: days[4])
        try run([hr(hire: "2026-04-01", end: "2026-04-04")], [], on: days[5])
        // An account recreated under a new anchor, and a person with two candidates.
        state = StoredState()
        try run([F.person("E7")], [F.account("old", key: "E7")])
        try run([F.person("E7"), F.person("E8")], [F.account("new", key: "E7"), F.account("x1", key: "E8"), F.account("x2", key: "E8")])
        // A contractor continuing as an employee under a new id.
        let converting = Reconciler(conversionKey: .email)
        let plan = try converting.plan(records: [F.person("E9", email: "e7@example.test"), F.person("E8")],
                                       accounts: [F.account("new", key: "E7"), F.account("x1", key: "E8"), F.account("x2", key: "E8")],
                                       state: state, today: F.today)
        for event in plan.events where events[event.kind] == nil { events[event.kind] = event.data }
        // Entitlements: a grant, a revoke and a violation.
        let groups = EntitlementTests.groups(eng: ["a2"], apCreate: ["a2"], apApprove: ["a2"])
        let entitled = try Reconciler().plan(records: [EntitlementTests.person("E1", department: "Engineering"),
                                                       EntitlementTests.person("E2", department: "Sales")],
                                             accounts: EntitlementTests.accounts, state: StoredState(), today: F.today,
                                             entitlements: EntitlementInput(policy: EntitlementTests.policy, groups: groups))
        for event in entitled.events where events[event.kind] == nil { events[event.kind] = event.data }
        // Privileged access: a baseline with an unauthorised member, then an added one.
        var watched = StoredState()
        for groups in [PrivilegedTests.groups(admins: [PrivilegedTests.ops, "a2"], ops: ["a1"]),
                       PrivilegedTests.groups(admins: [PrivilegedTests.ops, "a2"], ops: ["a1", "a3"])] {
            let plan = try PrivilegedTests.plan(groups, watched)
            for event in plan.events where events[event.kind] == nil { events[event.kind] = event.data }
            watched = watched.applying(plan)
        }
        let purge = try PurgeTests.plan([F.person("E1", end: "2020-01-01")], [F.account("a1", key: "E1")],
                                        try F.settled([F.person("E1", end: "2020-01-01")], [F.account("a1", key: "E1")],
                                                      today: try #require(F.day("2026-03-01"))), on: "2026-03-15")
        for event in purge.events where events[event.kind] == nil { events[event.kind] = event.data }
        let proposed = try SituationTests.plan([F.person("E1")], [SituationTests.directory("ldap", [F.account("a1", key: "E1")], unlinked: .report)],
                                               StoredState())
        for event in proposed.events where events[event.kind] == nil { events[event.kind] = event.data }
        var held = try F.settled([F.person("E1")], [F.account("a1", key: "E1")])
        let disable = try HoldPlans.disable(employeeID: "E1", reason: "phish", by: "erin", at: "2026-03-12T14:03:00Z", state: held)
        held = held.applying(disable)
        for event in disable.events + (try HoldPlans.enable(employeeID: "E1", by: "erin", state: held)).events where events[event.kind] == nil {
            events[event.kind] = event.data
        }
        // Account state: an active person's account disabled in the directory; a leaver's still enabled.
        let enabledBoth = [AccountStateTests.account("a1", key: "E1", enabled: true), AccountStateTests.account("a2", key: "E2", enabled: true)]
        let stateBefore = try F.settled([F.person("E1"), F.person("E2")], enabledBoth, today: try #require(F.day("2026-03-01")))
        let statePlan = try Reconciler().plan(records: [F.person("E1"), F.person("E2", end: "2026-03-01")],
                                              accounts: [AccountStateTests.account("a1", key: "E1", enabled: false), enabledBoth[1]],
                                              state: stateBefore, today: try #require(F.day("2026-03-15")))
        for event in statePlan.events where events[event.kind] == nil { events[event.kind] = event.data }
        let drift = try DriftTests.plan(F.person("E1", title: "Analyst"), DriftTests.account(title: "Engineer"), StoredState())
        for event in drift.events where events[event.kind] == nil { events[event.kind] = event.data }
        return events
    }

    /// Keys at every level; scalars (strings, numbers, null) are alike; an empty array matches any array.
    static func shape(_ value: JSONValue) -> String {
        switch value {
        case .object(let fields):
            return "{" + fields.keys.sorted().map { "\($0):\(shape(fields[$0] ?? .null))" }.joined(separator: ",") + "}"
        case .array(let items):
            return "[" + (items.first.map(shape) ?? "") + "]"
        case .null, .bool, .int, .string:
            return "_"
        }
    }

    @Test func examplesHaveTheShapeOfRealEvents() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalogue = try String(contentsOf: root.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let produced = try Self.produced()
        // run.quarantined is the store's, not Core's: GuardRunTests checks its example.
        // review.escalated too: AccessReviewTests compares its example with a real one.
        let core = Set(EventKind.allCases).subtracting([.quarantined, .reviewEscalated])
        #expect(Set(produced.keys) == core, "the runs above emit every kind")
        var checked = 0
        for line in catalogue.split(separator: "\n") where line.hasPrefix("{\"data\":") {
            let example = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            guard case .string(let type)? = example["type"], let kind = EventKind.allCases.first(where: { $0.cloudEventType == type }),
                  let data = example["data"] else {
                Issue.record("an example of an unknown type: \(line.prefix(80))")
                continue
            }
            if kind == .quarantined || kind == .reviewEscalated {
                checked += 1  // the store's events: GuardRunTests and AccessReviewTests compare these examples with real ones
                continue
            }
            guard let real = produced[kind] else {
                Issue.record("no real event of type \(type) to compare the example with")
                continue
            }
            var a = Self.shape(data), b = Self.shape(real)
            // An empty list in either one says nothing about its elements.
            if a.contains("[]") || b.contains("[]") {
                a = a.replacingOccurrences(of: #"\[\{[^\]]*\}\]"#, with: "[]", options: .regularExpression)
                b = b.replacingOccurrences(of: #"\[\{[^\]]*\}\]"#, with: "[]", options: .regularExpression)
            }
            #expect(a == b, "docs/events.md example of \(type)")
            checked += 1
        }
        #expect(checked >= EventKind.allCases.count)
    }
}

@Suite struct CanonicalAttributeTests {
    @Test func writingFromValuesEqualsWritingTheMap() {
        let names = CanonicalJSON.sortedKeys(["uid", "cn", "mail", "Title"])
        let values: [[String]?] = names.map { ["uid": ["p1"], "cn": ["A \"B\"", "C"], "Title": []][$0] }
        let map: [String: [String]] = ["uid": ["p1"], "cn": ["A \"B\"", "C"], "Title": []]
        #expect(CanonicalJSON.attributes(sortedNames: names, values: values) == CanonicalJSON.text(map))
    }

    @Test func theFastReaderReadsWhatTheWriterWrites() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1f}", "é", "日", "😀", ",", ":", "[", "]", "{", "}"]
        for _ in 0..<500 {
            var map: [String: [String]] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                func text() -> String { (0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "" }.joined() }
                map[text()] = (0..<Int.random(in: 0...3, using: &generator)).map { _ in text() }
            }
            let json = CanonicalJSON.text(map)
            #expect(CanonicalJSON.attributeMap(json) == map, "\(json)")
            #expect(try JSONDecoder().decode([String: [String]].self, from: Data(json.utf8)) == map)
        }
        // Not the writer's form: left to a full decoder.
        for other in [#"{"a": ["b"]}"#, #"{"a":"b"}"#, #"{"a":["\u00e9"]}"#, #"{"a":["b"]"#, #"{"a":["b"]}x"#, #"["a"]"#, ""] {
            #expect(CanonicalJSON.attributeMap(other) == nil, "\(other)")
        }
    }
}
