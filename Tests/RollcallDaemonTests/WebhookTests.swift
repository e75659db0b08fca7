import Foundation
import RollcallStore
import RollcallTestSupport
import Testing

/// Webhooks against the running daemon, received by a real receiver that verifies each delivery
/// with the `standardwebhooks` package and reads it with the `cloudevents` SDK
/// (scripts/webhook-receiver, in the .venv that scripts/install-deps makes).
@Suite struct WebhookTests {
    final class Receiver: Sendable {
        let process: BackgroundProcess
        let log: String
        let port: Int

        init(secret: String, spec extra: [String: Any] = [:]) async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let spec = folder.appendingPathComponent("spec.json")
            var body = extra
            body["secret"] = secret
            // Each body checked against the CloudEvents JSON schema too, when ../shared has it.
            let schema = RepositoryRoot.url.appendingPathComponent("../shared/testdata/external/cloudevents-spec/cloudevents.json").standardizedFileURL.path
            if FileManager.default.fileExists(atPath: schema) { body["schema"] = schema }
            try JSONSerialization.data(withJSONObject: body).write(to: spec)
            process = try BackgroundProcess(RepositoryRoot.url.appendingPathComponent(".venv/bin/python").path,
                                            [RepositoryRoot.url.appendingPathComponent("scripts/webhook-receiver").path, spec.path])
            log = spec.path + ".log"
            var found: Int?
            for _ in 0..<200 where found == nil {
                found = (try? String(contentsOfFile: spec.path + ".port", encoding: .utf8)).flatMap { Int($0) }
                if found == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard let found else { throw FixtureError("webhook-receiver did not start: \(process.errorOutput)") }
            port = found
        }

        deinit { process.signal(SIGTERM) }

        struct Delivery: Decodable {
            var n: Int
            var webhook_id: String?
            var seq: Int?
            var type: String?
            var verified: Bool
            var refused: [String]?
            var error: String?
            var status: Int
        }

        func deliveries() -> [Delivery] {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Delivery.self, from: Data($0.utf8)) }
        }

        /// Waits until the accepted deliveries (2xx) satisfy `done`.
        func wait(seconds: Double = 60, until done: ([Int]) -> Bool) async throws -> [Delivery] {
            let started = Date()
            while Date().timeIntervalSince(started) < seconds {
                let all = deliveries()
                if done(all.filter { $0.status < 300 }.compactMap(\.seq)) { return all }
                try await Task.sleep(for: .milliseconds(100))
            }
            return deliveries()
        }
    }

    /// `rollcall webhook add`: kept in the store, checked like configuration, picked up by the
    /// running daemon without a restart (history with --from), listed, and `remove` stops it.
    @Test func subscriptionsAddedAndRemovedWhileTheDaemonRuns() async throws {
        let secret = Self.secret()
        let receiver = try await Receiver(secret: secret)
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("whsec-\(UUID().uuidString)").path
        try SecretFixture.write(secret + "\n", to: secretFile)
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...4).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let notify = try NotifySocket()
        let (daemon, _) = try ServeTests.startAfterFirstRun(world, notify: notify)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let url = "http://127.0.0.1:\(receiver.port)/hook"

        // Checked like a webhooks: entry, errors naming the option.
        let plain = try await Shell.run(CLITests.binary, ["webhook", "add", "app", "--url", "http://hooks.example.com/x", "--secret-file", secretFile, "--config", config])
        #expect(plain.status != 0 && plain.error.contains("--url must be https://"), "\(plain.error)")
        let noSecret = try await Shell.run(CLITests.binary, ["webhook", "add", "app", "--url", url, "--secret-file", "/nonexistent/s", "--config", config])
        #expect(noSecret.status != 0 && noSecret.error.contains("--secret-file /nonexistent/s does not exist"), "\(noSecret.error)")

        // Events 1 to 4 (2 links, 2 joiners): the joiners delivered from --from 1 by the daemon already running.
        let added = try await Shell.run(CLITests.binary, ["webhook", "add", "app", "--url", url, "--secret-file", secretFile,
                                                          "--types", "dev.rollcall.identity.", "--from", "1", "--config", config])
        #expect(added.status == 0 && added.output.contains("webhook app added"), "\(added.error)")
        let twice = try await Shell.run(CLITests.binary, ["webhook", "add", "app", "--url", url, "--secret-file", secretFile, "--config", config])
        #expect(twice.status != 0 && twice.error.contains("a webhook named app exists"), "\(twice.error)")
        let delivered = try await receiver.wait { Set($0).isSuperset(of: 3...4) }
        #expect(delivered.compactMap(\.seq) == [3, 4], "\(delivered.map { "\($0.seq ?? -1)" })")
        #expect(delivered.allSatisfy { $0.verified && $0.error == nil && $0.type == "dev.rollcall.identity.joiner" },
                "\(delivered.map { $0.error ?? "" })")
        let listed = try await Shell.run(CLITests.binary, ["webhook", "list", "--config", config])
        #expect(listed.output.contains("app: \(url), cursor 4, 0 behind"), "\(listed.output)")
        var audit: [String] = []
        try Store.open(path: world.configuration.storePath).exportAudit { if $0.action.hasPrefix("webhook.") { audit.append($0.action) } }
        #expect(audit == ["webhook.added"])

        // Removed: the next joiner is not delivered.
        let removed = try await Shell.run(CLITests.binary, ["webhook", "remove", "app", "--config", config])
        #expect(removed.status == 0, "\(removed.error)")
        try world.writeHR((1...5).map { ReconcileJobTests.row($0) }.joined())
        #expect(notify.messages(timeout: 30, until: { $0.contains("(run 2, 1 events)") }) != nil)
        try await Task.sleep(for: .seconds(2))
        #expect(receiver.deliveries().count == 2)
        #expect(try await Shell.run(CLITests.binary, ["webhook", "remove", "app", "--config", config]).status != 0)
    }

    static func secret() -> String {
        "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    @Test func deliveriesAreSignedInOrderAndSurviveAKill() async throws {
        let secret = Self.secret()
        let receiver = try await Receiver(secret: secret, spec: ["fail_first": 2, "delay_seconds": 0.2])
        let gone = try await Receiver(secret: secret, spec: ["gone_after": 1])
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("whsec-\(UUID().uuidString)").path
        // Two secrets, as while rotating: the receiver knows only the second; it verifies either way.
        try SecretFixture.write(Self.secret() + "\n" + secret + "\n", to: secretFile)
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closed = refusing.port
        let hooks = """
            webhooks:
              - {name: app, url: "http://127.0.0.1:\(receiver.port)/hook", secret_file: \(secretFile)}
              - {name: gone, url: "http://127.0.0.1:\(gone.port)/hook", secret_file: \(secretFile)}
              - {name: nobody, url: "http://127.0.0.1:\(closed)/hook", secret_file: \(secretFile), retry_window_hours: 0.0002, timeout_seconds: 1}

            """
        // 2 accounts, 8 persons: 2 links and 6 joiners, events 1 to 8.
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...8).map { ReconcileJobTests.row($0) }.joined(), extra: hooks)
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let original = try String(contentsOfFile: config, encoding: .utf8)
        #expect(try await Shell.run(CLITests.binary, ["reconcile", "--config", config]).status == 0)
        for name in ["app", "gone", "nobody"] {
            let replay = try await Shell.run(CLITests.binary, ["webhook", "replay", name, "--from", "1", "--config", config])
            #expect(replay.status == 0, "\(replay.error)")
        }

        let notify = try NotifySocket()
        var (daemon, _, _) = try ServeTests.start(world, notify: notify, serve: "schedule: {delta: {every_seconds: 3600}}")
        // Killed mid-delivery once some events are in.
        _ = try await receiver.wait { $0.count >= 3 }
        daemon.signal(SIGKILL)
        daemon.wait(timeout: 10)
        try original.write(toFile: config, atomically: true, encoding: .utf8)
        (daemon, _, _) = try ServeTests.start(world, notify: notify, serve: "schedule: {delta: {every_seconds: 3600}}")
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let all = try await receiver.wait { Set($0).isSuperset(of: 1...8) }
        let accepted = all.filter { $0.status < 300 }.compactMap(\.seq)
        #expect(Set(accepted) == Set(1...8), "\(all.map { "\($0.seq ?? -1):\($0.status)" })")
        // In order, at least once: a repeat only of the one in flight when the daemon was killed.
        #expect(zip(accepted, accepted.dropFirst()).allSatisfy { $0 <= $1 }, "\(accepted)")
        #expect(accepted.count <= 9)
        // Every delivery verified by standardwebhooks and read by the cloudevents SDK; retries after 500s.
        #expect(all.allSatisfy { $0.verified && $0.error == nil }, "\(all.filter { !$0.verified || $0.error != nil }.map { $0.error ?? "unverified" })")
        // And standardwebhooks refuses each delivery tampered with, under another secret, or replayed late.
        #expect(all.allSatisfy { $0.refused == ["tampered", "wrong_secret", "old"] }, "\(all.map { $0.refused ?? [] })")
        #expect(all.prefix(2).allSatisfy { $0.status == 500 && $0.seq == 1 })
        #expect(Set(all.compactMap(\.webhook_id)).count == Set(accepted).count)

        // 410 Gone disables; a receiver that never answers is dead-lettered after its window.
        var listed = ""
        let started = Date()
        while Date().timeIntervalSince(started) < 60 {
            listed = try await Shell.run(CLITests.binary, ["webhook", "list", "--config", config]).output
            if listed.contains("gone:") && listed.contains("DISABLED") && listed.contains("8 dead letters") { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(listed.contains("DISABLED") && listed.contains("410 Gone"), "\(listed)")
        #expect(listed.contains("nobody: http://127.0.0.1:\(closed)/hook, cursor 8, 0 behind, 8 dead letters"), "\(listed)")
        #expect(gone.deliveries().count == 1)
        #expect(listed.contains("app: http://127.0.0.1:\(receiver.port)/hook, cursor 8, 0 behind"), "\(listed)")
    }
}
