import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// The `rollcall` executable as an operator runs it, against a real slapd.
@Suite struct CLITests {
    /// SwiftPM puts the executable next to the test bundle.
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rollcall").path
    }

    /// The actor a CLI command run directly records: the kernel's name for the user (these tests
    /// run as root) with sudo's invoker, which is all `$SUDO_USER` can add.
    static func operatorName(sudoFrom invoker: String) -> String {
        let uid = getuid()
        let me = PeerCredentials.userName(uid: uid).map { "\($0) (uid \(uid))" } ?? "uid \(uid)"
        return uid == 0 ? me + ", sudo from \(invoker)" : me
    }

    func rollcall(_ arguments: [String]) async throws -> Shell.Result {
        try await Shell.run(Self.binary, arguments)
    }

    /// On a terminal (a pseudo-terminal from script(1)) a reconcile draws its progress in place:
    /// each phase rewritten on one line, the rate of a read; the summary follows as usual.
    @Test func aReconcileOnATerminalShowsItsProgress() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let run = try await Shell.run("/usr/bin/script", ["-qec", "\(Self.binary) reconcile --config \(config)", "/dev/null"])
        #expect(run.status == 0, "\(run.output)\(run.error)")
        #expect(run.output.contains("\r\u{1B}[Kread_hr"), "\(run.output.debugDescription)")
        #expect(run.output.contains("read_hr: 3 records"), "\(run.output.debugDescription)")
        #expect(run.output.contains("read_directory: 3 entries"), "\(run.output.debugDescription)")
        #expect(!run.output.contains("progress: "))
        #expect(run.output.contains("matched            3") && run.output.contains("via: this process"))
    }

    @Test func reconcileListEventsShowIdentityAndNeverPrintTheSecret() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined() + ReconcileJobTests.row(4))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let secret = try String(contentsOfFile: world.slapd.syncPasswordFile, encoding: .utf8)

        let run = try await rollcall(["reconcile", "--config", config, "--json", "--log-level", "trace"])
        #expect(run.status == 0, "\(run.error)")
        let outcome = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let summary = try #require(outcome["summary"] as? [String: Any])
        #expect(summary["joiners"] as? Int == 1)
        #expect(summary["matched"] as? Int == 3)
        #expect(!run.output.contains(secret) && !run.error.contains(secret))

        let list = try await rollcall(["events", "list", "--config", config, "--after", "1", "--limit", "2"])
        #expect(list.status == 0)
        let lines = list.output.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["rollcallseq"] as? Int == 2)
        #expect(first["specversion"] as? String == "1.0")

        let show = try await rollcall(["identity", "show", "E4", "--config", config])
        #expect(show.status == 0)
        #expect(show.output.contains("dev.rollcall.identity.joiner"))

        let unknown = try await rollcall(["identity", "show", "E999", "--config", config])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("no person with HR id E999"))
    }

    /// A directory whose matches need an operator: reconcile proposes, `rollcall link` confirms
    /// (recorded with who did it), the next reconcile keeps the link and says nothing.
    @Test func proposedMatchesAreConfirmedWithLink() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2),
                                                      directoryExtra: "    on_unlinked: report")
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let run = try await rollcall(["reconcile", "--config", config])
        #expect(run.status == 0, "\(run.error)")
        let proposals = try world.store().events(after: 0).filter { $0.type == "dev.rollcall.correlation.proposed" }
        #expect(proposals.map(\.subject) == ["E1", "E2"])
        let anchor = try #require(proposals.first?.data["account"]?["anchor"]?.stringValue)

        let wrong = try await rollcall(["link", "E1", "--directory", "default", "--anchor", "nope", "--config", config])
        #expect(wrong.status != 0)
        #expect(wrong.error.contains("directory default has no stored account with anchor nope"), "\(wrong.error)")

        let link = try await Shell.run(Self.binary, ["link", "E1", "--directory", "default", "--anchor", anchor, "--config", config],
                                       environment: ["SUDO_USER": "alice"])
        #expect(link.status == 0, "\(link.error)")
        #expect(link.output.contains("linked E1 to \(anchor) in default"))
        let linked = try #require(try world.store().events(after: 2).first)
        #expect(linked.type == "dev.rollcall.account.linked" && linked.subject == "E1")
        #expect(linked.data["matched_by"] == .string("manual"))
        let report = try await rollcall(["report", "--config", config])
        #expect(report.status == 0, "\(report.error)")
        let alice = Self.operatorName(sudoFrom: "alice")
        #expect(report.output.contains("\"by\" : \"\(alice)\"") || report.output.contains("\"by\":\"\(alice)\""), "\(report.output)")

        let verify = try await rollcall(["audit", "verify", "--config", config])
        #expect(verify.status == 0, "\(verify.error)")
        #expect(verify.output.contains("audit log verifies"))
        let export = try await rollcall(["audit", "export", "--config", config, "--since", "2000-01-01T00:00:00Z"])
        let actions = try export.output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let admin = try #require(actions.first { $0["action"] as? String == "admin.link" })
        #expect(admin["actor"] as? String == alice)
        #expect(actions.filter { $0["actor"] as? String == alice }.map { $0["action"] as? String } == ["admin.link", "run.applied", "person.applied"])

        let again = try await rollcall(["reconcile", "--config", config, "--json"])
        #expect(again.status == 0)
        #expect(try world.store().events(after: 3).isEmpty)
        #expect(try world.store().identity("E1")?.accounts.map(\.anchor) == [anchor])
    }

    /// The emergency stop from the command line: announced at once, held through reconciles,
    /// lifted by enable; who and why are in the audit log.
    /// The guard as an operator meets it: a new store's first run waits (exit 3) until
    /// `reconcile --initial`; later, leavers over the limit are held (exit 3), listed with their
    /// age by `runs --held` and `plan`, and `approve` applies them.
    @Test func theGuardFromTheCommandLine() async throws {
        let world = try await ReconcileJobTests.world(people: 6, rows: (1...6).map { ReconcileJobTests.row($0) }.joined(),
                                                      extra: "guard: {max_deprovisions: 2}")
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let held = try await rollcall(["reconcile", "--config", config])
        #expect(held.status == 3)
        #expect(held.error.contains("the first run of this store waits for approval"), "\(held.error)")
        #expect(try world.store().loadState().persons.isEmpty)
        let initial = try await rollcall(["reconcile", "--initial", "--config", config])
        #expect(initial.status == 0, "\(initial.error)")
        #expect(try world.store().loadState().persons.count == 6)

        try world.writeHR((1...6).map { ReconcileJobTests.row($0, status: $0 <= 3 ? "Terminated" : "Active") }.joined())
        let tripped = try await rollcall(["reconcile", "--config", config])
        #expect(tripped.status == 3)
        #expect(tripped.error.contains("3 decisions are held back by the mass-change guard"), "\(tripped.error)")
        let list = try await rollcall(["runs", "--held", "--config", config])
        #expect(list.status == 0)
        let lines = list.output.split(separator: "\n")
        #expect(lines.count == 3 && lines.allSatisfy { $0.contains("identity.leaver  E") && $0.contains("held 0 h ago") }, "\(list.output)")
        let run = try #require(lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.map(String.init))
        let plan = try await rollcall(["plan", "--config", config])
        #expect(plan.output.contains("held back, waiting for rollcall approve RUN or reject RUN"), "\(plan.output)")
        #expect(plan.output.contains("still planned"))
        let approve = try await rollcall(["approve", run, "--config", config])
        #expect(approve.status == 0, "\(approve.error)")
        #expect(approve.output.contains("applied 3 held decisions; dropped 0"), "\(approve.output)")
        #expect(try world.store().loadState().persons.values.filter { $0.lifecycle == .terminated }.count == 3)
        #expect(try await rollcall(["runs", "--held", "--config", config]).output.contains("no decisions are held back"))
    }

    /// Runs never overlap: while another process holds the run lock, reconcile exits 75 (busy)
    /// without recording a failed run; with --wait it waits for the lock.
    @Test func aReconcileWhileAnotherRunHoldsTheLockIsBusy() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        // Another run (here: this test process, as the daemon would be) holds the lock.
        let lock = try RunLock.acquire(storePath: world.configuration.storePath)
        let busy = try await rollcall(["reconcile", "--config", config])
        #expect(busy.status == 75)
        #expect(busy.error.contains("busy: another run holds the run lock") && busy.error.contains("(pid \(getpid()))"), "\(busy.error)")
        #expect(try world.store().runs().isEmpty)
        // Released after a second: a reconcile waiting up to 10 s gets it.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 1)
            lock.release()
        }
        let waited = try await rollcall(["reconcile", "--wait", "10", "--config", config])
        #expect(waited.status == 0, "\(waited.error)")
        #expect(try world.store().runs().first?.status == "applied")
    }

    /// `config check` says valid, or names the problem's key and line; `status` without a daemon
    /// says so and still reads the store.
    @Test func configCheckAndStatusWithoutADaemon() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2),
                                                      extra: "serve: {listen: \"127.0.0.1:\(Loopback.freePort() ?? 1)\"}")
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let valid = try await rollcall(["config", "check", config])
        #expect(valid.status == 0 && valid.output.contains("\(config): valid"), "\(valid.output)\(valid.error)")
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let broken = world.directory.appendingPathComponent("broken.yaml").path
        try text.replacingOccurrences(of: "    page_size: 4", with: "    page_size: 4\n    delta: sometimes").write(toFile: broken, atomically: true, encoding: .utf8)
        let line = (text.components(separatedBy: "\n").firstIndex { $0.contains("page_size: 4") } ?? 0) + 2
        let invalid = try await rollcall(["config", "check", broken])
        #expect(invalid.status == 1)
        #expect(invalid.error.contains("broken.yaml:\(line) (directories[0].delta)"), "\(invalid.error)")
        _ = try await world.run()
        let status = try await rollcall(["status", "--config", config])
        #expect(status.status == 0, "\(status.error)")
        #expect(status.output.contains("daemon: not running"), "\(status.output)")
        #expect(status.output.contains("admin socket: none answering"), "\(status.output)")
        #expect(status.output.contains("last applied run: run 1") && status.output.contains("directory default: last read full"), "\(status.output)")
    }

    /// Logs as the place they go reads them: JSON lines with `--log-format json`, syslog priority
    /// prefixes when systemd connected standard error to the journal.
    @Test func logFormatsForShippersAndTheJournal() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let json = try await rollcall(["reconcile", "--config", config, "--log-level", "info", "--log-format", "json"])
        #expect(json.status == 0, "\(json.error)")
        let lines = json.error.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"run applied\"") && $0.contains("\"run.id\":\"1\"") }, "\(json.error)")
        let journal = try await Shell.run(Self.binary, ["reconcile", "--config", config, "--log-level", "info"], environment: ["JOURNAL_STREAM": "8:1234"])
        #expect(journal.status == 0)
        let journalLines = journal.error.split(separator: "\n")
        #expect(!journalLines.isEmpty && journalLines.allSatisfy { $0.hasPrefix("<") }, "\(journal.error)")
        #expect(journalLines.contains { $0.hasPrefix("<6>") && $0.contains("run applied") }, "\(journal.error)")
    }

    /// Secrets as systemd credentials (`LoadCredential=`): `credential:NAME` is read from
    /// $CREDENTIALS_DIRECTORY, and without it the configuration says what is missing.
    @Test func secretsAsSystemdCredentials() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let passwordLine = try #require(text.components(separatedBy: "\n").first { $0.contains("bind_password_file:") })
        let credentialConfig = world.directory.appendingPathComponent("credential.yaml").path
        try text.replacingOccurrences(of: passwordLine, with: "    bind_password_file: credential:ldap-password")
            .write(toFile: credentialConfig, atomically: true, encoding: .utf8)
        let credentials = world.directory.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: world.slapd.syncPasswordFile, toPath: credentials.appendingPathComponent("ldap-password").path)
        let missing = try await Shell.run(Self.binary, ["config", "check", credentialConfig], environment: ["CREDENTIALS_DIRECTORY": ""])
        #expect(missing.status == 1 && missing.error.contains("$CREDENTIALS_DIRECTORY is not set"), "\(missing.error)")
        let run = try await Shell.run(Self.binary, ["reconcile", "--config", credentialConfig],
                                      environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(run.status == 0, "\(run.error)")
        #expect(try world.store().events().count == 2)
    }

    @Test func disableHoldsAPersonUntilEnabled() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        let disable = try await Shell.run(Self.binary, ["disable", "E1", "--reason", "suspected phishing", "--config", config],
                                          environment: ["SUDO_USER": "erin"])
        #expect(disable.status == 0, "\(disable.error)")
        let event = try #require(try world.store().events(after: 2).first)
        #expect(event.type == "dev.rollcall.identity.disabled" && event.subject == "E1")
        #expect(event.data["reason"] == .string("suspected phishing") && event.data["by"] == .string(Self.operatorName(sudoFrom: "erin")))
        let twice = try await rollcall(["disable", "E1", "--reason", "again", "--config", config])
        #expect(twice.status != 0 && twice.error.contains("E1 is already disabled"), "\(twice.error)")

        // HR terminates E1 by mistake (months ago) and takes it back: the leaver and the deprovision
        // are announced, the rehire is not.
        try world.writeHR(ReconcileJobTests.row(1, status: "Terminated", end: "2026-03-01") + ReconcileJobTests.row(2))
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        try world.writeHR(ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        #expect(try world.store().events(after: 3).map(\.type) == ["dev.rollcall.identity.leaver", "dev.rollcall.identity.deprovision"])

        let enable = try await Shell.run(Self.binary, ["enable", "E1", "--reason", "cleared by SOC", "--config", config],
                                         environment: ["SUDO_USER": "erin"])
        #expect(enable.status == 0, "\(enable.error)")
        #expect(try world.store().events(after: 5).map(\.type) == ["dev.rollcall.identity.enabled"])
        #expect(try world.store().events(after: 5).first?.data["restore"] == .bool(true))
        var actions: [String] = []
        try world.store().exportAudit { if $0.actor == Self.operatorName(sudoFrom: "erin") { actions.append("\($0.action) \($0.detail?["reason"]?.stringValue ?? "")") } }
        #expect(actions.contains("admin.disable suspected phishing") && actions.contains("admin.enable cleared by SOC"))
        #expect(actions.contains("hold.set suspected phishing") && actions.contains("hold.lifted "))

        // A subject access request: everything about E1 in one JSON document.
        let export = try await rollcall(["identity", "export", "E1", "--config", config])
        #expect(export.status == 0, "\(export.error)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(export.output.utf8)) as? [String: Any])
        #expect(document["hr_id"] as? String == "E1")
        #expect((document["accounts"] as? [[String: Any]])?.first?["dn"] as? String == "uid=p1,ou=people,dc=example,dc=test")
        let types = (document["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        #expect(types == ["dev.rollcall.account.linked", "dev.rollcall.identity.disabled", "dev.rollcall.identity.leaver",
                          "dev.rollcall.identity.deprovision", "dev.rollcall.identity.enabled"])
        let audited = (document["audit"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
        #expect(audited.contains("admin.disable") && audited.contains("person.applied"))
        #expect(!export.output.contains("Given2"))
        let nobody = try await rollcall(["identity", "export", "E404", "--config", config])
        #expect(nobody.status != 0 && nobody.error.contains("no person with HR id E404"))
    }

    /// A backup taken while reconciles run is consistent; restored as the procedure says, it
    /// verifies and carries on where it was.
    @Test func backupAndRestore() async throws {
        let world = try await ReconcileJobTests.world(people: 300, rows: (1...300).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        // Backups taken again and again during the first (big) reconcile.
        let reconcile = Task { try await rollcall(["reconcile", "--config", config]) }
        // Backups start once the store exists (a backup of no store is an error, not a new store).
        while !FileManager.default.fileExists(atPath: world.configuration.storePath) { try await Task.sleep(for: .milliseconds(5)) }
        var backups: [String] = []
        for index in 0..<6 {
            let file = world.directory.appendingPathComponent("backup-\(index).sqlite").path
            let backup = try await rollcall(["backup", file, "--config", config])
            #expect(backup.status == 0, "\(backup.error)")
            #expect(backup.output.contains("integrity ok, audit log verifies"))
            backups.append(file)
        }
        let first = try await reconcile.value
        #expect(first.status == 0, "\(first.error)")
        let final = try world.store().events(after: 0).count
        #expect(final == 300)
        let again = try await rollcall(["backup", backups[0], "--config", config])
        #expect(again.status != 0 && again.error.contains("never overwrites"))

        // Each backup holds either nothing or the whole first run, never half of it.
        for file in backups {
            let copy = try Store.open(path: file)
            let persons = try copy.loadState().persons.count
            let events = try copy.events(after: 0, limit: 1000).count
            #expect((persons == 0 && events == 0) || (persons == 300 && events == 300), "\(file): \(persons) persons, \(events) events")
        }

        // Restore (docs/operations.md): the store and its -wal/-shm moved aside, the backup copied in.
        let store = world.configuration.storePath
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: store + suffix) {
            try FileManager.default.moveItem(atPath: store + suffix, toPath: store + suffix + ".old")
        }
        try FileManager.default.copyItem(atPath: try #require(backups.first), toPath: store)
        let verify = try await rollcall(["audit", "verify", "--config", config])
        #expect(verify.status == 0, "\(verify.error)")
        // Reconciling from the restored store converges: the same 300 events in the end.
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        #expect(try world.store().events(after: 0, limit: 1000).count == final)
        #expect(try await rollcall(["reconcile", "--config", config, "--json"]).output.contains("\"events\" : 0"))
    }

    /// Seeing before doing: plan shows the events without applying them, explain traces one
    /// person, reconcile --identity applies only that person's part.
    @Test func planExplainAndReconcileOnePerson() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        try world.writeHR(ReconcileJobTests.row(1, department: "Legal") + ReconcileJobTests.row(2, department: "Legal")
                          + ReconcileJobTests.row(3, status: "Terminated", end: "2026-01-01"))

        let plan = try await rollcall(["plan", "--config", config])
        #expect(plan.status == 0, "\(plan.error)")
        #expect(plan.output.contains("4 events, nothing applied"), "\(plan.output)")
        let lines = plan.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("E1") && $0.contains("identity.mover") && $0.contains("department: Sales → Legal") })
        #expect(lines.contains { $0.hasPrefix("E3") && $0.contains("identity.leaver") })
        let json = try await rollcall(["plan", "--config", config, "--json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect((parsed["events"] as? [Any])?.count == 4)
        #expect(try world.store().events(after: 3).isEmpty)

        let explain = try await rollcall(["explain", "E3", "--config", config])
        #expect(explain.status == 0, "\(explain.error)")
        let trace = try #require(try JSONSerialization.jsonObject(with: Data(explain.output.utf8)) as? [String: Any])
        #expect(((trace["hr"] as? [String: Any])?["source"] as? String)?.hasSuffix("/hr.csv:4") == true)
        let lifecycle = try #require(trace["lifecycle"] as? [String: Any])
        #expect(lifecycle["before"] as? String == "active")
        #expect((lifecycle["why"] as? String)?.contains("HR status terminated") == true)
        let situation = (trace["directories"] as? [[String: Any]])?.first?["situation"] as? String
        #expect(situation == "linked: the stored link's account is there")
        // Terminated in January: disabled and, past the grace period, deleted.
        #expect(((trace["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String })
                == ["dev.rollcall.identity.leaver", "dev.rollcall.identity.deprovision"])
        let unknown = try await rollcall(["explain", "E77", "--config", config])
        #expect(unknown.status != 0 && unknown.error.contains("E77 is neither stored nor in this HR read"))

        let one = try await Shell.run(Self.binary, ["reconcile", "--identity", "E2", "--config", config], environment: ["SUDO_USER": "frank"])
        #expect(one.status == 0, "\(one.error)")
        #expect(try world.store().events(after: 3).map { "\($0.type) \($0.subject)" } == ["dev.rollcall.identity.mover E2"])
        var audited: [String] = []
        try world.store().exportAudit { if $0.actor == Self.operatorName(sudoFrom: "frank") { audited.append($0.action) } }
        #expect(audited.first == "admin.reconcile_identity")
        // The next full run does the rest, and E2's part only once.
        #expect(try await rollcall(["reconcile", "--config", config]).status == 0)
        let rest = try world.store().events(after: 4).map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject)" }
        #expect(rest.first == "identity.mover E1" && rest.contains("identity.leaver E3") && !rest.contains("identity.mover E2"))
    }

    @Test func theReportOfARunNamesEveryBadRecordAndWarning() async throws {
        let rows = ReconcileJobTests.row(1) + "E2,X,Y,Sales,T,Retired,\n" + ReconcileJobTests.row(3)
        let world = try await ReconcileJobTests.world(people: 3, rows: rows)
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let failed = try await rollcall(["reconcile", "--config", config])
        #expect(failed.status != 0)
        let report = try await rollcall(["report", "--config", config])
        #expect(report.status == 0, "\(report.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])
        #expect(json["run"] as? Int == 1)
        #expect(json["status"] as? String == "failed")
        let body = try #require(json["report"] as? [String: Any])
        let rejected = try #require(body["rejected_rows"] as? [[String: Any]])
        #expect(rejected.count == 1)
        #expect(rejected.first?["source"] as? String == "hr")
        #expect((rejected.first?["location"] as? [String: Any])?["line"] as? Int == 3)
        #expect((rejected.first?["reason"] as? String)?.contains("Retired") == true)
        #expect((body["persons_by_source"] as? [String: Int]) == ["hr": 2])
        let missing = try await rollcall(["report", "--config", config, "--run", "7"])
        #expect(missing.status != 0 && missing.error.contains("no run 7"))
    }

    @Test func failuresExitNonZeroWithOneLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("rollcall.yaml")
        try "store: {path: x.sqlite}\nevents: {source: urn:x}\ndirectories: [{uri: ldap://127.0.0.1:1, base_dn: dc=x, bindpw: x}]\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let result = try await rollcall(["reconcile", "--config", config.path])
        #expect(result.status != 0)
        let lines = result.error.split(separator: "\n")
        #expect(lines.count == 1, "\(result.error)")
        #expect(result.error.contains("directories[0].bindpw"))

        let world = try await ReconcileJobTests.world(people: 1, rows: ReconcileJobTests.row(1))
        world.slapd.kill()
        let unreachable = try await rollcall(["reconcile", "--config", world.directory.appendingPathComponent("rollcall.yaml").path])
        #expect(unreachable.status != 0)
        // Progress lines aside (standard error is not a terminal here), the failure is one line.
        #expect(unreachable.error.split(separator: "\n").filter { !$0.hasPrefix("progress: ") }.count == 1, "\(unreachable.error)")
        #expect(unreachable.error.contains("reconcile failed: directory default: LDAP: could not connect"))

        let bad = try await rollcall(["events", "list", "--config", config.path, "--limit", "0"])
        #expect(bad.status != 0)
        #expect(bad.error.contains("--limit must be positive"))
    }
}

/// The shipped man page (docs/rollcall.8, `make man`) documents the CLI as it is.
@Suite struct ManPageTests {
    struct Help: Decodable {
        struct Command: Decodable {
            var commandName: String
            var arguments: [Argument]?
            var subcommands: [Command]?
        }
        struct Argument: Decodable {
            struct Name: Decodable { var kind: String; var name: String }
            var names: [Name]?
        }
        var command: Command
    }

    @Test func everyCommandAndOptionIsInTheManPage() async throws {
        let dump = try await Shell.run(CLITests.binary, ["--experimental-dump-help"])
        let help = try JSONDecoder().decode(Help.self, from: Data(dump.output.utf8))
        let page = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("docs/rollcall.8"), encoding: .utf8)
        var missing: [String] = []
        func walk(_ command: Help.Command, path: String) {
            if !path.isEmpty, !page.contains(".It Em \(command.commandName)\n") {
                missing.append(path)
            }
            for argument in command.arguments ?? [] {
                for name in argument.names ?? [] where name.kind == "long" && name.name != "help" {
                    if !page.contains("Fl -\(name.name) ") && !page.contains("Fl -\(name.name)\n") { missing.append("\(path) --\(name.name)") }
                }
            }
            for sub in command.subcommands ?? [] { walk(sub, path: path + " " + sub.commandName) }
        }
        walk(help.command, path: "")
        #expect(missing.isEmpty, "docs/rollcall.8 lacks \(missing): run make man")
        #expect(help.command.subcommands?.count ?? 0 > 10)
    }
}
