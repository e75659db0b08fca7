import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallHR
import RollcallStore

/// What a run reports: the summary, where it landed, and the report of rejected rows.
public struct ReconcileOutcome: Sendable, Codable {
    public var dryRun: Bool
    public var runID: Int64?
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    public var summary: RunSummary
    public var report: RunReport
    /// How the directory was read: full or delta.
    public var directoryRead = "full"
    /// Seconds spent in each phase (read_hr, read_directory, load_state, plan, apply).
    public var phaseSeconds: [String: Double] = [:]
}

/// Stored with every run: the rows that were rejected and the persons with several candidate accounts.
public struct RunReport: Sendable, Codable {
    public var rejectedRows: [RejectedRow] = []
    public var badRowsSkipped = false
    public var ambiguous: [String: [String]] = [:]

    enum CodingKeys: String, CodingKey {
        case rejectedRows = "rejected_rows"
        case badRowsSkipped = "bad_rows_skipped"
        case ambiguous
    }

    func json() -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A run that stopped without applying anything, with a one-line reason.
public struct ReconcileFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var report: RunReport?

    public var description: String { reason }
}

/// One reconcile: read HR, read the directory, plan in Core, apply in one store transaction.
///
/// Reads happen before the store is written, so a failed or partial read applies nothing.
public struct ReconcileJob: Sendable {
    public var configuration: ResolvedConfiguration
    public var logger: Logger
    /// The clock. Tests set it; production uses the system time.
    public var now: @Sendable () -> Date

    public init(configuration: ResolvedConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// - Parameter forceFull: read the whole directory even when a delta would do.
    public func run(dryRun: Bool, forceFull: Bool = false) async throws -> ReconcileOutcome {
        let started = now()
        let store = try Store.open(path: configuration.storePath)
        var report = RunReport()
        var phases = PhaseTimer()
        do {
            let hr = try phases.measure("read_hr") { try readHR(report: &report) }
            let state = try phases.measure("load_state") { try store.loadState() }
            let read = try await phases.measure("read_directory") {
                try await readDirectory(store: store, state: state, forceFull: forceFull, now: started)
            }
            let accounts = read.accounts
            let today = Day(epochSeconds: Int64(started.timeIntervalSince1970.rounded(.down)))
            var plan = try phases.measure("plan") {
                try Reconciler(key: configuration.correlation).plan(records: hr.records, accounts: accounts, state: state, today: today)
            }
            plan.summary.rejectedRows = hr.rejected.count
            report.ambiguous = plan.ambiguities
            var outcome = ReconcileOutcome(dryRun: dryRun, summary: plan.summary, report: report)
            outcome.directoryRead = read.kind
            guard !dryRun else {
                outcome.phaseSeconds = phases.seconds
                return outcome
            }
            var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: report.json(),
                                 directoryRead: read.kind, directoryCookie: read.cookie)
            stamp.basedOn = state.version
            let applied = try phases.measure("apply") { try store.apply(plan, stamp: stamp) }
            outcome.phaseSeconds = phases.seconds
            outcome.runID = applied.runID
            outcome.firstSeq = applied.firstSeq
            outcome.lastSeq = applied.lastSeq
            logger.info("run applied", metadata: ["run.id": "\(applied.runID)", "run.events": "\(plan.events.count)"])
            return outcome
        } catch {
            let reason = ReconcileJob.oneLine(error)
            // notice, not error: the caller reports the failure itself (the CLI as its one-line exit message).
            logger.notice("run failed", metadata: ["run.error": "\(reason)"])
            if !dryRun {
                do {
                    try store.recordFailedRun(startedAt: started, finishedAt: now(), error: reason, report: report.json())
                } catch {
                    logger.error("could not record the failed run", metadata: ["store.error": "\(error)"])
                }
            }
            throw ReconcileFailure(reason: reason, report: report)
        }
    }

    private func readHR(report: inout RunReport) throws -> HRReadResult {
        let result = try CSVSource(settings: configuration.csv).read()
        report.rejectedRows = result.rejected
        if !result.rejected.isEmpty {
            guard configuration.skipBadRows else {
                let first = result.rejected.prefix(3).map(\.description).joined(separator: "; ")
                let more = result.rejected.count > 3 ? " (and \(result.rejected.count - 3) more)" : ""
                throw ReconcileFailure(reason: "\(result.rejected.count) bad HR rows, nothing applied (hr.csv.on_bad_rows is stop): \(first)\(more)")
            }
            report.badRowsSkipped = true
            logger.warning("bad HR rows skipped", metadata: ["hr.rejected": "\(result.rejected.count)"])
        }
        return result
    }

    /// The accounts as a complete read would return them, how they were read, and the cookie to keep.
    private func readDirectory(store: Store, state: StoredState, forceFull: Bool,
                               now: Date) async throws -> (accounts: [DirectoryAccount], kind: String, cookie: [UInt8]?) {
        var settings = configuration.ldap
        if let file = configuration.bindPasswordFile {
            settings.bindPassword = try PasswordFile.read(file)
        }
        let reader = DirectoryReader(settings: settings, request: configuration.search, mapping: configuration.mapping,
                                     retry: configuration.retry)
        switch configuration.delta {
        case .none:
            return (try await reader.readAccounts(logger: logger), "full", nil)
        case .syncrepl:
            let checkpoint = try store.directoryCheckpoint()
            let fullDue = forceFull || checkpoint.cookie == nil
                || checkpoint.lastFullRead.map { now.timeIntervalSince($0) >= configuration.fullReadInterval } ?? true
            let read = try await reader.syncRead(cookie: fullDue ? nil : checkpoint.cookie, logger: logger)
            if read.isFull { return (read.changed, "full", read.cookie) }
            let accounts = DirectoryDelta.apply(stored: state.accounts, changed: read.changed, deleted: read.deleted,
                                                present: read.present)
            return (accounts, "delta", read.cookie)
        case .dirsync, .usn:
            return try await readActiveDirectory(reader: reader, store: store, state: state, forceFull: forceFull, now: now)
        }
    }

    /// Active Directory deltas: DirSync (the cookie is DirSync's) or uSNChanged (the cookie is the
    /// JSON of a `USNCheckpoint`). A delta only names what changed; the changed accounts are read whole.
    private func readActiveDirectory(reader: DirectoryReader, store: Store, state: StoredState, forceFull: Bool,
                                     now: Date) async throws -> (accounts: [DirectoryAccount], kind: String, cookie: [UInt8]?) {
        let root = configuration.domainRoot
        let checkpoint = try store.directoryCheckpoint()
        let fullDue = forceFull || checkpoint.cookie == nil
            || checkpoint.lastFullRead.map { now.timeIntervalSince($0) >= configuration.fullReadInterval } ?? true
        if configuration.delta == .dirsync {
            if !fullDue, let cookie = checkpoint.cookie {
                let delta = try await reader.dirSyncDelta(domainRoot: root, cookie: cookie, logger: logger)
                let accounts = DirectoryDelta.apply(stored: state.accounts, changed: delta.changed, deleted: delta.gone, present: nil)
                return (accounts, "delta", delta.cookie)
            }
            let full = try await reader.dirSyncFull(domainRoot: root, logger: logger)
            return (full.accounts, "full", full.cookie)
        }
        if !fullDue, let cookie = checkpoint.cookie, let since = try? JSONDecoder().decode(USNCheckpoint.self, from: Data(cookie)),
           let delta = try await reader.usnDelta(domainRoot: root, since: since, logger: logger) {
            let accounts = DirectoryDelta.apply(stored: state.accounts, changed: delta.changed, deleted: delta.gone, present: nil)
            return (accounts, "delta", Array(try JSONEncoder().encode(delta.checkpoint)))
        }
        // Checkpoint first: whatever commits during the full read is in the next window.
        let start = try await reader.usnCheckpoint(logger: logger)
        let accounts = try await reader.readAccounts(logger: logger)
        return (accounts, "full", Array(try JSONEncoder().encode(start)))
    }

    static func oneLine(_ error: any Error) -> String {
        String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

/// Wall-clock seconds per phase of a run, reported with the outcome so an operator sees where time goes.
struct PhaseTimer {
    private(set) var seconds: [String: Double] = [:]

    mutating func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { record(name, start) }
        return try body()
    }

    mutating func measure<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { record(name, start) }
        return try await body()
    }

    private mutating func record(_ name: String, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        seconds[name] = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// Reads a secret from a file: the bytes up to a trailing newline. The content never appears in errors.
enum PasswordFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, key: "directory.bind_password_file", reason: "cannot be read")
        }
        var bytes = Array(data)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else {
            throw ConfigurationError(file: path, key: "directory.bind_password_file", reason: "is empty")
        }
        return bytes
    }
}
