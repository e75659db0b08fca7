import Crypto
import Foundation
import GRDB
import RollcallCore

/// One audit entry as written: what happened (`action`), to what (`subject`), with `detail`.
/// The detail is kept as canonical JSON text (the hot paths of a first load write it directly).
public struct AuditDraft: Sendable {
    public var action: String
    public var subject: String
    /// The HR id this entry is about, if any: a purge redacts the entry.
    public var hrID: String?
    /// `detail` as canonical JSON.
    public var detailJSON: String

    public init(action: String, subject: String, hrID: String? = nil, detail: JSONValue) {
        self.init(action: action, subject: subject, hrID: hrID, canonicalDetail: CanonicalJSON.text(detail))
    }

    public init(action: String, subject: String, hrID: String? = nil, canonicalDetail: String) {
        self.action = action
        self.subject = subject
        self.hrID = hrID
        self.detailJSON = canonicalDetail
    }
}

/// An audit entry as stored and exported.
public struct AuditRecord: Sendable, Codable, Hashable {
    public var seq: Int64
    public var at: String
    public var runID: Int64?
    public var actor: String
    public var action: String
    public var subject: String
    /// nil when the entry was redacted by a purge (its content hash still chains).
    public var detail: JSONValue?
    public var contentHash: String
    public var previousHash: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case seq, at, actor, action, subject, detail, hash
        case runID = "run"
        case contentHash = "content_sha256"
        case previousHash = "previous_sha256"
    }
}

/// The result of checking the whole chain.
public struct AuditVerification: Sendable, Codable {
    public var entries: Int
    public var redacted: Int
    /// The first entry that does not verify, and why; nil when all do.
    public var firstBad: Int64?
    public var problem: String?

    public var ok: Bool { firstBad == nil }
}

/// Lower-case hexadecimal of bytes, without Foundation's String(format:), which made hashing
/// 400 k audit entries of a first run take a minute.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var characters: [UInt8] = []
        characters.reserveCapacity(64)
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}

/// The audit log: an append-only SHA-256 hash chain. Each entry's content (subject and detail, as
/// canonical JSON) has a hash; each entry's hash covers the previous entry's hash, its sequence
/// number, time, run, actor, action and content hash. Editing, inserting or deleting a row breaks
/// the chain at that row. A purge replaces the content of entries about the purged person with
/// nothing (the content hash stays, so the chain still verifies; `redacted` counts them).
enum AuditChain {
    static let genesis = String(repeating: "0", count: 64)

    static func sha256(_ text: String) -> String {
        var text = text
        return text.withUTF8 { Hex.encode(SHA256.hash(data: $0)) }
    }

    /// The content hash of an entry about a person: `k:` and HMAC-SHA256 under that person's own
    /// random salt (`person_salt`), which a purge erases. Once redacted, such an entry cannot be
    /// confirmed by hashing a guess of its content (an employee id, a name).
    static func keyedHash(_ text: String, salt: [UInt8]) -> String {
        var text = text
        let key = SymmetricKey(data: salt)
        return "k:" + text.withUTF8 { Hex.encode(HMAC<SHA256>.authenticationCode(for: $0, using: key)) }
    }

    /// The person's salt, made on first use. Inside the caller's transaction.
    static func salt(for employeeID: String, db: Database, lookUp: Bool = true) throws -> [UInt8] {
        if lookUp, let stored = try Data.fetchOne(try db.cachedStatement(sql: "SELECT salt FROM person_salt WHERE employee_id = ?"), arguments: [employeeID]) {
            return Array(stored)
        }
        // Four 64-bit draws (one getrandom each), not 32 one-byte ones: a first load makes one
        // salt per person.
        var random = SystemRandomNumberGenerator()
        var salt: [UInt8] = []
        salt.reserveCapacity(32)
        for _ in 0..<4 { withUnsafeBytes(of: random.next() as UInt64) { salt.append(contentsOf: $0) } }
        try db.cachedStatement(sql: "INSERT INTO person_salt (employee_id, salt) VALUES (?, ?)").execute(arguments: [employeeID, Data(salt)])
        return salt
    }

    /// The hashed content: subject, HR id (null when none) and detail, so that neither the
    /// `subject` nor the `hr_id` column (which a purge redacts by) can be changed unseen.
    /// Entries written before `hr_id` was hashed have no such key and are checked by subject only.
    static func content(subject: String, detail: JSONValue, hrID: String? = nil) -> String {
        content(subject: subject, canonicalDetail: CanonicalJSON.text(detail), hrID: hrID)
    }

    /// The same text as `content(subject:detail:hrID:)`, around a detail already canonical.
    static func content(subject: String, canonicalDetail: String, hrID: String?) -> String {
        var out = CanonicalJSON.Writer(capacity: canonicalDetail.utf8.count + subject.utf8.count + 48)
        out.beginObject()
        out.key("detail")
        out.raw(canonicalDetail)
        out.field("hr_id", hrID)
        out.field("subject", subject)
        out.endObject()
        return out.text
    }

    /// The entry hash over its fields in a fixed order, each as its UTF-8 length, a colon and
    /// the text (unambiguous whatever the fields hold, and cheap for 400 k entries of a first run).
    static func hash(previous: String, seq: Int64, at: String, runID: Int64?, actor: String, action: String, contentHash: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(256)
        for field in [previous, String(seq), at, runID.map(String.init) ?? "", actor, action, contentHash] {
            encoded += String(field.utf8.count)
            encoded += ":"
            encoded += field
        }
        return sha256(encoded)
    }

    /// Appends `drafts` in order, continuing the chain from its last entry. Inside the caller's transaction.
    static func append(_ drafts: [AuditDraft], actor: String, runID: Int64?, at: String, db: Database) throws {
        guard !drafts.isEmpty else { return }
        var appender = try Appender(actor: actor, runID: runID, at: at, db: db)
        for draft in drafts { try appender.append(draft) }
    }

    /// Continues the chain one entry at a time (a first load appends hundreds of thousands: they
    /// are not held in memory together).
    struct Appender {
        let actor: String
        let runID: Int64?
        let at: String
        var insert: RowWriter
        var seq: Int64
        var previous: String

        init(actor: String, runID: Int64?, at: String, db: Database) throws {
            self.db = db
            self.actor = actor
            self.runID = runID
            self.at = at
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            seq = last?[0] ?? 0
            previous = last?[1] ?? genesis
            // A first load finds no salt stored: it makes each without a lookup per person.
            saltsStored = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM person_salt)") ?? true
            insert = try RowWriter(db, sql: """
                INSERT INTO audit (seq, at, run_id, actor, action, subject, hr_id, content, content_hash, previous_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        }

        /// Salts already read in this transaction (a first load appends several entries per person).
        var salts: [String: [UInt8]] = [:]
        /// Whether any salt was stored when the appender started (else none needs looking up).
        let saltsStored: Bool
        let db: Database

        mutating func append(_ draft: AuditDraft) throws {
            seq += 1
            let content = AuditChain.content(subject: draft.subject, canonicalDetail: draft.detailJSON, hrID: draft.hrID)
            let contentHash: String
            if let hrID = draft.hrID {
                let salt = try salts[hrID] ?? AuditChain.salt(for: hrID, db: db, lookUp: saltsStored)
                salts[hrID] = salt
                contentHash = keyedHash(content, salt: salt)
            } else {
                contentHash = sha256(content)
            }
            let hash = AuditChain.hash(previous: previous, seq: seq, at: at, runID: runID, actor: actor, action: draft.action, contentHash: contentHash)
            insert.int(seq)
            insert.text(at)
            insert.int(runID)
            for text in [actor, draft.action, draft.subject, draft.hrID, content, contentHash, previous, hash] { insert.text(text) }
            try insert.step()
            previous = hash
        }
    }
}

/// The audit log's newest entry: its sequence number and hash. Written outside the store after
/// each applied run (the journal, `audit.checkpoint_file`), it lets `audit verify` notice a chain
/// that was cut short or rewritten whole, which the chain alone cannot.
public struct AuditHead: Sendable, Hashable, CustomStringConvertible {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// `SEQ:HASH`, as `--expect-head` takes it and checkpoint lines start.
    public var description: String { "\(seq):\(hash)" }

    /// From `SEQ:HASH` (a checkpoint line may carry more after a space).
    public init?(_ text: some StringProtocol) {
        let first = text.split(separator: " ").first ?? ""
        let parts = first.split(separator: ":")
        guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0, parts[1].count == 64,
              parts[1].allSatisfy({ $0.isHexDigit }) else { return nil }
        self.init(seq: seq, hash: String(parts[1]).lowercased())
    }
}

extension Store {
    /// The newest audit entry (nil: none yet).
    public func auditHead() throws -> AuditHead? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").map { AuditHead(seq: $0[0], hash: $0[1]) }
        }
    }

    /// Each head recorded outside the store must be in the chain as it was: an entry with that
    /// sequence number and that hash. Returns the first that is not, with why.
    public func checkHeads(_ heads: [AuditHead]) throws -> (head: AuditHead, problem: String)? {
        try writer.read { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM audit") ?? 0
            for head in heads {
                guard let hash = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [head.seq]) else {
                    return (head, "the audit log ends at entry \(newest), but entry \(head.seq) was recorded outside the store: entries were removed (or the store was replaced)")
                }
                guard hash == head.hash else {
                    return (head, "entry \(head.seq) is not the one recorded outside the store (its hash differs): the log was rewritten")
                }
            }
            return nil
        }
    }

    /// Checks every entry in order: its content against its content hash (unless redacted), its
    /// link to the previous entry, and its own hash. Stops at the first entry that does not verify.
    public func verifyAudit() throws -> AuditVerification {
        try writer.read { db in
            var result = AuditVerification(entries: 0, redacted: 0)
            var previous = AuditChain.genesis
            var expectedSeq: Int64 = 1
            let event = try db.makeStatement(sql: "SELECT id, data FROM outbox WHERE seq = ?")
            let saltStatement = try db.makeStatement(sql: "SELECT salt FROM person_salt WHERE employee_id = ?")
            // Events removed by retention are missing from the outbox with the chain's consent: an
            // `outbox.pruned` entry (itself in the chain, so checked below) names how far.
            var prunedThrough: Int64 = 0
            for content in try String.fetchAll(db, sql: "SELECT content FROM audit WHERE action = 'outbox.pruned' AND content IS NOT NULL") {
                if case .int(let through)? = try JSONDecoder().decode(JSONValue.self, from: Data(content.utf8))["detail"]?["through"] {
                    prunedThrough = max(prunedThrough, Int64(through))
                }
            }
            // The outbox events the chain vouches for (each must be, but those of purged persons,
            // whose entries lost their content).
            var recorded = Set<Int64>()
            // Content may be missing only where a purge's redaction entry (itself checked below) names it.
            var redactable = Set<Int64>()
            for content in try String.fetchAll(db, sql: "SELECT content FROM audit WHERE action = 'audit.redacted' AND content IS NOT NULL") {
                if case .array(let seqs)? = try JSONDecoder().decode(JSONValue.self, from: Data(content.utf8))["detail"]?["seqs"] {
                    for case .int(let seq) in seqs { redactable.insert(Int64(seq)) }
                }
            }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT seq, at, run_id, actor, action, content, content_hash, previous_hash, hash, subject, hr_id FROM audit ORDER BY seq
                """)
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                func bad(_ problem: String) -> AuditVerification {
                    result.firstBad = seq
                    result.problem = problem
                    return result
                }
                if seq != expectedSeq {
                    result.firstBad = expectedSeq
                    result.problem = "entry \(expectedSeq) is missing (the next one is \(seq))"
                    return result
                }
                let contentHash: String = row[6]
                let action: String = row[4]
                // Each entry's content is decoded once, into what verify needs of it (not a
                // `JSONValue` tree: at a million persons that decoding was most of verify's time).
                var fields: VerifiedContent?
                if let content: String = row[5] {
                    do {
                        fields = try JSONDecoder().decode(VerifiedContent.self, from: Data(content.utf8))
                    } catch {
                        return bad("its content is not an audit entry's")
                    }
                    let computed: String
                    if contentHash.hasPrefix("k:") {
                        // The person is the one the content names (the column is checked against it below).
                        guard let hrID = fields?.hrID,
                              let salt = try Data.fetchOne(saltStatement, arguments: [hrID]) else {
                            return bad("its content hash is keyed to a person whose salt is gone, but its content is still there")
                        }
                        computed = AuditChain.keyedHash(content, salt: Array(salt))
                    } else {
                        computed = AuditChain.sha256(content)
                    }
                    if computed != contentHash { return bad("its content does not match its content hash") }
                } else {
                    guard redactable.contains(seq) else { return bad("its content was removed, but no redaction entry names it") }
                    result.redacted += 1
                }
                if (row[7] as String) != previous { return bad("it does not follow the entry before it") }
                let hash = AuditChain.hash(previous: previous, seq: seq, at: row[1], runID: row[2], actor: row[3], action: action,
                                           contentHash: contentHash)
                if hash != (row[8] as String) { return bad("its hash does not match its fields") }
                // The columns queries and purges use must say what the hashed content says.
                if let fields {
                    if fields.subject != (row[9] as String) { return bad("its subject column differs from its hashed content") }
                    if fields.hasHRID, fields.hrID != (row[10] as String?) {
                        return bad("its hr_id column differs from its hashed content")
                    }
                }
                // An event entry, and a person's entry for the events about them, vouch for
                // those events in the outbox.
                if let fields, action == "event" || action == "person.applied" {
                    let vouched = action == "event" ? [fields.event ?? VerifiedContent.Event()] : fields.events
                    for recordedEvent in vouched {
                        guard let eventSeq = recordedEvent.seq else { return bad("an event it records has no sequence number") }
                        recorded.insert(Int64(eventSeq))
                        guard let outbox = try Row.fetchOne(event, arguments: [eventSeq]) else {
                            if Int64(eventSeq) <= prunedThrough { continue }
                            return bad("the event it records (sequence number \(eventSeq)) is not in the outbox")
                        }
                        if recordedEvent.id != (outbox[0] as String) || recordedEvent.dataSHA256 != AuditChain.sha256(outbox[1] as String) {
                            return bad("the event it records (sequence number \(eventSeq)) was changed in the outbox")
                        }
                    }
                }
                previous = hash
                expectedSeq += 1
                result.entries += 1
            }
            // Every event in the outbox has its entry: one added behind Rollcall's back has none.
            let events = try Row.fetchCursor(db, sql: "SELECT seq, subject FROM outbox WHERE seq > ? ORDER BY seq", arguments: [prunedThrough])
            while let row = try events.next() {
                let seq: Int64 = row[0]
                let subject: String = row[1]
                if !recorded.contains(seq) && !subject.hasPrefix("tombstone:") {
                    result.firstBad = expectedSeq
                    result.problem = "outbox event \(seq) has no audit entry: it was added outside Rollcall"
                    return result
                }
            }
            return result
        }
    }

    /// Entries at or after `since` (RFC 3339), in order, given to `body` one at a time.
    public func exportAudit(since: Date? = nil, _ body: (AuditRecord) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT seq, at, run_id, actor, action, subject, content, content_hash, previous_hash, hash FROM audit
                WHERE at >= ? ORDER BY seq
                """, arguments: [since.map(Timestamp.string) ?? ""])
            while let row = try rows.next() {
                var detail: JSONValue?
                if let content: String = row[6] {
                    detail = try JSONDecoder().decode(JSONValue.self, from: Data(content.utf8))["detail"]
                }
                try body(AuditRecord(seq: row[0], at: row[1], runID: row[2], actor: row[3], action: row[4], subject: row[5], detail: detail,
                                     contentHash: row[7], previousHash: row[8], hash: row[9]))
            }
        }
    }
}

extension Store {
    /// An audit entry for the configuration file when its content differs from the one the last
    /// such entry recorded (the first run records it too): who changed the rules is then visible
    /// next to what they changed. Only the SHA-256 of the file is kept (it holds no secrets, but
    /// the log need not copy it).
    public func configurationChange(file: String) throws -> AuditDraft? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let digest = Hex.encode(SHA256.hash(data: data))
        let last = try writer.read { db in
            try String.fetchOne(db, sql: "SELECT content FROM audit WHERE action = 'config.changed' ORDER BY seq DESC LIMIT 1")
        }
        if let last, last.contains(digest) { return nil }
        return AuditDraft(action: "config.changed", subject: file, detail: .object(["sha256": .string(digest)]))
    }
}

/// What `verifyAudit` reads from an entry's content: `subject`, `hr_id` (and whether the key is
/// there at all: entries older than hashed HR ids have none), and the events an entry vouches for
/// (an `event` entry's detail, a `person.applied` entry's `detail.events`). Other detail is skipped.
struct VerifiedContent: Decodable {
    struct Event: Decodable {
        var seq: Int?
        var id: String?
        var dataSHA256: String?

        init() {}

        enum CodingKeys: String, CodingKey { case seq, id, dataSHA256 = "data_sha256" }
    }

    var subject: String?
    var hasHRID = false
    var hrID: String?
    /// An `event` entry's detail read as an event.
    var event: Event?
    /// A `person.applied` entry's events.
    var events: [Event] = []

    private enum CodingKeys: String, CodingKey { case subject, hrID = "hr_id", detail }
    private enum DetailKeys: String, CodingKey { case seq, id, dataSHA256 = "data_sha256", events }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        subject = try container.decodeIfPresent(String.self, forKey: .subject)
        hasHRID = container.contains(.hrID)
        hrID = try container.decodeIfPresent(String.self, forKey: .hrID)
        // Details of other kinds (any JSON) are not looked at.
        guard let detail = try? container.nestedContainer(keyedBy: DetailKeys.self, forKey: .detail) else { return }
        if detail.contains(.seq) {
            var event = Event()
            event.seq = try? detail.decode(Int.self, forKey: .seq)
            event.id = try? detail.decode(String.self, forKey: .id)
            event.dataSHA256 = try? detail.decode(String.self, forKey: .dataSHA256)
            self.event = event
        }
        if detail.contains(.events) { events = (try? detail.decode([Event].self, forKey: .events)) ?? [] }
    }
}
