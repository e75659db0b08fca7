import Foundation
import RollcallCore
import RollcallDaemon
import RollcallDirectory
import RollcallStore
import RollcallTestSupport
import Testing

/// `rollcall serve` as systemd runs it: the notify protocol read from a real datagram socket
/// (READY, STATUS, WATCHDOG, RELOADING, STOPPING), health, readiness and metrics over real HTTP,
/// a reload with a broken configuration refused, a clean stop, and the watchdog's signal fatal.
@Suite(.serialized) struct ServeTests {
    /// GET with curl; a loaded machine (the whole suite beside the daemon on 2 cores) gets three tries of 20 s.
    static func curl(_ url: String) async throws -> (status: Int32, body: String) {
        var last: (status: Int32, body: String) = (0, "")
        for _ in 0..<3 {
            let result = try await Shell.run("/usr/bin/curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", url])
            let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            last = (Int32(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
            if last.status != 0 { return last }
        }
        return last
    }

    static func daemon(_ world: ReconcileJobTests.World, notify: NotifySocket, watchdogUsec: Int = 1_000_000) throws -> BackgroundProcess {
        try BackgroundProcess(CLITests.binary, ["serve", "--config", world.directory.appendingPathComponent("rollcall.yaml").path,
                                                "--log-level", "info"],
                              environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "\(watchdogUsec)", "SWIFT_BACKTRACE": "enable=no"])
    }

    /// Starts `rollcall serve` on a free port (written into the world's `serve.listen`) and waits for
    /// READY=1; a port another test took between the check and the bind is tried again with
    /// another. Returns the daemon, its port and the messages up to READY.
    static func start(_ world: ReconcileJobTests.World, notify: NotifySocket, watchdogUsec: Int = 1_000_000,
                      serve: String = "") throws -> (daemon: BackgroundProcess, port: Int, seen: [String]) {
        let file = world.directory.appendingPathComponent("rollcall.yaml")
        let base = try String(contentsOf: file, encoding: .utf8)
        var last: BackgroundProcess?
        for _ in 0..<3 {
            guard let port = Loopback.freePort() else { continue }
            // Each daemon its own admin socket (unless the test sets one).
            let admin = serve.contains("admin:") ? "" : ", admin: {socket: \(world.directory.appendingPathComponent("admin.sock").path)}"
            try (base + "serve: {listen: \"127.0.0.1:\(port)\"\(admin)\(serve.isEmpty ? "" : ", " + serve)}\n")
                .write(to: file, atomically: true, encoding: .utf8)
            let daemon = try Self.daemon(world, notify: notify, watchdogUsec: watchdogUsec)
            last = daemon
            if let seen = notify.messages(timeout: 60, until: { $0 == "READY=1" || !daemon.isRunning }), seen.last == "READY=1" {
                return (daemon, port, seen)
            }
            daemon.signal(SIGKILL)
            daemon.wait(timeout: 5)
        }
        throw FixtureError("rollcall serve did not get ready: \(last?.errorOutput.suffix(2000) ?? "")")
    }

    /// `start` with hourly deltas (so nothing else runs during a test), then waits for the first
    /// run to be applied (full, or delta on a store that has runs). Returns the daemon and its port.
    static func startAfterFirstRun(_ world: ReconcileJobTests.World, notify: NotifySocket,
                                   serve: String = "") throws -> (daemon: BackgroundProcess, port: Int) {
        let schedule = "schedule: {delta: {every_seconds: 3600}}"
        let (daemon, port, seen) = try start(world, notify: notify, serve: serve.isEmpty ? schedule : schedule + ", " + serve)
        let applied: (String) -> Bool = { $0.hasPrefix("STATUS=last run: ") && $0.contains(" applied at ") }
        guard seen.contains(where: applied) || notify.messages(timeout: 60, until: applied) != nil else {
            daemon.signal(SIGKILL)
            daemon.wait(timeout: 5)
            throw FixtureError("rollcall serve's first run was not applied: \(daemon.errorOutput.suffix(2000))")
        }
        return (daemon, port)
    }

    @Test func notifyHealthMetricsReloadAndStop() async throws {
        let world = try await ReconcileJobTests.world(people: 3, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let notify = try NotifySocket()
        let (daemon, port, seen) = try Self.start(world, notify: notify, watchdogUsec: 3_000_000, serve: "schedule: {delta: {every_seconds: 1}}")
        // The first run (full) applies; STATUS says so.
        let fullApplied: (String) -> Bool = { $0.hasPrefix("STATUS=last run: full applied") }
        #expect(seen.contains(where: fullApplied) || notify.messages(timeout: 60, until: fullApplied) != nil, "\(daemon.errorOutput)")
        #expect(notify.messages(timeout: 5) { $0 == "WATCHDOG=1" } != nil)
        #expect(try world.store().events().count == 3)

        let health = try await Self.curl("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200 && health.body == "ok")
        let ready = try await Self.curl("http://127.0.0.1:\(port)/readyz")
        #expect(ready.status == 200 && ready.body.hasPrefix("ready\nlast run:"), "\(ready.body)")
        // rollcall status asks the daemon and reads the store.
        let status = try await Shell.run(CLITests.binary, ["status", "--config", world.directory.appendingPathComponent("rollcall.yaml").path])
        #expect(status.status == 0, "\(status.error)")
        #expect(status.output.contains("daemon: running on 127.0.0.1:\(port), ready"), "\(status.output)")
        #expect(status.output.contains("last applied run: run ") && status.output.contains("up since"), "\(status.output)")
        #expect(status.output.contains("last full run: full applied") && status.output.contains("next delta run: "), "\(status.output)")
        let metrics = try await Self.curl("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("rollcall_runs_total{kind=\"full\",outcome=\"applied\"} 1"), "\(metrics.body.prefix(600))")
        #expect(metrics.body.contains("rollcall_run_duration_seconds"))
        // Per directory and source (an alert on "no successful read in N hours" is one line), events by type.
        #expect(metrics.body.contains("rollcall_directory_last_read_timestamp_seconds{directory=\"default\"}"), "\(metrics.body)")
        #expect(metrics.body.contains("rollcall_hr_source_last_read_timestamp_seconds{source=\"hr\"}"), "\(metrics.body)")
        #expect(metrics.body.contains("rollcall_hr_records_read_total{source=\"hr\"} "), "\(metrics.body)")
        #expect(metrics.body.contains("rollcall_events_by_type_total{type=\"dev.rollcall.account.linked\"} 3"), "\(metrics.body)")

        // A broken configuration: refused, the daemon keeps running on the one in force.
        let file = world.directory.appendingPathComponent("rollcall.yaml")
        let good = try String(contentsOf: file, encoding: .utf8)
        try "store: [unclosed\n".write(to: file, atomically: true, encoding: .utf8)
        notify.drain()
        daemon.signal(SIGHUP)
        let refused = notify.messages(timeout: 10) { $0 == "READY=1" } ?? []
        #expect(refused.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(refused)")
        #expect(refused.contains { $0.hasPrefix("STATUS=configuration refused, the one in force is kept") }, "\(refused)")
        #expect(daemon.isRunning)
        // Still running its schedule on the old configuration: a new hire becomes a joiner.
        try world.writeHR((1...4).map { ReconcileJobTests.row($0) }.joined())
        #expect(notify.messages(timeout: 30) { $0.hasPrefix("STATUS=last run: delta applied") && $0.contains("1 events") } != nil)
        #expect(try world.events(after: 3) == ["identity.joiner E4"])
        // A good configuration again: reloaded.
        try good.write(to: file, atomically: true, encoding: .utf8)
        notify.drain()
        daemon.signal(SIGHUP)
        let reloaded = notify.messages(timeout: 10) { $0 == "READY=1" } ?? []
        #expect(reloaded.contains { $0.hasPrefix("STATUS=configuration reloaded") }, "\(reloaded)")

        // SIGTERM: STOPPING=1 and a clean exit.
        notify.drain()
        daemon.signal(SIGTERM)
        #expect(notify.messages(timeout: 10) { $0 == "STOPPING=1" } != nil)
        #expect(daemon.wait(timeout: 30) == 0, "\(daemon.errorOutput.suffix(2000))")
    }

    /// An HR export that changed is read by a run within seconds, not at the next scheduled run
    /// (an hour away here).
    @Test func aChangedHRFileIsReadWithinSeconds() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...2).map { ReconcileJobTests.row($0) }.joined())
        let notify = try NotifySocket()
        let (daemon, _, upToReady) = try Self.start(world, notify: notify, serve: "schedule: {delta: {every_seconds: 3600}}")
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let fullApplied: (String) -> Bool = { $0.hasPrefix("STATUS=last run: full applied") }
        #expect(upToReady.contains(where: fullApplied) || notify.messages(timeout: 60, until: fullApplied) != nil, "\(daemon.errorOutput)")
        #expect(try world.events() == ["account.linked E1", "account.linked E2"])
        try world.writeHR((1...3).map { ReconcileJobTests.row($0) }.joined())
        let written = Date()
        while Date().timeIntervalSince(written) < 30, try world.events().count < 3 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try world.events().last == "identity.joiner E3", "\(daemon.errorOutput.suffix(2000))")
        #expect(Date().timeIntervalSince(written) < 15)
    }

    /// A directory change reaches the outbox through the live listener (refreshAndPersist), not
    /// through a scheduled run: the schedule here has no run due for an hour after the first.
    @Test func aLiveDirectoryChangeIsPlannedForTheTouchedPersonsAtOnce() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...3).map { ReconcileJobTests.row($0) }.joined(),
                                                      directoryExtra: "    delta: syncrepl")
        let notify = try NotifySocket()
        let (daemon, port, upToReady) = try Self.start(world, notify: notify, serve: "schedule: {delta: {every_seconds: 3600}}")
        let fullApplied: (String) -> Bool = { $0.hasPrefix("STATUS=last run: full applied") }
        #expect(upToReady.contains(where: fullApplied) || notify.messages(timeout: 60, until: fullApplied) != nil, "\(daemon.errorOutput)")
        #expect(try world.events() == ["account.linked E1", "account.linked E2", "identity.joiner E3"])
        var live = false
        for _ in 0..<100 where !live {
            live = try await Self.curl("http://127.0.0.1:\(port)/readyz").body.contains("live listener default: live since")
            if !live { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(live, "\(daemon.errorOutput.suffix(2000))")
        // E3's account appears: linked within seconds, by a live run.
        let started = Date()
        try await world.slapd.modify("dn: uid=p3,ou=people,dc=example,dc=test\nchangetype: add\nobjectClass: inetOrgPerson\nuid: p3\ncn: P 3\nsn: P\nemployeeNumber: E3\n")
        var seen: [String] = []
        while Date().timeIntervalSince(started) < 20, seen.count < 4 {
            seen = try world.events()
            if seen.count < 4 { try await Task.sleep(for: .milliseconds(50)) }
        }
        let latency = Date().timeIntervalSince(started)
        #expect(seen.last == "account.linked E3", "\(seen) \(daemon.errorOutput.suffix(2000))")
        #expect(latency < 10, "\(latency) s")
        let report = try #require(try world.store().runs().first?.report)
        #expect(report["live"]?["directory"] == "default")
        // A live change records the audit head outside the store, like any run.
        let liveRun = try #require(try world.store().runs().first?.id)
        #expect(daemon.errorOutput.contains("run.id=\(liveRun) [RollcallDaemon] audit head"), "\(daemon.errorOutput.suffix(2000))")
        // A delete: the account is removed, the person keeps their record.
        try await world.slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: delete\n")
        let removedAt = Date()
        while Date().timeIntervalSince(removedAt) < 20, try world.events().count < 5 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try world.events().last?.hasPrefix("account.removed ") == true)
        daemon.signal(SIGTERM)
        #expect(daemon.wait(timeout: 30) == 0, "\(daemon.errorOutput.suffix(2000))")
    }

    /// systemd's default WatchdogSignal is SIGABRT, which the Swift runtime's backtracer would
    /// catch; the unit turns the backtracer off, and then the signal ends the daemon.
    @Test func theWatchdogSignalEndsAHungDaemon() async throws {
        let unit = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("systemd/rollcall.service"), encoding: .utf8)
        #expect(unit.contains("Environment=SWIFT_BACKTRACE=enable=no"))
        #expect(unit.contains("Type=notify") && unit.contains("WatchdogSec="))
        #expect(!unit.contains("WatchdogSignal="), "the unit keeps systemd's default watchdog signal (SIGABRT)")
        let world = try await ReconcileJobTests.world(people: 1, rows: ReconcileJobTests.row(1))
        let notify = try NotifySocket()
        let (daemon, _, _) = try Self.start(world, notify: notify)
        daemon.signal(SIGABRT)
        #expect(daemon.wait(timeout: 10) == 128 + SIGABRT)
    }

    /// The units as shipped: `systemd-analyze verify` is clean and the daemon's exposure is 1.5 or
    /// below (the oneshot unit is hardened the same way).
    @Test(arguments: ["rollcall.service", "rollcall-reconcile.service"])
    func theUnitsVerifyAndAreHardened(_ name: String) async throws {
        let unit = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("systemd/\(name)"), encoding: .utf8)
        // Verified as installed, with the binary at the path the unit names.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent(name)
        try unit.replacingOccurrences(of: "/usr/local/bin/rollcall", with: CLITests.binary).write(to: copy, atomically: true, encoding: .utf8)
        let verify = try await Shell.run("/usr/bin/systemd-analyze", ["verify", copy.path])
        #expect(verify.status == 0 && verify.error.isEmpty && verify.output.isEmpty, "\(verify.output)\(verify.error)")
        let security = try await Shell.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--threshold=15", copy.path])
        #expect(security.status == 0, "\(security.output.suffix(300))")
        // Nothing runs for ever or takes the machine: a start timeout (the oneshot's run) and a memory cap.
        if name == "rollcall-reconcile.service" {
            #expect(unit.contains("\nTimeoutStartSec=") && unit.contains("\nMemoryMax="), "the oneshot unit has no TimeoutStartSec or MemoryMax")
        }
    }
}

/// The schedule and the watchdog's idea of health, without a daemon.
@Suite struct RunScheduleTests {
    static let utc = TimeZone(identifier: "UTC") ?? .current
    static func at(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso) ?? Date(timeIntervalSince1970: 0) }

    @Test func fullRunsByIntervalOrTimeOfDayDeltasBetween() {
        var every = ServeSettings()
        every.fullEvery = 3600
        every.deltaEvery = 60
        let now = Self.at("2026-03-10T12:00:00Z")
        #expect(RunSchedule.due(now: now, lastFull: nil, lastAttempt: nil, settings: every, zone: Self.utc) == .full)
        #expect(RunSchedule.due(now: now, lastFull: now.addingTimeInterval(-3600), lastAttempt: now.addingTimeInterval(-61), settings: every, zone: Self.utc) == .full)
        #expect(RunSchedule.due(now: now, lastFull: now.addingTimeInterval(-600), lastAttempt: now.addingTimeInterval(-61), settings: every, zone: Self.utc) == .delta)
        #expect(RunSchedule.due(now: now, lastFull: now.addingTimeInterval(-600), lastAttempt: now.addingTimeInterval(-30), settings: every, zone: Self.utc) == nil)
        // Times of day in the organisation's zone: 02:00 in New York is 07:00 UTC in March (EDT from the 8th: 06:00).
        var nightly = ServeSettings()
        nightly.fullEvery = nil
        nightly.fullAt = [120]
        let newYork = TimeZone(identifier: "America/New_York") ?? Self.utc
        #expect(RunSchedule.latestScheduled(before: Self.at("2026-03-10T12:00:00Z"), minutes: [120], zone: newYork) == Self.at("2026-03-10T06:00:00Z"))
        #expect(RunSchedule.latestScheduled(before: Self.at("2026-03-10T05:00:00Z"), minutes: [120], zone: newYork) == Self.at("2026-03-09T06:00:00Z"))
        #expect(RunSchedule.due(now: Self.at("2026-03-10T06:30:00Z"), lastFull: Self.at("2026-03-09T06:01:00Z"),
                                lastAttempt: Self.at("2026-03-10T06:00:00Z"), settings: nightly, zone: newYork) == .full)
        #expect(RunSchedule.due(now: Self.at("2026-03-10T05:30:00Z"), lastFull: Self.at("2026-03-09T06:01:00Z"),
                                lastAttempt: Self.at("2026-03-10T05:00:00Z"), settings: nightly, zone: newYork) == .delta)
        // What `rollcall status` says is next: 02:00 New York (06:00 UTC) tomorrow, the delta a minute on.
        let next = RunSchedule.next(now: Self.at("2026-03-10T08:00:00Z"), lastFull: Self.at("2026-03-10T07:00:00Z"),
                                    lastAttempt: Self.at("2026-03-10T07:59:30Z"), settings: nightly, zone: newYork)
        #expect(next.full == Self.at("2026-03-11T06:00:00Z"))  // EDT since 8 March
        #expect(next.delta == Self.at("2026-03-10T08:00:30Z"))
        #expect(RunSchedule.next(now: Self.at("2026-03-10T08:00:00Z"), lastFull: Self.at("2026-03-10T07:00:00Z"), lastAttempt: nil,
                                 settings: every, zone: Self.utc).full == Self.at("2026-03-10T08:00:00Z"))
    }

    /// A receiver that stops reading (its queue holds 10 datagrams by default) must never block
    /// the daemon: messages beyond the queue are dropped, at once.
    @Test func theNotifierNeverBlocks() throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        #expect(notifier.watchdogInterval == .seconds(2))
        let started = ContinuousClock.now
        let sent = (0..<200).map { _ in notifier.send("WATCHDOG=1") }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(sent.first == true && sent.last == false)
        #expect(socket.receive(timeout: 1) == "WATCHDOG=1")
        #expect(SystemdNotifier(environment: [:]).send("READY=1") == false)
    }

    @Test func adminSocketSettings() throws {
        let defaults = try ConfigurationTests().load(ConfigurationTests.valid).serve
        #expect(defaults.adminSocket == "/run/rollcall/admin.sock" && defaults.adminSocketGroup == "rollcall-admin")
        #expect(defaults.adminGroups == ["rollcall-admin"] && defaults.adminUsers.isEmpty)
        let set = try ConfigurationTests().load(ConfigurationTests.valid + "serve: {admin: {socket: /tmp/a.sock, group: ops, users: [alice]}}\n").serve
        #expect(set.adminSocket == "/tmp/a.sock" && set.adminGroups == ["ops"] && set.adminUsers == ["alice"])
        #expect(try ConfigurationTests().load(ConfigurationTests.valid + "serve: {admin: {socket: \"off\"}}\n").serve.adminSocket == nil)
        for (text, reason) in [("serve: {admin: {socket: admin.sock}}", "must be an absolute path"),
                               ("serve: {admin: {socket: /\(String(repeating: "x", count: 120))}}", "longer than a Unix socket path")] {
            #expect(try ConfigurationTests().error(ConfigurationTests.valid + text + "\n")?.reason.contains(reason) == true)
        }
    }

    /// A live listener whose cookie the server refused asks for a full run; a full request is not
    /// lowered to a delta by a later one, and a request is taken once.
    @Test func aRefusedCookieAsksForAFullRun() throws {
        let state = DaemonState(configuration: try ConfigurationTests().load(ConfigurationTests.valid))
        #expect(state.takeRequestedRun() == nil)
        state.requestRun(.full)
        state.requestRun(.delta)
        #expect(state.takeRequestedRun() == .full)
        #expect(state.takeRequestedRun() == nil)
        #expect(LDAPError(step: .search, code: 0x1000, place: "x", detail: "refresh required").isRefreshRequired)
        #expect(!LDAPError(step: .search, code: 81, place: "x", detail: "server down").isRefreshRequired)
    }

    @Test func aSchedulerThatStopsBeatingOrARunPastItsTimeoutIsUnhealthy() throws {
        let configuration = try ConfigurationTests().load(ConfigurationTests.valid + "serve: {run_timeout_minutes: 1}\n")
        let state = DaemonState(configuration: configuration)
        let now = Date()
        state.beat(now)
        #expect(state.isHealthy(now: now.addingTimeInterval(2), tick: 1))
        #expect(!state.isHealthy(now: now.addingTimeInterval(30), tick: 1))
        state.runStarted(at: now)
        #expect(state.isHealthy(now: now.addingTimeInterval(30), tick: 1))
        #expect(!state.isHealthy(now: now.addingTimeInterval(61), tick: 1))
        #expect(state.notReadyReason() == "the store is not open")
    }
}
