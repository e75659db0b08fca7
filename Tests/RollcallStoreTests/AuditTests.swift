import Foundation
import GRDB
import RollcallCore
@testable import RollcallStore
import Testing

/// The audit log's hash chain: every state change and event of a run, verifiable, and any edit
/// behind Rollcall's back is found at the row it touched.
@Suite struct AuditTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A store after three runs: a first load, a mover, a leaver.
    func populated() throws -> Store {
        let store = try Store.open(path: directory.appendingPathComponent("rollcall.sqlite").path)
        let helper = try StoreTests()
        let accounts = [StoreTests.account("a1", "E1"), StoreTests.account("a2", "E2")]
        _ = try helper.run(store, [StoreTests.record("E1"), StoreTests.record("E2")], accounts)
        _ = try helper.run(store, [StoreTests.record("E1", department: "Legal"), StoreTests.record("E2")], accounts)
        _ = try helper.run(store, [StoreTests.record("E1", department: "Legal"), StoreTests.record("E2", status: .terminated)], accounts)
        return store
    }

    static func first(_ list: JSONValue?) -> JSONValue? {
        if case .array(let items)? = list { items.first } else { nil }
    }

    func entries(_ store: Store) throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        try store.exportAudit { records.append($0) }
        return records
    }

    @Test func everyChangeAndEventIsChainedAndVerifies() throws {
        let store = try populated()
        let records = try entries(store)
        // Run 1: the run, 2 accounts, one entry per person (row, link, event); run 2: the run and
        // E1's entry (row, mover event); run 3 likewise for E2.
        #expect(records.map(\.action) == ["run.applied", "account.changed", "account.changed", "person.applied", "person.applied",
                                          "run.applied", "person.applied", "run.applied", "person.applied"])
        let first = try #require(records.first { $0.action == "person.applied" })
        #expect(first.subject == "E1" && first.detail?["person"]?["department"] != nil)
        #expect(Self.first(first.detail?["links_added"])?["anchor"] == .string("a1"))
        #expect(Self.first(first.detail?["events"])?["type"] == .string("dev.rollcall.account.linked"))
        #expect(records.first?.previousHash == String(repeating: "0", count: 64))
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.hash == $1.previousHash })
        let leaver = try #require(Self.first(records.last?.detail?["events"]))
        #expect(leaver["type"] == .string("dev.rollcall.identity.leaver"))
        #expect(leaver["seq"] == .int(4))
        #expect(records.allSatisfy { $0.actor == "rollcall reconcile" })
        let result = try store.verifyAudit()
        #expect(result.ok && result.entries == 9 && result.redacted == 0)
    }

    @Test(arguments: [
        ("UPDATE audit SET content = replace(content, 'Legal', 'Sales') WHERE seq = 7", 7, "content does not match"),
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 4", 4, "hash does not match"),
        ("DELETE FROM audit WHERE seq = 5", 5, "entry 5 is missing"),
        ("UPDATE outbox SET data = replace(data, 'terminated', 'active') WHERE seq = 4", 9, "was changed in the outbox"),
        ("DELETE FROM outbox WHERE seq = 2", 5, "not in the outbox"),
        // An event slipped into the outbox: no entry vouches for it (reported after the last entry).
        ("INSERT INTO outbox (seq, id, run_id, source, type, subject, time, data) SELECT 99, 'forged', run_id, source, type, 'E9', time, data FROM outbox WHERE seq = 1",
         10, "outbox event 99 has no audit entry"),
        // The columns a purge redacts by, changed: the hashed content says otherwise.
        ("UPDATE audit SET hr_id = NULL WHERE seq = 7", 7, "hr_id column differs"),
        ("UPDATE audit SET subject = 'E9' WHERE seq = 7", 7, "subject column differs"),
        // Blanked as a purge would, but no redaction entry names it.
        ("UPDATE audit SET content = NULL WHERE seq = 7", 7, "no redaction entry names it"),
    ])
    func anEditBehindRollcallsBackIsFoundAtItsRow(edit: String, row: Int64, problem: String) throws {
        let store = try populated()
        try store.writer.write { try $0.execute(sql: edit) }
        let result = try store.verifyAudit()
        #expect(result.firstBad == row, "\(result)")
        #expect(result.problem?.contains(problem) == true, "\(result)")
    }

    @Test func aRewrittenContentWithItsOwnHashStillBreaksTheChain() throws {
        let store = try populated()
        // Forge entry 7 consistently (content and content hash): its entry hash no longer matches.
        try store.writer.write { db in
            let forged = AuditChain.content(subject: "E1", detail: .object(["department": "Sales"]))
            try db.execute(sql: "UPDATE audit SET content = ?, content_hash = ? WHERE seq = 7", arguments: [forged, AuditChain.sha256(forged)])
        }
        let result = try store.verifyAudit()
        #expect(result.firstBad == 7)
        #expect(result.problem?.contains("hash does not match") == true)
    }
}
