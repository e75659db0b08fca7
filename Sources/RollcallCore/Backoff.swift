/// How often and how patiently an operation is tried again after a transient failure: capped
/// exponential backoff with "equal jitter". Shared by the directory and HR readers, which each
/// decide what counts as transient.
public struct Backoff: Sendable, Hashable {
    /// Tries in all, at least 1.
    public var attempts: Int
    public var initialDelaySeconds: Double
    public var maxDelaySeconds: Double

    public init(attempts: Int = 3, initialDelaySeconds: Double = 1, maxDelaySeconds: Double = 30) {
        self.attempts = max(1, attempts)
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    /// Half the capped delay, plus a random part of the other half, so that many Rollcall
    /// instances do not retry in step. `attempt` counts from 2; `random` is in 0...1.
    public func delay(beforeAttempt attempt: Int, random: Double) -> Double {
        let exponent = Double(max(0, attempt - 2))
        var growth = 1.0
        for _ in 0..<Int(min(exponent, 62)) { growth *= 2 }
        let capped = min(maxDelaySeconds, initialDelaySeconds * growth)
        return capped / 2 + capped / 2 * min(max(random, 0), 1)
    }
}
