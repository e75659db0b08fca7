import Foundation
import RollcallCore
import RollcallHR
import RollcallTestSupport
import Testing

/// HR sources fetched over real HTTP sockets from a local HR API (scripts/hr-http-server).
@Suite struct HTTPSourceTests {
    nonisolated(unsafe) static let records: [[String: Any]] = (1...5).map { ["Employee_ID": "E\($0)", "Email": "P\($0)@Example.test"] }
    static let fields: [PersonField: FieldRule] = [.employeeID: FieldRule(from: "Employee_ID"),
                                                   .email: FieldRule(from: "Email", letterCase: .lower)]

    static func secretFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try SecretFixture.write(text + "\n", to: path)
        return path
    }

    static func source(_ pull: HTTPPull, recordsPath: String? = "data") -> HRSourceSettings {
        var settings = HRSourceSettings(name: "api", format: .json, path: pull.displayURL, recordsPath: recordsPath, fields: fields)
        settings.http = pull
        return settings
    }

    static let quick = Backoff(attempts: 3, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05)

    @Test func nextLinkPagesWithABearerToken() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "paging": "next_link", "page_size": 2, "bearer": "s3cr3t-token"])
        let pull = HTTPPull(url: server.url("/report?format=json"), auth: .bearer(tokenFile: try Self.secretFile("s3cr3t-token")),
                            retry: Self.quick, paging: .nextLink(path: "links.next"))
        let result = try await HRSource(settings: Self.source(pull)).read()
        #expect(result.records.map(\.employeeID) == ["E1", "E2", "E3", "E4", "E5"])
        #expect(result.records.first?.attributes.email == "p1@example.test")
        #expect(result.records.last?.origin.description == "\(server.url("/report")) record 5")
        let requests = try server.requests()
        #expect(requests.map(\.path) == ["/report?format=json", "/report?page=2", "/report?page=3"])
        #expect(requests.allSatisfy { $0.authorization_scheme == "Bearer" && $0.status == 200 })
    }

    /// The daemon asks a feed "changed since?" with each page's ETag: all 304 → the last read is
    /// used without parsing; one changed page → the whole feed is read again, in order.
    @Test func unchangedPagesAreNotReadTwice() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "paging": "next_link", "page_size": 2, "etag": true])
        let pull = HTTPPull(url: server.url("/report"), retry: Self.quick, paging: .nextLink(path: "links.next"))
        let cache = HRReadCache()
        let first = try await HRSources.read([Self.source(pull)], cache: cache)
        #expect(first.records.count == 5)
        let again = try await HRSources.read([Self.source(pull)], cache: cache)
        #expect(again.records.map(\.employeeID) == first.records.map(\.employeeID))
        var requests = try server.requests()
        #expect(requests.map { "\($0.path) \($0.status) \($0.conditional == true)" } == [
            "/report 200 false", "/report?page=2 200 false", "/report?page=3 200 false",
            "/report 304 true", "/report?page=2 304 true", "/report?page=3 304 true"])

        // E5 (page 3) changes: pages 1 and 2 answer 304, page 3 does not, and the feed is read whole.
        var changed = Self.records
        changed[4]["Email"] = "p5.new@example.test"
        try server.replaceRecords(changed)
        let third = try await HRSources.read([Self.source(pull)], cache: cache)
        #expect(third.records.map(\.employeeID) == ["E1", "E2", "E3", "E4", "E5"])
        #expect(third.records.last?.attributes.email == "p5.new@example.test")
        requests = try server.requests()
        #expect(requests.dropFirst(6).map { "\($0.path) \($0.status)" } == [
            "/report 304", "/report?page=2 304", "/report?page=3 200", "/report 200", "/report?page=2 200", "/report?page=3 200"])

        // Without a cache (the CLI), nothing is conditional.
        _ = try await HRSource(settings: Self.source(pull)).read()
        #expect(try server.requests().dropFirst(12).allSatisfy { $0.conditional == false && $0.status == 200 })
    }

    /// Last-Modified works the same; within refresh_minutes the feed is not asked at all.
    @Test func lastModifiedAndTheRefreshInterval() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "last_modified": "Mon, 30 Nov 2026 09:00:00 GMT"])
        let pull = HTTPPull(url: server.url("/all"), retry: Self.quick)
        let cache = HRReadCache()
        _ = try await HRSources.read([Self.source(pull)], cache: cache)
        let again = try await HRSources.read([Self.source(pull)], cache: cache)
        #expect(again.records.count == 5)
        #expect(try server.requests().map(\.status) == [200, 304])
        var settings = Self.source(pull)
        settings.refreshSeconds = 600
        _ = try await HRSources.read([settings], cache: cache)
        #expect(try server.requests().count == 2)
    }

    @Test func offsetPagesWithBasicAuthentication() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "paging": "offset", "records_key": "employees",
                                                  "basic": ["rollcall", "pa55word"]])
        let pull = HTTPPull(url: server.url("/v1/employees"), auth: .basic(username: "rollcall", passwordFile: try Self.secretFile("pa55word")),
                            retry: Self.quick, paging: .offset(offsetParameter: "offset", limitParameter: "limit", pageSize: 2))
        let result = try await HRSource(settings: Self.source(pull, recordsPath: "employees")).read()
        #expect(result.records.count == 5)
        #expect(try server.requests().map(\.path) == ["/v1/employees?limit=2&offset=0", "/v1/employees?limit=2&offset=2",
                                                      "/v1/employees?limit=2&offset=4"])
    }

    @Test func aBusyServerIsTriedAgain() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "fail_first": 2])
        let pull = HTTPPull(url: server.url("/all"), retry: Self.quick)
        let result = try await HRSource(settings: Self.source(pull)).read()
        #expect(result.records.count == 5)
        #expect(try server.requests().map(\.status) == [503, 503, 200])
    }

    @Test func aPageThatKeepsFailingFailsTheWholeRead() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "paging": "next_link", "page_size": 2, "fail_page": 2])
        let pull = HTTPPull(url: server.url("/report"), retry: Backoff(attempts: 2, initialDelaySeconds: 0.01, maxDelaySeconds: 0.01),
                            paging: .nextLink(path: "links.next"))
        do {
            let result = try await HRSource(settings: Self.source(pull)).read()
            Issue.record("a partial feed was returned: \(result.records.count) records")
        } catch {
            #expect(error.description.contains("page 2: HTTP 500"))
            #expect(error.description.contains("after 2 tries"))
        }
        #expect(try server.requests().map(\.status) == [200, 500, 500])
    }

    /// The credentials go to the configured origin only: a next link to another host or port, or
    /// a redirect anywhere, fails the read; the other origin is never asked.
    @Test func credentialsNeverLeaveTheConfiguredOrigin() async throws {
        let elsewhere = try await HTTPFixture.start(["records": Self.records])
        let origin = elsewhere.url("").replacingOccurrences(of: "127.0.0.1", with: "127.0.0.1")
        for spec: [String: Any] in [["next_origin": origin], ["next_origin": origin.replacingOccurrences(of: "127.0.0.1", with: "localhost")]] {
            var full = spec
            full["records"] = Self.records
            full["paging"] = "next_link"
            full["page_size"] = 2
            full["bearer"] = "s3cr3t-token"
            let server = try await HTTPFixture.start(full)
            let pull = HTTPPull(url: server.url("/report"), auth: .bearer(tokenFile: try Self.secretFile("s3cr3t-token")), retry: Self.quick,
                                paging: .nextLink(path: "links.next"))
            do {
                _ = try await HRSource(settings: Self.source(pull)).read()
                Issue.record("a next link to another origin was followed")
            } catch {
                #expect(error.description.contains("page 1 names a next page on another origin"), "\(error)")
            }
        }
        let redirecting = try await HTTPFixture.start(["records": Self.records, "bearer": "s3cr3t-token", "redirect": elsewhere.url("/all")])
        let pull = HTTPPull(url: redirecting.url("/all"), auth: .bearer(tokenFile: try Self.secretFile("s3cr3t-token")), retry: Self.quick)
        do {
            _ = try await HRSource(settings: Self.source(pull)).read()
            Issue.record("a redirect was followed")
        } catch {
            #expect(error.description.contains("HTTP 302 redirect to http://127.0.0.1:") && error.description.contains("not followed"), "\(error)")
        }
        #expect(try elsewhere.requests().isEmpty)
    }

    /// A server that sends its body a byte at a time does not hold the read past its deadline.
    @Test func aTricklingBodyMeetsThePageDeadline() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "trickle_seconds": 1])
        let pull = HTTPPull(url: server.url("/all"), timeoutSeconds: 2, retry: Backoff(attempts: 1, initialDelaySeconds: 0.01, maxDelaySeconds: 0.01))
        let started = Date()
        do {
            _ = try await HRSource(settings: Self.source(pull)).read()
            Issue.record("a trickled body was read")
        } catch {
            #expect(error.description.contains("no complete answer within 2 s"), "\(error)")  // the deadline, or the client noticing first
        }
        // The whole body would take ten minutes at this pace (a byte a second); the read ends long
        // before (a loaded machine, the whole suite beside it, can add seconds to the 3 s).
        #expect(Date().timeIntervalSince(started) < 90)
    }

    /// Caps on one read: records and bytes across pages; beyond them the read fails, naming the cap.
    @Test func aFeedBeyondItsCapsFails() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "paging": "next_link", "page_size": 2])
        let pull = HTTPPull(url: server.url("/report"), retry: Self.quick, paging: .nextLink(path: "links.next"))
        var settings = Self.source(pull)
        settings.maxRecords = 3
        do {
            _ = try await HRSource(settings: settings).read()
            Issue.record("5 records read past max_records 3")
        } catch {
            #expect(error.description.contains("more than max_records (3)"), "\(error)")
        }
        settings.maxRecords = 5
        #expect(try await HRSource(settings: settings).read().records.count == 5)
        settings.maxBytes = 300
        do {
            _ = try await HRSource(settings: settings).read()
            Issue.record("a feed read past max_megabytes")
        } catch {
            #expect(error.description.contains("past max_megabytes"), "\(error)")
        }
    }

    @Test func wrongCredentialsFailAtOnceAndTheSecretIsNotShown() async throws {
        let server = try await HTTPFixture.start(["records": Self.records, "bearer": "right-token"])
        let pull = HTTPPull(url: server.url("/all?api_key=query-secret"), auth: .bearer(tokenFile: try Self.secretFile("wrong-token")), retry: Self.quick)
        do {
            _ = try await HRSource(settings: Self.source(pull)).read()
            Issue.record("read with wrong credentials")
        } catch {
            #expect(error.description.contains("HTTP 401"))
            #expect(error.description.contains("credentials"))
            #expect(!error.description.contains("wrong-token") && !error.description.contains("query-secret"))
        }
        #expect(try server.requests().count == 1)
    }

    @Test func httpsWithTheConfiguredCAAndAnUntrustedOne() async throws {
        let tls = try await Self.certificates()
        let server = try await HTTPFixture.start(["records": Self.records, "tls": [tls.cert, tls.key]])
        let trusted = HTTPPull(url: server.url("/all"), caFile: tls.ca, retry: Self.quick)
        #expect(try await HRSource(settings: Self.source(trusted)).read().records.count == 5)

        let other = try await Self.certificates()
        // A TLS failure is not tried again; libraries keep trying to connect until the timeout.
        let untrusted = HTTPPull(url: server.url("/all"), caFile: other.ca, timeoutSeconds: 2, retry: Self.quick)
        do {
            _ = try await HRSource(settings: Self.source(untrusted)).read()
            Issue.record("an untrusted certificate was accepted")
        } catch {
            #expect(error.description.contains("TLS failed"), "\(error)")
        }
        #expect(try server.requests().count == 1, "a TLS failure is not tried again")
    }

    /// A server that speaks TLS 1.1 at most is refused: 1.2 is the least HR data travels over.
    @Test func tlsBelowOnePointTwoIsRefused() async throws {
        let tls = try await Self.certificates()
        let old = try await HTTPFixture.start(["records": Self.records, "tls": [tls.cert, tls.key], "tls_max": "1.1"])
        let address = old.url("").replacingOccurrences(of: "https://", with: "")
        let check = try await Shell.run("/bin/sh", ["-c", "openssl s_client -connect \(address) -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null"])
        // This machine's OpenSSL can still speak 1.1 to it (else the test would prove nothing).
        #expect(check.output.contains("Protocol  : TLSv1.1") || check.output.contains("TLSv1.1"), "\(check.output.suffix(800))\(check.error.suffix(400))")
        let pull = HTTPPull(url: old.url("/all"), caFile: tls.ca, timeoutSeconds: 2, retry: Self.quick)
        do {
            _ = try await HRSource(settings: Self.source(pull)).read()
            Issue.record("a TLS 1.1 server was read")
        } catch {
            #expect(error.description.contains("TLS failed"), "\(error)")
        }
    }

    /// A CA and a server certificate for 127.0.0.1, made with openssl.
    static func certificates() async throws -> (ca: String, cert: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let d = dir.path
        let script = """
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(d)/ca.key -out \(d)/ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(d)/server.key -out \(d)/server.csr -subj /CN=127.0.0.1 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > \(d)/ext.cnf
            openssl x509 -req -in \(d)/server.csr -CA \(d)/ca.pem -CAkey \(d)/ca.key -CAcreateserial -out \(d)/server.pem -days 2 -extfile \(d)/ext.cnf 2>/dev/null
            """
        let result = try await Shell.run("/bin/bash", ["-c", script])
        guard result.status == 0 else { throw FixtureError("openssl failed: \(result.error)") }
        return ("\(d)/ca.pem", "\(d)/server.pem", "\(d)/server.key")
    }
}
