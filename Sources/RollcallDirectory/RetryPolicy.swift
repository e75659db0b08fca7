import Foundation
import Logging
import RollcallCore

/// How often and how patiently a directory read is tried again after a transient failure (the
/// server down or unreachable, a timeout, busy or unavailable). A retry starts the read again from
/// the beginning: a partial read is never continued or kept.
public struct RetryPolicy: Sendable {
    public var backoff: Backoff
    public var attempts: Int { backoff.attempts }
    public var initialDelaySeconds: Double { backoff.initialDelaySeconds }
    public var maxDelaySeconds: Double { backoff.maxDelaySeconds }

    public init(attempts: Int = 3, initialDelaySeconds: Double = 1, maxDelaySeconds: Double = 30) {
        self.backoff = Backoff(attempts: attempts, initialDelaySeconds: initialDelaySeconds, maxDelaySeconds: maxDelaySeconds)
    }

    public static let none = RetryPolicy(attempts: 1)

    /// See `Backoff.delay`.
    public func delay(beforeAttempt attempt: Int, random: Double) -> Double {
        backoff.delay(beforeAttempt: attempt, random: random)
    }

    /// Whether an error is worth another try: the connection, not the request, failed.
    public static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? LDAPError, error.step == .connect || error.step == .search || error.step == .bind else {
            return false
        }
        // -1 server down, -5 timeout, -11 connect error, 51 busy, 52 unavailable.
        return [-1, -5, -11, 51, 52].contains(error.code)
    }

    /// Runs `operation`, trying again after transient failures with a logged, jittered delay.
    public func run<T: Sendable>(logger: Logger, what: String, _ operation: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch where attempt < attempts && RetryPolicy.isTransient(error) {
                attempt += 1
                let seconds = delay(beforeAttempt: attempt, random: Double.random(in: 0...1))
                logger.notice("\(what) failed, trying again", metadata: [
                    "ldap.error": "\(error)", "retry.attempt": "\(attempt)", "retry.delay_seconds": "\(String(format: "%.2f", seconds))",
                ])
                try await Task.sleep(for: .seconds(seconds))
            }
        }
    }
}
