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

    func entries(_ store: Store) throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        try store.exportAudit { records.append($0) }
        return records
    }

    @Test func everyChangeAndEventIsChainedAndVerifies() throws {
        let store = try populated()
        let records = try entries(store)
        // Run 1: the run, 2 persons, 2 accounts, 2 links, 2 events; run 2: the run, 1 person, 1 event; run 3 likewise.
        #expect(records.map(\.action) == ["run.applied", "person.changed", "person.changed", "account.changed", "account.changed",
                                          "link.added", "link.added", "event", "event",
                                          "run.applied", "person.changed", "event", "run.applied", "person.changed", "event"])
        #expect(records.first?.previousHash == String(repeating: "0", count: 64))
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.hash == $1.previousHash })
        let leaver = try #require(records.last)
        #expect(leaver.detail?["type"] == .string("dev.rollcall.identity.leaver"))
        #expect(leaver.detail?["seq"] == .int(4))
        #expect(records.allSatisfy { $0.actor == "rollcall reconcile" })
        let result = try store.verifyAudit()
        #expect(result.ok && result.entries == 15 && result.redacted == 0)
    }

    @Test(arguments: [
        ("UPDATE audit SET content = replace(content, 'Legal', 'Sales') WHERE seq = 11", 11, "content does not match"),
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 6", 6, "hash does not match"),
        ("DELETE FROM audit WHERE seq = 9", 9, "entry 9 is missing"),
        ("UPDATE outbox SET data = replace(data, 'terminated', 'active') WHERE seq = 4", 15, "was changed in the outbox"),
        ("DELETE FROM outbox WHERE seq = 2", 9, "not in the outbox"),
        // An event slipped into the outbox: no entry vouches for it (reported after the last entry).
        ("INSERT INTO outbox (seq, id, run_id, source, type, subject, time, data) SELECT 99, 'forged', run_id, source, type, 'E9', time, data FROM outbox WHERE seq = 1",
         16, "outbox event 99 has no audit entry"),
        // The columns a purge redacts by, changed: the hashed content says otherwise.
        ("UPDATE audit SET hr_id = NULL WHERE seq = 11", 11, "hr_id column differs"),
        ("UPDATE audit SET subject = 'E9' WHERE seq = 11", 11, "subject column differs"),
        // Blanked as a purge would, but no redaction entry names it.
        ("UPDATE audit SET content = NULL WHERE seq = 11", 11, "no redaction entry names it"),
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
        // Forge entry 11 consistently (content and content hash): its entry hash no longer matches.
        try store.writer.write { db in
            let forged = AuditChain.content(subject: "E1", detail: .object(["department": "Sales"]))
            try db.execute(sql: "UPDATE audit SET content = ?, content_hash = ? WHERE seq = 11", arguments: [forged, AuditChain.sha256(forged)])
        }
        let result = try store.verifyAudit()
        #expect(result.firstBad == 11)
        #expect(result.problem?.contains("hash does not match") == true)
    }
}
