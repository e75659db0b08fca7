import Foundation
import Logging
import RollcallDirectory
import RollcallTestSupport
import Synchronization
import Testing

/// Collects log messages so tests can see what an operator would read.
final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    func handler() -> some LogHandler { Handler(collector: self) }

    struct Handler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            collector.lines.withLock { $0.append("\(event.level) \(event.message) \(event.metadata ?? [:])") }
        }
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesIsCappedAndJittered() {
        let policy = RetryPolicy(attempts: 6, initialDelaySeconds: 1, maxDelaySeconds: 5)
        #expect(policy.delay(beforeAttempt: 2, random: 0) == 0.5)
        #expect(policy.delay(beforeAttempt: 2, random: 1) == 1)
        #expect(policy.delay(beforeAttempt: 3, random: 1) == 2)
        #expect(policy.delay(beforeAttempt: 4, random: 1) == 4)
        #expect(policy.delay(beforeAttempt: 5, random: 1) == 5)
        #expect(policy.delay(beforeAttempt: 6, random: 0.5) == 3.75)
    }

    @Test func onlyConnectionFailuresAreTransient() {
        #expect(RetryPolicy.isTransient(LDAPError(step: .connect, code: -1)))
        #expect(RetryPolicy.isTransient(LDAPError(step: .search, code: -5)))
        #expect(!RetryPolicy.isTransient(LDAPError(step: .search, code: 4)))
        #expect(!RetryPolicy.isTransient(LDAPError(step: .bind, code: 49)))
        #expect(!RetryPolicy.isTransient(LDAPError(step: .tls, code: -1)))
    }

    @Test func aServerBackWithinTheRetriesIsRead() async throws {
        let slapd = try await SlapdFixture.start(ldif: DirectoryReadTests.people(5))
        slapd.stop()
        let restart = Task {
            try await Task.sleep(for: .milliseconds(700))
            try await slapd.restart()
        }
        let collector = LogCollector()
        let logger = Logger(label: "test") { _ in collector.handler() }
        let password = try Array(Data(contentsOf: URL(fileURLWithPath: slapd.syncPasswordFile)))
        let reader = DirectoryReader(
            settings: LDAPSettings(uri: slapd.uri, security: .none, bindDN: SlapdFixture.syncDN, bindPassword: password,
                                   networkTimeoutSeconds: 2),
            request: SearchRequest(baseDN: SlapdFixture.peopleBase, filter: "(objectClass=inetOrgPerson)", attributes: []),
            mapping: DirectoryReadTests.mapping,
            retry: RetryPolicy(attempts: 8, initialDelaySeconds: 0.2, maxDelaySeconds: 1))
        let accounts = try await reader.readAccounts(logger: logger)
        try await restart.value
        #expect(accounts.count == 5)
        let retries = collector.messages.filter { $0.contains("directory read failed, trying again") }
        #expect(!retries.isEmpty)
        #expect(retries.allSatisfy { !$0.contains(String(decoding: password, as: UTF8.self)) })
    }

    @Test func givesUpAfterTheLastAttempt() async throws {
        // Refused every time (a port merely free a moment ago can be taken by another test's server).
        let refusing = try RefusingPort()
        let reader = DirectoryReader(
            settings: LDAPSettings(uri: "ldap://127.0.0.1:\(refusing.port)", security: .none, networkTimeoutSeconds: 1),
            request: SearchRequest(baseDN: "dc=x", filter: "(objectClass=*)", attributes: []),
            mapping: DirectoryReadTests.mapping, retry: RetryPolicy(attempts: 3, initialDelaySeconds: 0.05, maxDelaySeconds: 0.1))
        let collector = LogCollector()
        await #expect(throws: LDAPError.self) { try await reader.readAccounts(logger: Logger(label: "test") { _ in collector.handler() }) }
        #expect(collector.messages.filter { $0.contains("trying again") }.count == 2)
        withExtendedLifetime(refusing) {}
    }
}
