import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// End to end: a real slapd over StartTLS, a CSV file and a SQLite store.
@Suite struct ReconcileJobTests {
    static let header = "Employee ID,First Name,Last Name,Department,Job Title,Status,Termination Date\n"
    static let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_773_576_000) }  // 2026-03-15T12:00:00Z

    /// The `fields:` of an HR source reading the header above (indented as a source's key).
    static let fields = """
              fields:
                employee_id: Employee ID
                given_name: First Name
                family_name: Last Name
                department: Department
                title: Job Title
                status: Status
                termination_date: Termination Date
        """

    static func row(_ i: Int, department: String = "Sales", status: String = "Active", end: String = "") -> String {
        "E\(i),Given\(i),Family\(i),\(department),\"Analyst, level \(i)\",\(status),\(end)\n"
    }

    static func entry(_ i: Int) -> String {
        "dn: uid=p\(i),ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: p\(i)\ncn: P \(i)\nsn: P\nemployeeNumber: E\(i)\n\n"
    }

    struct World {
        let slapd: SlapdFixture
        let directory: URL
        let configuration: ResolvedConfiguration

        var csv: URL { directory.appendingPathComponent("hr.csv") }

        func writeHR(_ rows: String) throws {
            try (ReconcileJobTests.header + rows).write(to: csv, atomically: true, encoding: .utf8)
        }

        func run(dryRun: Bool = false, now: @escaping @Sendable () -> Date = ReconcileJobTests.clock) async throws -> ReconcileOutcome {
            try await ReconcileJob(configuration: configuration, logger: Logger(label: "test"), now: now).run(dryRun: dryRun)
        }

        func store() throws -> Store { try Store.open(path: configuration.storePath) }

        func events(after: Int64 = 0) throws -> [String] {
            try store().events(after: after).map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject)" }
        }
    }

    static func world(people: Int, rows: String, onBadRows: String = "stop", directoryExtra: String = "",
                      sourceExtra: [String] = [], extra: String = "", lastBind: Bool = false) async throws -> World {
        let sourceLines = sourceExtra.map { "      " + $0 }.joined(separator: "\n")
        // The first run applies as planned unless a test says otherwise (its hold is GuardRunTests' subject).
        let firstRun = extra.contains("guard:") ? "" : "guard: {first_run: apply}"
        let slapd = try await SlapdFixture.start(ldif: (1...people).map(entry).joined(), lastBind: lastBind)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
            store: {path: rollcall.sqlite}
            events: {source: "urn:rollcall:test"}
            \(firstRun)
            directories:
              - uri: \(slapd.uri)
                security: starttls
                ca_file: \(slapd.caFile)
                bind_dn: \(SlapdFixture.syncDN)
                bind_password_file: \(slapd.syncPasswordFile)
                base_dn: \(SlapdFixture.peopleBase)
                filter: (objectClass=inetOrgPerson)
                page_size: 4
                attributes: [uid]
                correlation: {hr_field: employee_id, directory_attribute: employeeNumber}
            \(directoryExtra)
            hr:
              sources:
                - path: hr.csv
                  on_bad_rows: \(onBadRows)
            \(sourceLines)
            \(fields)
            \(extra)
            """
        let file = directory.appendingPathComponent("rollcall.yaml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        try (header + rows).write(to: directory.appendingPathComponent("hr.csv"), atomically: true, encoding: .utf8)
        return World(slapd: slapd, directory: directory, configuration: try ConfigurationLoader.load(path: file.path))
    }

    @Test func joinerMoverLeaverOnceEachAndNothingOnARerun() async throws {
        let world = try await Self.world(people: 10, rows: (1...10).map { Self.row($0) }.joined())
        let first = try await world.run()
        #expect(first.summary.entriesRead == 10)
        #expect(first.summary.matched == 10)
        #expect(first.summary.events == 10)

        let rerun = try await world.run()
        #expect(rerun.summary.events == 0)
        #expect(rerun.firstSeq == nil)

        // One hire, one department move, one termination.
        let changed = (1...10).map { i in
            i == 3 ? Self.row(3, department: "Legal") : i == 5 ? Self.row(5, status: "Terminated", end: "2026-03-01") : Self.row(i)
        }.joined() + Self.row(11)
        try world.writeHR(changed)
        let third = try await world.run()
        #expect(try world.events(after: 10) == ["identity.joiner E11", "identity.mover E3", "identity.leaver E5"])
        #expect(third.firstSeq == 11 && third.lastSeq == 13)
        #expect(try await world.run().summary.events == 0)

        // The joiner's account appears in the directory: it is linked, once.
        try await world.slapd.modify("dn: uid=p11,ou=people,dc=example,dc=test\nchangetype: add\nobjectClass: inetOrgPerson\nuid: p11\ncn: P 11\nsn: P\nemployeeNumber: E11\n")
        _ = try await world.run()
        #expect(try world.events(after: 13) == ["account.linked E11"])
        let identity = try #require(try world.store().identity("E11"))
        #expect(identity.accounts.map(\.dn) == ["uid=p11,ou=people,dc=example,dc=test"])
        #expect(identity.events.map(\.type) == ["dev.rollcall.identity.joiner", "dev.rollcall.account.linked"])
    }

    /// Retention from configuration: a leaver is purged `purge_after_days` after the termination;
    /// earlier events about them keep their place in the feed but say only the tombstone, which is
    /// an HMAC of the HR id under the configured key (checked here with Python's hmac).
    @Test func aLeaverIsPurgedAfterRetentionAndTheFeedKeepsOnlyTheTombstone() async throws {
        let key = FileManager.default.temporaryDirectory.appendingPathComponent("tombstone-\(UUID().uuidString).key")
        try SecretFixture.write(Data((0..<32).map { UInt8($0 * 7 % 251) }), to: key.path)
        // E2's last day worked is 2026-01-09: gone from the 10th.
        let world = try await Self.world(people: 3, rows: Self.row(1) + Self.row(2, end: "2026-01-09") + Self.row(3), extra: """
            lifecycle: {deprovision_after_days: 30, purge_after_days: 60, tombstone_key_file: \(key.path)}
            """)
        let day: (Int) -> @Sendable () -> Date = { days in { Date(timeIntervalSince1970: 1_767_225_600 + Double(days) * 86_400) } }  // 2026-01-01 + days
        _ = try await world.run(now: day(0))
        _ = try await world.run(now: day(9))     // 2026-01-10: leaver
        #expect(try world.events(after: 3) == ["identity.leaver E2"])
        try await world.slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: delete\n")
        _ = try await world.run(now: day(39))    // 2026-02-09: deprovision (the account is gone already)
        #expect(try world.events(after: 4).first == "identity.deprovision E2")
        let before = try world.store().events(after: 0)
        let purge = try await world.run(now: day(69))   // 2026-03-11: purged
        #expect(purge.summary.purged == 1)
        let after = try world.store().events(after: 0)
        let tombstone = try #require(after.last?.data["tombstone"]?.stringValue)
        let expected = try await Shell.run("/usr/bin/python3", ["-c", """
            import hmac, hashlib, sys
            print(hmac.new(open(sys.argv[1], 'rb').read(), b'rollcall/hr-id/E2', hashlib.sha256).hexdigest())
            """, key.path])
        #expect(tombstone == expected.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(after.last?.type == "dev.rollcall.identity.purged" && after.last?.subject == "tombstone:\(tombstone)")
        // The deprovision announced the tombstone, so consumers can match the purge to the person they knew.
        #expect(before.first { $0.type == "dev.rollcall.identity.deprovision" }?.data["tombstone"] == .string(tombstone))
        // Every earlier event about E2 (by subject or hr_id) now says only the tombstone; ids and
        // sequence numbers are unchanged; others' events are untouched.
        for (old, new) in zip(before, after) {
            #expect(old.id == new.id && old.rollcallseq == new.rollcallseq && old.type == new.type)
            let aboutE2 = old.subject == "E2" || old.data["hr_id"] == .string("E2")
            #expect(aboutE2 ? new.data == .object(["purged": .bool(true), "tombstone": .string(tombstone)]) && new.subject == "tombstone:\(tombstone)"
                            : new == old)
        }
        #expect(before.filter { $0.subject == "E2" }.count >= 3)
        #expect(try world.store().identity("E2") == nil)
        // The audit log still verifies; entries about E2 lost their content (E2's name is nowhere).
        let audit = try world.store().verifyAudit()
        #expect(audit.ok && audit.redacted >= 4, "\(audit)")
        // Their entries' content hashes were keyed with their own salt, which is gone: a guess of
        // a redacted entry's content cannot be confirmed. Others keep theirs.
        let salts = try await Shell.run("/usr/bin/sqlite3", [world.configuration.storePath, "SELECT group_concat(employee_id) FROM person_salt ORDER BY employee_id"])
        #expect(salts.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").sorted() == ["E1", "E3"], "\(salts.output)")
        let keyed = try await Shell.run("/usr/bin/sqlite3", [world.configuration.storePath, "SELECT count(*) FROM audit WHERE content IS NULL AND content_hash LIKE 'k:%'"])
        // (One entry per run that touched E2: the first load, the leaver, the deprovisioning.)
        #expect((Int(keyed.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 3, "\(keyed.output)")
        // The redaction is itself an entry naming each blanked entry.
        var named: [JSONValue] = []
        try world.store().exportAudit { if $0.action == "audit.redacted", case .array(let seqs)? = $0.detail?["seqs"] { named += seqs } }
        #expect(named.count == audit.redacted)
        var names: [String] = []
        try world.store().exportAudit { record in
            if let detail = record.detail, CanonicalJSON.text(detail).contains("Given2") { names.append(record.action) }
        }
        #expect(names.isEmpty)
        // HR still lists E2 as terminated: not stored again, counted in the summary.
        let later = try await world.run(now: day(70))
        #expect(later.summary.purgedInHR == 1 && later.summary.events == 0)
        #expect(try world.store().loadState().persons.keys.sorted() == ["E1", "E3"])
    }

    /// `events.retention_days`: after an applied run, events older than the retention leave the
    /// outbox (the newest always stays, so sequence numbers go on without reuse); audited; a
    /// consumer whose cursor is before the oldest kept gets `FeedGone`, a new one starts there.
    @Test func eventsPastRetentionLeaveTheOutbox() async throws {
        var world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2))
        var configuration = world.configuration
        configuration.eventRetentionDays = 30
        world = World(slapd: world.slapd, directory: world.directory, configuration: configuration)
        let day: (Int) -> @Sendable () -> Date = { days in { Date(timeIntervalSince1970: 1_767_225_600 + Double(days) * 86_400) } }  // 2026-01-01 + days
        _ = try await world.run(now: day(0))
        let first = try world.store().newestSequence()
        #expect(first >= 2)
        _ = try world.store().addConsumer("early", types: [], by: "test")
        try world.writeHR(Self.row(1) + Self.row(2) + Self.row(3))
        _ = try await world.run(now: day(20))                              // a joiner, 20 days later
        #expect(try world.store().oldestSequence() == 1)                  // nothing is 30 days old yet
        try world.writeHR(Self.row(1) + Self.row(2) + Self.row(3) + Self.row(4))
        _ = try await world.run(now: day(40))                              // day 0's events are 40 days old
        let store = try world.store()
        #expect(try store.oldestSequence() == first + 1)
        #expect(try world.events() == ["identity.joiner E3", "identity.joiner E4"])
        var pruned: [JSONValue] = []
        try store.exportAudit { if $0.action == "outbox.pruned", let detail = $0.detail { pruned.append(detail) } }
        #expect(pruned == [.object(["from": .int(1), "through": .int(Int(first)), "events": .int(Int(first)), "retention_days": .int(30)])])
        #expect(try store.verifyAudit().ok)
        // The early consumer's cursor (0) is before what is kept: FeedGone names the oldest.
        #expect(throws: FeedGone.self) { try store.feedLines(after: 0, limit: 10, types: [], subject: nil, thin: true) }
        do {
            _ = try store.feedLines(after: 0, limit: 10, types: [], subject: nil, thin: true)
        } catch let gone as FeedGone {
            #expect(gone.oldest == first + 1)
        }
        #expect(try store.feedLines(after: first, limit: 10, types: [], subject: nil, thin: true).events.count == 2)
        // Rewinding before the oldest is refused; a new consumer starts at the oldest kept.
        #expect(throws: StoreError.self) { try store.moveCursor("early", to: 0, rewind: true, by: "test") }
        _ = try store.addConsumer("late", types: [], by: "test")
        #expect(try store.consumers().first { $0.name == "late" }?.cursor == first)
        // Nothing new for a year: everything but the newest goes; the next event continues the sequence.
        let newest = try store.newestSequence()
        #expect(try store.pruneOutbox(retentionDays: 30, now: day(400)()) == 1)
        #expect(try store.oldestSequence() == newest)
        try world.writeHR(Self.row(1) + Self.row(2) + Self.row(3) + Self.row(4) + Self.row(5))
        _ = try await world.run(now: day(401))
        #expect(try store.feedLines(after: newest, limit: 10, types: [], subject: nil, thin: true).events.map(\.seq) == [newest + 1])
    }

    /// An HR file beyond its source's caps (`max_records`, `max_megabytes`) fails the run, naming
    /// the cap; nothing is applied.
    @Test func anHRFileBeyondItsCapsFailsTheRun() async throws {
        let world = try await Self.world(people: 2, rows: (1...3).map { Self.row($0) }.joined(), sourceExtra: ["max_records: 2"])
        do {
            _ = try await world.run()
            Issue.record("3 records read past max_records 2")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("more than max_records (2)"), "\(failure.reason)")
        }
        #expect(try world.events().isEmpty)
        let big = try await Self.world(people: 2, rows: (1...20_000).map { Self.row($0) }.joined(), sourceExtra: ["max_megabytes: 1"])
        do {
            _ = try await big.run()
            Issue.record("a 1.2 MiB file read past max_megabytes 1")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("more than max_megabytes (1)"), "\(failure.reason)")
        }
    }

    /// Issue 12: after a purge nothing about the person is left in the database file but the
    /// tombstone: the raw bytes of the store (its WAL checkpointed) hold none of their HR id,
    /// names, title or e-mail.
    @Test func aPurgeLeavesNoTraceInTheFile() async throws {
        let key = FileManager.default.temporaryDirectory.appendingPathComponent("tombstone-\(UUID().uuidString).key")
        try SecretFixture.write(Data((0..<32).map { UInt8($0 * 7 % 251) }), to: key.path)
        let person = { (end: String) in "QZX7741,Xylobrand,Quenterpaw,Sales,Zebulonic Analyst,Active,\(end)\n" }
        // The first run waits for approval (its plan, naming everyone, is stored); bad rows are
        // skipped and reported (a run report will name the person).
        let world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2) + person(""), onBadRows: "skip", extra: """
            lifecycle: {deprovision_after_days: 30, purge_after_days: 60, tombstone_key_file: \(key.path)}
            guard: {max_deprovisions: 50}
            """)
        try await world.slapd.modify("""
            dn: uid=xq,ou=people,dc=example,dc=test
            changetype: add
            objectClass: inetOrgPerson
            uid: xq
            cn: Xylobrand Quenterpaw
            sn: Quenterpaw
            mail: xylobrand.quenterpaw@example.test
            employeeNumber: QZX7741

            """)
        let day: (Int) -> @Sendable () -> Date = { days in { Date(timeIntervalSince1970: 1_767_225_600 + Double(days) * 86_400) } }
        let quarantined = try #require(try await world.run(now: day(0)).quarantinedRun)
        _ = try await ReconcileJob(configuration: world.configuration, logger: Logger(label: "test"), now: day(0))
            .run(dryRun: false, approving: .init(runID: quarantined, actor: "carol", reason: "baseline"))
        // A day their id is on two rows: disputed, both rejected, in that run's report by id.
        try world.writeHR(Self.row(1) + Self.row(2) + person("") + person(""))
        _ = try await world.run(now: day(1))
        let report = try #require(try world.store().runs().first?.report)
        #expect(CanonicalJSON.text(report).contains("QZX7741"), "\(report)")
        try world.writeHR(Self.row(1) + Self.row(2) + person("2026-01-09"))
        _ = try await world.run(now: day(9))
        try await world.slapd.modify("dn: uid=xq,ou=people,dc=example,dc=test\nchangetype: delete\n")
        _ = try await world.run(now: day(39))
        #expect(try await world.run(now: day(69)).summary.purged == 1)
        _ = try await world.run(now: day(70))
        // A busy timeout: under a loaded machine the runs' connections may still be closing (a
        // connection held open for good would still fail this after 10 s).
        let checkpoint = try await Shell.run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", world.configuration.storePath, "PRAGMA wal_checkpoint(TRUNCATE)"])
        #expect(checkpoint.status == 0, "\(checkpoint.error)")
        var files: [(String, Data)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: world.directory.path) where name.hasPrefix("rollcall.sqlite") {
            files.append((name, try Data(contentsOf: world.directory.appendingPathComponent(name))))
        }
        for trace in ["QZX7741", "Xylobrand", "Quenterpaw", "Zebulonic", "xylobrand.quenterpaw", "uid=xq,"] {
            for (name, bytes) in files {
                var hits = 0
                var from = bytes.startIndex
                while let found = bytes.range(of: Data(trace.utf8), in: from..<bytes.endIndex) {
                    hits += 1
                    from = found.upperBound
                }
                #expect(hits == 0, "\(trace) appears \(hits) times in \(name)")
            }
        }
        #expect(try world.store().verifyAudit().ok)
    }

    /// A changed configuration file is in the audit log at the next run (its digest), once.
    @Test func configurationChangesAreAudited() async throws {
        let world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2))
        func changes() throws -> [String] {
            var found: [String] = []
            try world.store().exportAudit { if $0.action == "config.changed" { found.append($0.detail?["sha256"]?.stringValue ?? "") } }
            return found
        }
        _ = try await world.run()
        _ = try await world.run()
        #expect(try changes().count == 1)
        let file = world.directory.appendingPathComponent("rollcall.yaml")
        try (try String(contentsOf: file, encoding: .utf8) + "# tuned\n").write(to: file, atomically: true, encoding: .utf8)
        _ = try await world.run()
        _ = try await world.run()
        let digests = try changes()
        #expect(digests.count == 2 && Set(digests).count == 2)
    }

    /// An entry deleted and added again (same uid and employeeNumber, new entryUUID) is the same
    /// person's new account: one `account.relinked`, no removal, no leaver, no joiner.
    @Test func aRecreatedEntryIsRelinked() async throws {
        let world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2))
        _ = try await world.run()
        let old = try #require(try world.store().loadState().links.first { $0.employeeID == "E2" }?.anchor)
        try await world.slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: delete\n\n" + "dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: add\nobjectClass: inetOrgPerson\nuid: p2\ncn: P 2\nsn: P\nemployeeNumber: E2\n")
        let outcome = try await world.run()
        #expect(try world.events(after: 2) == ["account.relinked E2"])
        #expect(outcome.summary.relinked == 1 && outcome.summary.removedAccounts == 1)
        let event = try #require(try world.store().events(after: 2).first)
        #expect(event.data["previous_anchor"] == .string(old))
        let new = try #require(try world.store().loadState().links.first { $0.employeeID == "E2" }?.anchor)
        #expect(new != old && event.data["account"]?["anchor"] == .string(new))
        #expect(try await world.run().summary.events == 0)
    }

    /// Birthright groups and separation of duties against real groupOfNames entries in slapd.
    @Test func birthrightGrantsRevokesAndViolationsFromConfiguration() async throws {
        let groups = "ou=services,dc=example,dc=test"
        let world = try await Self.world(people: 3, rows: Self.row(1, department: "Engineering") + Self.row(2) + Self.row(3), extra: """
            entitlements:
              groups: {base_dn: "\(groups)", filter: "(objectClass=groupOfNames)"}
              birthright:
                - name: everyone
                  group: cn=all-staff,\(groups)
                - name: engineering
                  group: cn=eng,\(groups)
                  when: {all: [{department: {equals: engineering}}, {not: {title: {prefix: Intern}}}]}
              separation_of_duties:
                - name: ap
                  groups: ["cn=ap-create,\(groups)", "cn=ap-approve,\(groups)"]
            """)
        func group(_ name: String, _ members: [String]) -> String {
            "dn: cn=\(name),\(groups)\nchangetype: add\nobjectClass: groupOfNames\ncn: \(name)\n"
                + (members.isEmpty ? ["cn=nobody"] : members).map { "member: \($0)\n" }.joined() + "\n"
        }
        let p = { (i: Int) in "uid=p\(i),ou=people,dc=example,dc=test" }
        try await world.slapd.modify(group("all-staff", [p(1), p(2)]) + group("eng", [p(3)]) + group("ap-create", [p(2)])
                                     + group("ap-approve", [p(2)]))
        let first = try await world.run()
        let entitlementEvents = try world.store().events().filter { !$0.type.contains("account.") }
            .map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject) \($0.data["group"]?.stringValue ?? $0.data["rule"]?.stringValue ?? "")" }
        #expect(entitlementEvents == [
            "entitlement.grant E1 cn=eng,\(groups)",
            "policy.violation E2 ap",
            "entitlement.grant E3 cn=all-staff,\(groups)",
            "entitlement.revoke E3 cn=eng,\(groups)",
        ])
        #expect(first.summary.grants == 2 && first.summary.revokes == 1 && first.summary.violations == 1)
        #expect(try await world.run().summary.events == 0)
        // Downstream does the grant for E1: nothing new, and the notice is forgotten.
        try await world.slapd.modify("dn: cn=eng,\(groups)\nchangetype: modify\nadd: member\nmember: \(p(1))\n\n")
        #expect(try await world.run().summary.events == 0)
        #expect(try world.store().loadState().entitlementNotices["E1"] == nil)
        #expect(try world.store().loadState().entitlementNotices["E3"]?.count == 2)
    }

    /// A department HR owns, held in departmentNumber: drift once, nothing on a rerun, gone when fixed.
    @Test func driftOfAnHROwnedAttribute() async throws {
        let world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2),
                                         directoryExtra: "    hr_authoritative: {department: departmentNumber}")
        try await world.slapd.modify("dn: uid=p1,ou=people,dc=example,dc=test\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: Sales\n\n"
                                     + "dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: Legal\n")
        let first = try await world.run()
        #expect(first.summary.drifts == 1)
        let drift = try #require(try world.store().events().first { $0.type == "dev.rollcall.identity.drift" })
        #expect(drift.subject == "E2" && drift.data["expected"] == .string("Sales") && drift.data["actual"] == .string("Legal"))
        #expect(try await world.run().summary.events == 0)
        try await world.slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: Sales\n")
        #expect(try await world.run().summary.events == 0)
        #expect(try world.store().loadState().driftNotices.isEmpty)
    }

    @Test func badRowsStopTheRunAndNothingIsApplied() async throws {
        let world = try await Self.world(people: 3, rows: (1...3).map { Self.row($0) }.joined())
        _ = try await world.run()
        try world.writeHR(Self.row(1, department: "Legal") + "E2,X,Y,Sales,T,Retired,\n" + Self.row(3))
        do {
            _ = try await world.run()
            Issue.record("a run with a bad row applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("hr.csv:3"))
            #expect(failure.reason.contains("Retired"))
        }
        #expect(try world.events().count == 3)
        #expect(try world.store().loadState().persons["E1"]?.attributes.department == "Sales")
        let runs = try world.store().runs()
        #expect(runs.first?.status == "failed")
        #expect(runs.first?.error?.contains("hr.csv:3") == true)
    }

    @Test func skippedBadRowsAreListedAndTheRestIsApplied() async throws {
        let world = try await Self.world(people: 3, rows: Self.row(1) + "E2,X,Y,Sales,T,Active,31/02/2026\n" + Self.row(3), onBadRows: "skip")
        let outcome = try await world.run()
        #expect(outcome.summary.rejectedRows == 1)
        #expect(outcome.report.badRowsSkipped)
        #expect(outcome.report.rejectedRows.map(\.location.line) == [3])
        // The report is stored with the run, for `rollcall runs`.
        let stored = try #require(try world.store().runs().first?.report)
        #expect(stored["rejected_rows"].map { "\($0)" }?.contains("31/02/2026") == true)
        #expect(try world.events() == ["account.linked E1", "account.linked E3", "account.orphaned \(try orphanAnchor(world))"])
    }

    func orphanAnchor(_ world: World) throws -> String {
        try #require(try world.store().loadState().accounts["default"]?.values.first { $0.correlationValue == "E2" }?.anchor)
    }

    @Test func aDryRunWritesNothing() async throws {
        let world = try await Self.world(people: 2, rows: Self.row(1) + Self.row(2))
        // No store yet: a dry run says so and creates none.
        do {
            _ = try await world.run(dryRun: true)
            Issue.record("a dry run without a store succeeded")
        } catch let error as StoreError {
            #expect(error.description.contains("there is no store here yet"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: world.configuration.storePath))
        _ = try await world.run()
        try world.writeHR(Self.row(1) + Self.row(2) + Self.row(3))
        let outcome = try await world.run(dryRun: true)
        #expect(outcome.summary.events == 1)
        #expect(outcome.runID == nil)
        #expect(try world.events().count == 2)
        #expect(try world.store().runs().count == 1)
    }

    @Test func aDirectoryThatGoesAwayFailsTheRunWithoutEvents() async throws {
        let world = try await Self.world(people: 4, rows: (1...4).map { Self.row($0) }.joined())
        _ = try await world.run()
        try world.writeHR(Self.row(1, status: "Terminated"))
        world.slapd.kill()
        do {
            _ = try await world.run()
            Issue.record("a run without its directory applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("LDAP"))
        }
        #expect(try world.events().count == 4)
        #expect(try world.store().runs().first?.status == "failed")
    }

    @Test func anHRFeedWithNoRowsIsNotEveryoneLeaving() async throws {
        let world = try await Self.world(people: 3, rows: (1...3).map { Self.row($0) }.joined())
        _ = try await world.run()
        try world.writeHR("")
        do {
            _ = try await world.run()
            Issue.record("an empty feed was applied")
        } catch let failure as ReconcileFailure {
            #expect(failure.reason.contains("no persons"))
        }
        #expect(try world.events().count == 3)
    }
}
