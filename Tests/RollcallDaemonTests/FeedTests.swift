import Foundation
import RollcallStore
import RollcallTestSupport
import Testing

/// The change feed against the running daemon, over real HTTP with curl: consumers' tokens,
/// batches after a cursor, type filters, acknowledgements, long-polls, problem+json errors.
@Suite struct FeedTests {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// One request with curl: status, headers (lowercased names) and body.
    static func request(_ url: String, token: String? = nil, method: String = "GET", body: String? = nil,
                        accept: String? = nil) async throws -> Answer {
        var arguments = ["-s", "-D", "-", "-o", "-", "--max-time", "30", "-X", method]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let accept { arguments += ["-H", "Accept: \(accept)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data", body] }
        let result = try await Shell.run("/usr/bin/curl", arguments + [url])
        let parts = result.output.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        var headers: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Answer(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// A decoded JSON value as text again (for searching it).
    enum CanonicalJSONText {
        static func of(_ value: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }

    @Test func consumersPullEventsAfterTheirCursor() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let notify = try NotifySocket()
        let (daemon, port) = try ServeTests.startAfterFirstRun(world, notify: notify)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let base = "http://127.0.0.1:\(port)"

        let added = try await Shell.run(CLITests.binary, ["consumer", "add", "app", "--config", config])
        #expect(added.status == 0, "\(added.error)")
        let token = added.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("rct_") && token.count > 40)
        let limited = try await Shell.run(CLITests.binary, ["consumer", "add", "hr-app", "--types", "dev.rollcall.identity.", "--config", config])
        let limitedToken = limited.output.trimmingCharacters(in: .whitespacesAndNewlines)
        // Only the hash is stored.
        let stored = try String(contentsOfFile: world.configuration.storePath, encoding: .isoLatin1)
        #expect(!stored.contains(token) && !stored.contains(limitedToken))

        // No token, a wrong one: 401 with problem+json.
        let anonymous = try await Self.request(base + "/v1/events")
        #expect(anonymous.status == 401 && anonymous.headers["content-type"] == "application/problem+json", "\(anonymous)")
        let problem = try #require(try Self.json(anonymous.body) as? [String: Any])
        #expect(problem["status"] as? Int == 401 && problem["title"] as? String == "no bearer token")
        #expect(try await Self.request(base + "/v1/events", token: "rct_nope").status == 401)

        // A batch: CloudEvents in order, and where to continue.
        let first = try await Self.request(base + "/v1/events?after=0&limit=2", token: token)
        #expect(first.status == 200 && first.headers["content-type"] == "application/cloudevents-batch+json", "\(first)")
        let batch = try #require(try Self.json(first.body) as? [[String: Any]])
        #expect(batch.map { $0["rollcallseq"] as? Int } == [1, 2])
        #expect(batch.allSatisfy { $0["specversion"] as? String == "1.0" && $0["data"] != nil })
        #expect(first.headers["rollcall-next-after"] == "2")
        let rest = try await Self.request(base + "/v1/events?after=2", token: token, accept: "application/x-ndjson")
        #expect(rest.headers["content-type"] == "application/x-ndjson")
        let lines = rest.body.split(separator: "\n")
        #expect(lines.count == 1 && rest.headers["rollcall-next-after"] == "3", "\(rest)")
        // Every event served, read by the cloudevents SDK and checked against the CloudEvents schema.
        let everything = try await Self.request(base + "/v1/events?after=0", token: token, accept: "application/x-ndjson")
        let ndjson = world.directory.appendingPathComponent("served.ndjson")
        try everything.body.write(to: ndjson, atomically: true, encoding: .utf8)
        let schema = RepositoryRoot.url.appendingPathComponent("../shared/testdata/external/cloudevents-spec/cloudevents.json").standardizedFileURL.path
        let validated = try await Shell.run(RepositoryRoot.url.appendingPathComponent(".venv/bin/python").path,
                                            [RepositoryRoot.url.appendingPathComponent("scripts/validate-events").path, ndjson.path]
                                                + (FileManager.default.fileExists(atPath: schema) ? [schema] : []))
        #expect(validated.status == 0 && validated.output.contains("3 events valid"), "\(validated.output)\(validated.error)")
        let thin = try await Self.request(base + "/v1/events?after=0&view=thin", token: token)
        #expect((try Self.json(thin.body) as? [[String: Any]])?.allSatisfy { $0["data"] == nil && $0["type"] != nil } == true)
        // One subject's events only.
        let aboutE3 = try await Self.request(base + "/v1/events?after=0&subject=E3", token: token)
        #expect((try Self.json(aboutE3.body) as? [[String: Any]])?.map { $0["subject"] as? String } == ["E3"], "\(aboutE3.body)")
        #expect(aboutE3.headers["rollcall-next-after"] == "3")
        #expect(try await Self.request(base + "/v1/events?limit=0", token: token).status == 400)
        #expect(try await Self.request(base + "/v1/events?view=fat", token: token).status == 400)

        // A consumer limited to identity events sees only those, and may not ask for others.
        let identity = try await Self.request(base + "/v1/events?after=0", token: limitedToken)
        let types = (try Self.json(identity.body) as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        #expect(types == ["dev.rollcall.identity.joiner"], "\(identity.body)")
        #expect(identity.headers["rollcall-next-after"] == "3")
        #expect(try await Self.request(base + "/v1/events?types=dev.rollcall.account.", token: limitedToken).status == 403)

        // Acknowledgements move the cursor forwards only; a request without `after` starts there.
        let ack = try await Self.request(base + "/v1/consumers/app/ack", token: token, method: "POST", body: "{\"sequence\": 2}")
        #expect(ack.status == 200, "\(ack)")
        let fromCursor = try await Self.request(base + "/v1/events", token: token)
        #expect((try Self.json(fromCursor.body) as? [[String: Any]])?.map { $0["rollcallseq"] as? Int } == [3])
        #expect(try await Self.request(base + "/v1/consumers/app/ack", token: token, method: "POST", body: "{\"sequence\": 1}").status == 409)
        #expect(try await Self.request(base + "/v1/consumers/app/ack", token: limitedToken, method: "POST", body: "{\"sequence\": 3}").status == 403)
        #expect(try await Self.request(base + "/v1/consumers/app/ack", token: token, method: "POST", body: "three").status == 400)
        // A body over 4 KiB is refused unread.
        let big = try await Self.request(base + "/v1/consumers/app/ack", token: token, method: "POST",
                                         body: "{\"sequence\": 2, \"pad\": \"" + String(repeating: "x", count: 5000) + "\"}")
        #expect(big.status == 413 && big.headers["content-type"] == "application/problem+json", "\(big)")
        #expect(try await Self.request(base + "/v1/consumers/app/ack", token: token, method: "POST", body: "{\"sequence\": 99}").status == 400)
        let list = try await Shell.run(CLITests.binary, ["consumer", "list", "--config", config])
        #expect(list.output.contains("app: active, cursor 2, 1 behind"), "\(list.output)")
        let status = try await Shell.run(CLITests.binary, ["status", "--config", config])
        #expect(status.output.contains("consumer app: cursor 2, 1 behind"), "\(status.output)")
        var lag = ""
        for _ in 0..<60 where !lag.contains("rollcall_consumer_lag{consumer=\"app\"} 1") {
            lag = try await ServeTests.curl(base + "/metrics").body
            if !lag.contains("rollcall_consumer_lag{consumer=\"app\"} 1") { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(lag.contains("rollcall_consumer_lag{consumer=\"app\"} 1"), "\(lag)")

        // A long-poll answers as soon as an event is committed: here a new hire in the HR file.
        async let polled = Self.request(base + "/v1/events?after=3&wait=30", token: token)
        try await Task.sleep(for: .milliseconds(500))
        let written = Date()
        try world.writeHR((1...4).map { ReconcileJobTests.row($0) }.joined())
        let answer = try await polled
        let waited = Date().timeIntervalSince(written)
        #expect((try Self.json(answer.body) as? [[String: Any]])?.first?["type"] as? String == "dev.rollcall.identity.joiner", "\(answer)")
        #expect(waited < 15, "\(waited) s")
        // Nothing new: the long-poll ends empty at its wait.
        let empty = try await Self.request(base + "/v1/events?after=4&wait=1", token: token)
        #expect(empty.status == 200 && empty.body == "[]" && empty.headers["rollcall-next-after"] == "4", "\(empty)")

        // Server-Sent Events: from Last-Event-ID, ids are sequence numbers, heartbeats while idle.
        let sse = try await Shell.run("/usr/bin/curl", ["-s", "-N", "--max-time", "3", "-H", "Authorization: Bearer \(token)",
                                                        "-H", "Last-Event-ID: 2", base + "/v1/events/stream?heartbeat=1"])
        let frames = sse.output.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(frames.first?.hasPrefix("id: 3\nevent: dev.rollcall.identity.joiner\ndata: {") == true, "\(sse.output)")
        #expect(frames.contains { $0.hasPrefix("id: 4\n") } && frames.contains(": heartbeat"), "\(sse.output)")
        #expect(!frames.contains { $0.hasPrefix("id: 1\n") || $0.hasPrefix("id: 2\n") })
        // The streamed events, too, read by the cloudevents SDK and checked against the schema.
        let streamedEvents = frames.compactMap { frame in frame.split(separator: "\n").first { $0.hasPrefix("data: ") }?.dropFirst(6) }
        #expect(streamedEvents.count == 2)
        let streamFile = world.directory.appendingPathComponent("streamed.ndjson")
        try streamedEvents.map { $0 + "\n" }.joined().write(to: streamFile, atomically: true, encoding: .utf8)
        let streamValid = try await Shell.run(RepositoryRoot.url.appendingPathComponent(".venv/bin/python").path,
                                              [RepositoryRoot.url.appendingPathComponent("scripts/validate-events").path, streamFile.path]
                                                + (FileManager.default.fileExists(atPath: schema) ? [schema] : []))
        #expect(streamValid.status == 0 && streamValid.output.contains("2 events valid"), "\(streamValid.output)\(streamValid.error)")
        // A revoked consumer's stream says so and ends.
        async let streaming = Shell.run("/usr/bin/curl", ["-s", "-N", "--max-time", "20", "-H", "Authorization: Bearer \(token)",
                                                          base + "/v1/events/stream?after=4&heartbeat=1"])
        try await Task.sleep(for: .seconds(1))
        let revokedAt = Date()
        #expect(try await Shell.run(CLITests.binary, ["consumer", "revoke", "app", "--config", config]).status == 0)
        let ended = try await streaming
        #expect(ended.status == 0 && ended.output.hasSuffix("event: revoked\ndata: {\"consumer\":\"app\",\"reason\":\"revoked\"}\n\n"),
                "\(ended.status) \(ended.output)")
        #expect(Date().timeIntervalSince(revokedAt) < 5)
        // Polling too fast: 429 with Retry-After (the default is 20 requests per second, bursts of 40).
        // One curl sending all 60 at once (--parallel): 60 processes, one per request, spread
        // over more than the burst allows only on an idle machine, and a loaded one saw no 429.
        let burst = try await Shell.run("/usr/bin/curl", ["-s", "--parallel", "--parallel-immediate", "--parallel-max", "60",
                                                          "-H", "Authorization: Bearer \(limitedToken)", "-w", "%{http_code} %header{retry-after}\n"]
                                                         + (0..<60).flatMap { _ in ["-o", "/dev/null", base + "/v1/events?after=4"] })
        let statuses = burst.output.split(separator: "\n").map { line -> Answer in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return Answer(status: Int(parts.first ?? "") ?? 0, headers: parts.count > 1 ? ["retry-after": parts[1]] : [:], body: "")
        }
        #expect(statuses.count == 60, "\(burst.output) \(burst.error)")
        let limited429 = statuses.filter { $0.status == 429 }
        #expect(!limited429.isEmpty && limited429.allSatisfy { Int($0.headers["retry-after"] ?? "") ?? 0 >= 1 }, "\(statuses.map(\.status))")
        #expect(statuses.allSatisfy { $0.status == 200 || $0.status == 429 }, "\(burst.output)")
        try await Task.sleep(for: .seconds(2))
        // Revoked: refused at once.
        #expect(try await Self.request(base + "/v1/events", token: token).status == 401)
        #expect(try await Self.request(base + "/v1/events/stream", token: token).status == 401)
    }

    /// Over HTTP, events about a purged person are their tombstones (nothing of the person in
    /// pull or stream but the purge event itself); a cursor older than the outbox's retention gets
    /// 410 with the oldest sequence kept, in pull and stream.
    @Test func purgedPersonsAreTombstonesAndPrunedEventsAreGone() async throws {
        let key = FileManager.default.temporaryDirectory.appendingPathComponent("tombstone-\(UUID().uuidString).key")
        try SecretFixture.write(Data((0..<32).map { UInt8($0 * 7 % 251) }), to: key.path)
        let world = try await ReconcileJobTests.world(people: 3, rows: ReconcileJobTests.row(1) + ReconcileJobTests.row(2, end: "2026-01-09")
                                                        + ReconcileJobTests.row(3), extra: """
            lifecycle: {deprovision_after_days: 30, purge_after_days: 60, tombstone_key_file: \(key.path)}

            """)
        let day: (Int) -> @Sendable () -> Date = { days in { Date(timeIntervalSince1970: 1_767_225_600 + Double(days) * 86_400) } }  // 2026-01-01 + days
        _ = try await world.run(now: day(0))
        _ = try await world.run(now: day(9))
        try await world.slapd.modify("dn: uid=p2,ou=people,dc=example,dc=test\nchangetype: delete\n")
        _ = try await world.run(now: day(39))
        #expect(try await world.run(now: day(69)).summary.purged == 1)
        // Kept for ever while the daemon starts (its first run is today, long after these days).
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "events: {source: \"urn:rollcall:test\"}", with: "events: {source: \"urn:rollcall:test\", retention_days: 36500}")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let notify = try NotifySocket()
        let (daemon, port) = try ServeTests.startAfterFirstRun(world, notify: notify)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let token = try await Shell.run(CLITests.binary, ["consumer", "add", "app", "--config", config]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(port)"

        let pulled = try await Self.request(base + "/v1/events?after=0&limit=1000", token: token, accept: "application/x-ndjson")
        let events = try pulled.body.split(separator: "\n").map { try #require(try Self.json(String($0)) as? [String: Any]) }
        let tombstones = events.filter { ($0["subject"] as? String)?.hasPrefix("tombstone:") == true }
        #expect(tombstones.count >= 3, "\(pulled.body)")
        // Earlier events about E2 say "purged" and the tombstone; the purge event itself names the tombstone only.
        #expect(tombstones.allSatisfy { event in
            let data = event["data"] as? [String: Any]
            return event["type"] as? String == "dev.rollcall.identity.purged" ? data?["hr_id"] == nil && data?["tombstone"] != nil
                                                                             : data?["purged"] as? Bool == true
        })
        #expect(tombstones.contains { $0["type"] as? String == "dev.rollcall.identity.purged" })
        // E2 is named nowhere, nor is E2's name.
        let naming = events.filter { CanonicalJSONText.of($0).contains("\"E2\"") }
        #expect(naming.isEmpty, "\(naming)")
        #expect(!pulled.body.contains("Given2") && !pulled.body.contains("Family2"))
        let streamed = try await Shell.run("/usr/bin/curl", ["-s", "-N", "--max-time", "3", "-H", "Authorization: Bearer \(token)",
                                                             "-H", "Last-Event-ID: 0", base + "/v1/events/stream?heartbeat=1"])
        #expect(streamed.output.contains("tombstone:") && !streamed.output.contains("Given2"), "\(streamed.output)")
        #expect(streamed.output.components(separatedBy: "\nid: ").count - 1 + (streamed.output.hasPrefix("id: ") ? 1 : 0) == events.count)

        // Retention removes what the daemon's run left older than 30 days: the old cursor is gone.
        let store = try Store.open(path: world.configuration.storePath)
        #expect(try store.pruneOutbox(retentionDays: 30) > 0)
        let oldest = try #require(try store.oldestSequence())
        let gone = try await Self.request(base + "/v1/events?after=0", token: token)
        #expect(gone.status == 410 && gone.headers["content-type"] == "application/problem+json", "\(gone)")
        let problem = try #require(try Self.json(gone.body) as? [String: Any])
        #expect(problem["oldest_sequence"] as? Int == Int(oldest) && problem["status"] as? Int == 410, "\(problem)")
        let goneStream = try await Self.request(base + "/v1/events/stream", token: token)   // from the cursor, 0
        #expect(goneStream.status == 410, "\(goneStream)")
        #expect(try await Self.request(base + "/v1/events?after=\(oldest - 1)", token: token).status == 200)
        // The consumer moves on by rewinding to the oldest kept; a new consumer starts there.
        let rewound = try await Shell.run(CLITests.binary, ["consumer", "rewind", "app", "--to", "\(oldest - 1)", "--config", config])
        #expect(rewound.status == 0, "\(rewound.error)")
        #expect(try await Self.request(base + "/v1/events", token: token).status == 200)
        _ = try await Shell.run(CLITests.binary, ["consumer", "add", "late", "--config", config])
        #expect(try store.consumers().first { $0.name == "late" }?.cursor == oldest - 1)
    }

    /// `serve.tls`: the feed over HTTPS with the configured certificate (verified by curl against
    /// its CA), TLS 1.2 at least, no plain HTTP on the port; `rollcall status` still finds it.
    @Test func theFeedOverTLS() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        // The test slapd's server certificate (IP:127.0.0.1, signed by its CA) serves here too.
        let tls = world.slapd.directory.appendingPathComponent("tls")
        let key = world.directory.appendingPathComponent("feed.key")
        try SecretFixture.write(Data(contentsOf: tls.appendingPathComponent("server.key")), to: key.path)
        let notify = try NotifySocket()
        let (daemon, port) = try ServeTests.startAfterFirstRun(world, notify: notify, serve: """
            tls: {cert_file: \(tls.appendingPathComponent("server.pem").path), key_file: \(key.path)}
            """)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let token = try await Shell.run(CLITests.binary, ["consumer", "add", "app", "--config", config]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = tls.appendingPathComponent("ca.pem").path
        let https = "https://127.0.0.1:\(port)"
        let pulled = try await Shell.run("/usr/bin/curl", ["-s", "--fail", "--cacert", ca, "-H", "Authorization: Bearer \(token)", https + "/v1/events?after=0"])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect((try Self.json(pulled.output) as? [[String: Any]])?.count == 3, "\(pulled.output)")
        // The certificate is checked by the client: without the CA, curl refuses it.
        #expect(try await Shell.run("/usr/bin/curl", ["-s", https + "/healthz"]).status == 60)
        // No TLS below 1.2, no plain HTTP.
        let old = try await Shell.run("/usr/bin/curl", ["-s", "--cacert", ca, "--tlsv1.0", "--tls-max", "1.1", https + "/healthz"])
        #expect(old.status != 0)
        let plain = try await Shell.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://127.0.0.1:\(port)/healthz"])
        #expect(plain.output != "200")
        let status = try await Shell.run(CLITests.binary, ["status", "--config", config])
        #expect(status.output.contains("daemon: running on 127.0.0.1:\(port), ready"), "\(status.output)")
    }

    /// scripts/example-consumer, the consumer docs/events.md shows, pulls (acknowledging as it
    /// goes, so a second run continues) and streams against the daemon.
    @Test func theDocumentedExampleConsumerWorks() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let notify = try NotifySocket()
        let (daemon, port) = try ServeTests.startAfterFirstRun(world, notify: notify)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }
        let token = try await Shell.run(CLITests.binary, ["consumer", "add", "demo", "--config", config]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let script = RepositoryRoot.url.appendingPathComponent("scripts/example-consumer").path
        let base = "http://127.0.0.1:\(port)"
        let pulled = try await Shell.run("/usr/bin/timeout", ["30", "/usr/bin/python3", script, "pull", base, token, "demo", "--until", "3"])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(pulled.output.split(separator: "\n").map(String.init)
                == ["1 dev.rollcall.account.linked E1", "2 dev.rollcall.account.linked E2", "3 dev.rollcall.identity.joiner E3"], "\(pulled.output)")
        // Acknowledged: the next pull waits for event 4, which a new hire brings.
        try world.writeHR((1...4).map { ReconcileJobTests.row($0) }.joined())
        let again = try await Shell.run("/usr/bin/timeout", ["30", "/usr/bin/python3", script, "pull", base, token, "demo", "--until", "4"])
        #expect(again.output == "4 dev.rollcall.identity.joiner E4\n", "\(again.output)\(again.error)")
        // Another consumer streams from its own cursor (none yet): everything, then stops at 4.
        let watcher = try await Shell.run(CLITests.binary, ["consumer", "add", "watcher", "--config", config]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let streamed = try await Shell.run("/usr/bin/timeout", ["30", "/usr/bin/python3", script, "stream", base, watcher, "--until", "4"])
        #expect(streamed.status == 0 && streamed.output.split(separator: "\n").count == 4, "\(streamed.output)\(streamed.error)")
        #expect(streamed.output.hasSuffix("4 dev.rollcall.identity.joiner E4\n"), "\(streamed.output)")
    }
}
