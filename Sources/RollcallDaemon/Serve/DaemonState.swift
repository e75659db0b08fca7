import Foundation
import RollcallFeed
import RollcallHR
import Synchronization

/// What the daemon knows about itself, shared by its services: the configuration in force (a
/// reload swaps it), the last run of each kind, and whether a run is in progress.
public final class DaemonState: Sendable, DaemonHealth {
    public enum RunKind: String, Sendable { case full, delta, manual }

    public struct LastRun: Sendable {
        public var kind: RunKind
        public var finishedAt: Date
        /// applied, held (decisions held back), quarantined, failed, busy
        public var outcome: String
        public var runID: Int64?
        public var events: Int
        public var detail: String?
    }

    private struct Inner {
        var configuration: ResolvedConfiguration
        var storeOpen = false
        var schedulerStarted = false
        var runningSince: Date?
        var lastRun: LastRun?
        var lastByKind: [RunKind: LastRun] = [:]
        var nextDue: [RunKind: Date] = [:]
        var requested: RunKind?
        var heartbeat = Date()
        var hrRead: HRReadResult?
        var listeners: [String: String] = [:]
    }

    private let inner: Mutex<Inner>
    public let startedAt = Date()
    /// HR files read once per change across the daemon's runs.
    public let hrFiles = HRReadCache()
    /// The stored state kept between live changes.
    public let liveState = LiveState()
    /// The outbox's newest sequence for the feed's long-polls.
    public let outbox = OutboxSignal()

    public init(configuration: ResolvedConfiguration) {
        inner = Mutex(Inner(configuration: configuration))
    }

    public var configuration: ResolvedConfiguration {
        get { inner.withLock { $0.configuration } }
        set { inner.withLock { $0.configuration = newValue } }
    }

    public func markStoreOpen() { inner.withLock { $0.storeOpen = true } }
    public func markSchedulerStarted() { inner.withLock { $0.schedulerStarted = true } }
    public func beat(_ now: Date = Date()) { inner.withLock { $0.heartbeat = now } }
    public func runStarted(at date: Date) { inner.withLock { $0.runningSince = date } }

    public func runFinished(_ run: LastRun) {
        inner.withLock { state in
            state.runningSince = nil
            state.lastRun = run
            state.lastByKind[run.kind] = run
        }
    }

    /// Asks the scheduler for a run of this kind at its next tick (a full one wins over a delta).
    public func requestRun(_ kind: RunKind) {
        inner.withLock { state in if state.requested != .full { state.requested = kind } }
    }

    /// The run asked for since the last call, if any.
    public func takeRequestedRun() -> RunKind? {
        inner.withLock { state in
            defer { state.requested = nil }
            return state.requested
        }
    }

    /// When the scheduler will next start a run of this kind.
    public func setNext(_ kind: RunKind, _ date: Date?) { inner.withLock { $0.nextDue[kind] = date } }

    /// An operator's run through the admin socket: the last run, without touching the scheduler's.
    public func manualRunFinished(_ run: LastRun) {
        inner.withLock { state in
            state.lastRun = run
            state.lastByKind[run.kind] = run
        }
    }

    public var lastRun: LastRun? { inner.withLock { $0.lastRun } }

    /// Healthy for the watchdog: the scheduler's loop beat recently, or the run it is in has not
    /// exceeded the run timeout.
    public func isHealthy(now: Date = Date(), tick: TimeInterval) -> Bool {
        inner.withLock { state in
            if let since = state.runningSince { return now.timeIntervalSince(since) < state.configuration.serve.runTimeout }
            return now.timeIntervalSince(state.heartbeat) < max(5, tick * 5)
        }
    }

    /// The HR read of the last scheduled run, which live changes are planned with.
    public var hrRead: HRReadResult? {
        get { inner.withLock { $0.hrRead } }
        set { inner.withLock { $0.hrRead = newValue } }
    }

    /// Each live listener's state (connecting, refreshing, live, waiting to reconnect: reason).
    public func setListener(_ directory: String, _ text: String) { inner.withLock { $0.listeners[directory] = text } }
    public var listeners: [String: String] { inner.withLock { $0.listeners } }

    public func notReadyReason() -> String? {
        inner.withLock { state in
            if !state.storeOpen { return "the store is not open" }
            if !state.schedulerStarted { return "the scheduler has not started" }
            return nil
        }
    }

    /// The last run first (STATUS= and /readyz start with it), then the last and next run of each
    /// kind, then each live listener.
    public func lastRunSummary() -> String {
        let (last, byKind, next) = inner.withLock { ($0.lastRun, $0.lastByKind, $0.nextDue) }
        var lines = [last.map { "last run: " + Self.describe($0) } ?? "no run yet"]
        let time = ISO8601DateFormatter()
        for kind in [RunKind.full, .delta, .manual] {
            if let run = byKind[kind] { lines.append("last \(kind.rawValue) run: " + Self.describe(run)) }
            if let due = next[kind] { lines.append("next \(kind.rawValue) run: \(time.string(from: due))") }
        }
        if let since = inner.withLock({ $0.runningSince }) { lines.append("run in progress since \(time.string(from: since))") }
        lines += listeners.sorted { $0.key < $1.key }.map { "live listener \($0.key): \($0.value)" }
        return lines.joined(separator: "\n")
    }

    private static func describe(_ run: LastRun) -> String {
        let id = run.runID.map { "run \($0), " } ?? ""
        return "\(run.kind.rawValue) \(run.outcome) at \(ISO8601DateFormatter().string(from: run.finishedAt)) (\(id)\(run.events) events)"
            + (run.detail.map { ": \($0)" } ?? "")
    }
}
