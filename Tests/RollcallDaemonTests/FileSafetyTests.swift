import Foundation
import RollcallStore
import RollcallTestSupport
import Testing

/// Files as production makes them (issue 12): Rollcall run by an unprivileged user with umask 022
/// creates every file owner-only; commands that only read never create a store; a user who does
/// not own the store is told to run as its owner instead of leaving files the service cannot open.
@Suite struct FileSafetyTests {
    /// A world the user `nobody` owns: its folder, configuration, HR file and a copy of the bind password.
    static func nobodysWorld() async throws -> (world: ReconcileJobTests.World, config: String) {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let password = world.directory.appendingPathComponent("ldap.pw").path
        try SecretFixture.write(Data(contentsOf: URL(fileURLWithPath: world.slapd.syncPasswordFile)), to: password)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: world.slapd.syncPasswordFile, with: password).write(toFile: config, atomically: true, encoding: .utf8)
        _ = try await Shell.run("/bin/chown", ["-R", "nobody:nogroup", world.directory.path])
        return (world, config)
    }

    /// The CLI as nobody, umask 022, as an unprivileged admin's shell has it.
    static func asNobody(_ arguments: [String]) async throws -> Shell.Result {
        let quoted = arguments.map { "'" + $0 + "'" }.joined(separator: " ")
        return try await Shell.run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/bin/sh", "-c",
                                                        "umask 022; exec \(CLITests.binary) \(quoted)"])
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test func everyFileIsOwnerOnlyWhateverTheUmask() async throws {
        let (world, config) = try await Self.nobodysWorld()
        let store = world.configuration.storePath
        // Reading commands do not create a store.
        for command in [["events", "list"], ["runs"], ["audit", "verify"], ["plan"], ["status"], ["identity", "show", "E1"]] {
            let answer = try await Self.asNobody(command + ["--config", config])
            #expect(answer.status != 0 && answer.error.contains("there is no store here yet") && answer.error.contains(store),
                    "\(command): \(answer.error)")
            #expect(!FileManager.default.fileExists(atPath: store), "\(command) created the store")
        }
        // Writing commands create owner-only files, whatever the umask.
        let run = try await Self.asNobody(["reconcile", "--config", config])
        #expect(run.status == 0, "\(run.error)")
        let made = try FileManager.default.contentsOfDirectory(atPath: world.directory.path).filter { $0.hasPrefix("rollcall.sqlite") }
        #expect(made.contains("rollcall.sqlite") && made.count >= 2, "\(made)")
        for name in made {
            #expect(Self.mode(world.directory.appendingPathComponent(name).path) == 0o600, "\(name): \(String(Self.mode(world.directory.appendingPathComponent(name).path) ?? 0, radix: 8))")
        }
        let backup = world.directory.appendingPathComponent("backup.sqlite").path
        #expect(try await Self.asNobody(["backup", backup, "--config", config]).status == 0)
        #expect(Self.mode(backup) == 0o600)
        let audit = world.directory.appendingPathComponent("audit.ndjson").path
        let exported = try await Self.asNobody(["audit", "export", "--output", audit, "--config", config])
        #expect(exported.status == 0 && Self.mode(audit) == 0o600, "\(exported.error)")
        #expect(try String(contentsOfFile: audit, encoding: .utf8).contains("\"action\":\"person.applied\""))
        let person = world.directory.appendingPathComponent("e1.json").path
        #expect(try await Self.asNobody(["identity", "export", "E1", "--output", person, "--config", config]).status == 0)
        let personText = try String(contentsOfFile: person, encoding: .utf8)
        #expect(Self.mode(person) == 0o600 && personText.contains("\"E1\""))
        // Never over an existing file (its mode could be anything).
        let again = try await Self.asNobody(["identity", "export", "E1", "--output", person, "--config", config])
        #expect(again.status != 0 && again.error.contains("never overwrites"), "\(again.error)")
    }

    @Test func anotherUserIsToldToRunAsTheStoresOwner() async throws {
        let (world, config) = try await Self.nobodysWorld()
        #expect(try await Self.asNobody(["reconcile", "--config", config]).status == 0)
        // root, reading or writing: refused, naming the owner; nothing of root's left beside the store.
        for command in [["reconcile"], ["events", "list"], ["consumer", "add", "x"]] {
            let answer = try await Shell.run(CLITests.binary, command + ["--config", config])
            #expect(answer.status != 0 && answer.error.contains("belongs to nobody") && answer.error.contains("sudo -u nobody rollcall"),
                    "\(command): \(answer.error)")
        }
        let after = try FileManager.default.contentsOfDirectory(atPath: world.directory.path)
        for name in after {
            let owner = (try FileManager.default.attributesOfItem(atPath: world.directory.appendingPathComponent(name).path)[.ownerAccountName] as? String)
            #expect(owner == "nobody", "\(name) is \(owner ?? "?")'s")
        }
    }

    /// A run that cannot finish reading within serve.run_timeout_minutes (the directory behind a
    /// proxy that goes silent) fails with that reason at the deadline, is recorded as failed and
    /// applies nothing.
    @Test func aRunPastItsTimeoutFailsWithItsReason() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let portFile = world.directory.appendingPathComponent("proxy.port").path
        let slapdPort = world.slapd.uri.split(separator: ":").last.map(String.init) ?? ""
        let proxy = try BackgroundProcess("/usr/bin/python3", [RepositoryPaths.script("stalling-proxy"), "127.0.0.1", slapdPort, "1", portFile])
        defer { proxy.signal(SIGTERM) }
        var port: String?
        for _ in 0..<100 where port == nil {
            port = try? String(contentsOfFile: portFile, encoding: .utf8)
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try (text.replacingOccurrences(of: world.slapd.uri, with: "ldap://127.0.0.1:\(try #require(port))") + "serve: {run_timeout_minutes: 0.05}\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let started = Date()
        let run = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
        #expect(run.status != 0 && run.error.contains("the run passed serve.run_timeout_minutes (0.05 min)") && run.error.contains("nothing was applied"),
                "\(run.error)")
        #expect(Date().timeIntervalSince(started) < 60)
        let runs = try world.store().runs()
        #expect(runs.count == 1 && runs.first?.status == "failed" && runs.first?.error?.contains("run_timeout_minutes") == true)
        #expect(try world.events().isEmpty)
    }

    /// The store's filesystem fills up during a run's apply (a small tmpfs of the test's own): the
    /// run fails naming the disk, the store is intact and holds no half run, and after space is
    /// freed the next run converges to what an uninterrupted one would have written. A backup into
    /// a full filesystem fails cleanly and leaves no file.
    @Test func aFullDiskLosesNothing() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2),
                                                      extra: "guard: {first_run: apply, max_joiners: 100000, max_joiner_percent: 100}\n")
        let disk = world.directory.appendingPathComponent("disk").path
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mounted = try await Shell.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", disk])
        try #require(mounted.status == 0, "mount: \(mounted.error)")
        defer { _ = try? Shell.runBlocking("/usr/bin/umount", ["-l", disk]) }
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let store = disk + "/rollcall.sqlite"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "store: {path: rollcall.sqlite}", with: "store: {path: \(store)}").write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try await Shell.run(CLITests.binary, ["reconcile", "--config", config]).status == 0)
        // Fill the disk but for a little room, then a run that needs more: 3000 joiners.
        let filler = disk + "/filler"
        _ = try await Shell.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k", "count=1000"])
        _ = try await Shell.run("/usr/bin/truncate", ["-s", "-192K", filler])
        try world.writeHR((1...3000).map { ReconcileJobTests.row($0) }.joined())
        let full = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
        #expect(full.status != 0 && full.error.contains("the disk holding \(disk) is full") && full.error.contains("nothing was applied"),
                "\(full.status) \(full.error)")
        // A backup into the full filesystem: a clean failure, no file left.
        let backup = disk + "/backup.sqlite"
        let failedBackup = try await Shell.run(CLITests.binary, ["backup", backup, "--config", config])
        #expect(failedBackup.status != 0 && failedBackup.error.contains("is full") && !FileManager.default.fileExists(atPath: backup),
                "\(failedBackup.error)")
        try FileManager.default.removeItem(atPath: filler)
        // Intact: integrity, the audit chain, one applied run and only its events.
        let integrity = try await Shell.run("/usr/bin/sqlite3", [store, "PRAGMA integrity_check"])
        #expect(integrity.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        let verify = try await Shell.run(CLITests.binary, ["audit", "verify", "--config", config])
        #expect(verify.status == 0, "\(verify.error)")
        let opened = try Store.open(path: store, create: false)
        #expect(try opened.runs().filter { $0.status == "applied" }.count == 1)
        let events = { try opened.events(after: 0, limit: 100_000).map { "\($0.type.replacingOccurrences(of: "dev.rollcall.", with: "")) \($0.subject)" } }
        let before = try events()
        #expect(before == ["account.linked E1", "account.linked E2"], "\(before)")
        // Space again: the next run writes what the interrupted one would have.
        let again = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
        #expect(again.status == 0, "\(again.error)\(again.output)")
        let after = try events()
        #expect(after.count == 2 + 2998 && Set(after.dropFirst(2)) == Set((3...3000).map { "identity.joiner E\($0)" }), "\(after.count) \(after.prefix(4)) \(after.suffix(2))")
        #expect(try opened.loadState().persons.count == 3000)
    }

    /// Issue 12: the audit chain alone cannot tell a log cut short (or a store replaced) from an
    /// honest one; the heads each applied run records outside the store (the journal, and
    /// audit.checkpoint_file) can. `audit verify --checkpoints` and `--expect-head` fail then.
    @Test func auditHeadsRecordedOutsideTheStoreCatchTruncation() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2))
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let checkpoints = world.directory.appendingPathComponent("audit-heads").path
        try (try String(contentsOfFile: config, encoding: .utf8) + "audit: {checkpoint_file: \(checkpoints)}\n").write(toFile: config, atomically: true, encoding: .utf8)
        let first = try await Shell.run(CLITests.binary, ["reconcile", "--config", config, "--log-level", "notice"])
        #expect(first.status == 0, "\(first.error)")
        try world.writeHR(ReconcileJobTests.row(1) + ReconcileJobTests.row(2) + ReconcileJobTests.row(3))
        let second = try await Shell.run(CLITests.binary, ["reconcile", "--config", config, "--log-level", "notice"])
        // The journal's line (here standard error) carries the head.
        let logged = try #require(second.error.split(separator: " ").first { $0.hasPrefix("audit.head=") }).dropFirst("audit.head=".count)
        let lines = try String(contentsOfFile: checkpoints, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines.last?.hasPrefix(String(logged)) == true, "\(lines) \(logged)")
        #expect(Self.mode(checkpoints) == 0o600)
        let verified = try await Shell.run(CLITests.binary, ["audit", "verify", "--checkpoints", checkpoints, "--expect-head", String(logged), "--config", config])
        #expect(verified.status == 0 && verified.output.contains("3 recorded heads are in it"), "\(verified.output)\(verified.error)")
        // The last run removed whole (its audit entries, its events, its run row): the chain that
        // is left still verifies on its own...
        let head = try #require(AuditHead(String(logged)))
        let keep = try #require(AuditHead(String(lines[0]))).seq
        let cut = try await Shell.run("/usr/bin/sqlite3", [world.configuration.storePath,
                                                           "DELETE FROM audit WHERE seq > \(keep); DELETE FROM outbox WHERE run_id > 1; DELETE FROM run WHERE id > 1"])
        #expect(cut.status == 0 && head.seq > keep)
        let alone = try await Shell.run(CLITests.binary, ["audit", "verify", "--config", config])
        #expect(alone.status == 0, "the chain cut short is a valid chain: \(alone.error)")
        // ... but not against the heads recorded outside.
        let caught = try await Shell.run(CLITests.binary, ["audit", "verify", "--checkpoints", checkpoints, "--config", config])
        #expect(caught.status != 0 && caught.error.contains("entries were removed"), "\(caught.error)")
        let expected = try await Shell.run(CLITests.binary, ["audit", "verify", "--expect-head", String(logged), "--config", config])
        #expect(expected.status != 0 && expected.error.contains("audit head \(logged)"), "\(expected.error)")
        // A store replaced by a new one: its entry at the recorded sequence is another.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: world.configuration.storePath + suffix) }
        #expect(try await Shell.run(CLITests.binary, ["reconcile", "--config", config]).status == 0)
        let replaced = try await Shell.run(CLITests.binary, ["audit", "verify", "--checkpoints", checkpoints, "--config", config])
        #expect(replaced.status != 0 && replaced.error.contains("recorded outside the store"), "\(replaced.error)")
    }
}
