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
    /// The events this run wrote, by CloudEvents type (for /metrics without reading the store back).
    public var eventsByType: [String: Int] = [:]
    public var summary: RunSummary
    public var report: RunReport
    /// How each directory was read (full or delta) and how many accounts it holds.
    public var directories: [DirectoryRun] = []
    /// Seconds spent in each phase (read_hr, read_directory, load_state, plan, apply).
    public var phaseSeconds: [String: Double] = [:]
    /// The process's peak resident set (MiB) when each phase ended: where a run's memory goes.
    public var phasePeakMegabytes: [String: Double] = [:]
    /// What the mass-change guard counted, and why it tripped.
    public var guardVerdict: GuardVerdict?
    /// Set when the guard stopped the whole run (a first run waiting for approval): the
    /// quarantined run (new, or the same plan still pending).
    public var quarantinedRun: Int64?
    /// Decisions the guard held back in this run (new, or still pending from an earlier run);
    /// everything else was applied.
    public var held = 0
    /// Of those, the ones held for the first time (announced by this run's `run.quarantined`).
    public var newlyHeld = 0
    /// An approval of held decisions: those applied now, and those dropped as no longer true.
    public var approvedHeld: [HeldDecision] = []
    public var droppedHeld: [HeldDecision] = []
    /// Who carried the run out when an operator asked for it: this process, or the running daemon.
    public var via: String?
}

/// Stored with every run: the rows that were rejected and the persons with several candidate accounts.
public struct RunReport: Sendable, Codable {
    /// What the HR read put in a report of its own (it runs alongside the directory reads).
    mutating func takeHR(from other: RunReport) {
        rejectedRows = other.rejectedRows
        warnings = other.warnings
        personsBySource = other.personsBySource
        badRowsSkipped = other.badRowsSkipped
    }

    public var rejectedRows: [RejectedRow] = []
    public var badRowsSkipped = false
    /// Persons used whose data looks wrong (own manager, manager cycles, unknown managers).
    public var warnings: [RowWarning] = []
    /// Persons read per HR source, after rejections.
    public var personsBySource: [String: Int] = [:]
    public var ambiguous: [AmbiguousMatch] = []

    enum CodingKeys: String, CodingKey {
        case rejectedRows = "rejected_rows"
        case badRowsSkipped = "bad_rows_skipped"
        case personsBySource = "persons_by_source"
        case ambiguous, warnings
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
    /// The daemon's cache of HR files: an unchanged file is not parsed again.
    public var hrFiles: HRReadCache?
    /// Told as each phase starts and ends, and as directory pages arrive (a terminal's progress line).
    public var progress: (@Sendable (RunProgress) -> Void)?
    /// The operator who asked for this run through the admin socket: the run's actor, and an
    /// `admin.reconcile` entry opens its audit.
    public var requestedBy: String?
    /// The daemon's kept state (live changes keep it between changes): a run starts from it
    /// instead of loading the store's when it is still the store's, and leaves its own result there.
    public var keptState: LiveState?

    public init(configuration: ResolvedConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// An operator's approval of a quarantined run: applied only if a new plan is the same plan.
    public struct Approval: Sendable {
        public var runID: Int64
        public var actor: String
        public var reason: String?

        public init(runID: Int64, actor: String, reason: String?) {
            self.runID = runID
            self.actor = actor
            self.reason = reason
        }
    }

    /// Everything a run read and decided before writing anything: what `plan` and `explain` show.
    public struct Prepared: Sendable {
        public var started: Date
        public var today: Day
        public var hr: HRReadResult
        public var state: StoredState
        public var directories: [DirectoryInput]
        public var directoryRuns: [DirectoryRun]
        public var entitlements: EntitlementInput?
        public var plan: Plan
        public var verdict: GuardVerdict
        public var report: RunReport
    }

    /// Reads HR and every directory and plans, writing nothing.
    public func prepare(forceFull: Bool = false, initial: Bool = false) async throws -> Prepared {
        let store = try Store.open(path: configuration.storePath, create: false)
        var report = RunReport()
        var phases = PhaseTimer(progress: progress)
        return try await prepare(store: store, started: now(), forceFull: forceFull, initial: initial, report: &report, phases: &phases)
    }

    private func prepare(store: Store, started: Date, forceFull: Bool, initial: Bool = false, report: inout RunReport,
                         phases: inout PhaseTimer) async throws -> Prepared {
        // The three reads overlap: HR is parsed and the stored state loads while the directories
        // answer (only a delta waits for the state). An HR failure is still the one reported first.
        let progress = phases.progress
        async let hrRead = PhaseTimer.timed("read_hr", progress: progress, count: { $0.result.records.count }) {
            var hrReport = RunReport()
            return (result: try await self.readHR(report: &hrReport), report: hrReport)
        }
        let kept = keptState
        let stateLoad = Task {
            try await PhaseTimer.timed("load_state", progress: progress) { try kept?.take(store: store).state ?? store.loadState() }
        }
        defer { stateLoad.cancel() }
        let directoryReads: Result<[(input: DirectoryInput, run: DirectoryRun)], any Error>
        do {
            directoryReads = .success(try await phases.measure("read_directory", count: { $0.reduce(0) { $0 + $1.run.entries } }) {
                try await readDirectories(store: store, state: { try await stateLoad.value.value }, forceFull: forceFull, now: started)
            })
        } catch {
            directoryReads = .failure(error)
        }
        let hrOutcome: (result: HRReadResult, report: RunReport)
        do {
            let (outcome, hrSeconds) = try await hrRead
            phases.record("read_hr", seconds: hrSeconds)
            hrOutcome = outcome
        } catch let failure as ReconcileFailure {
            if let failed = failure.report { report.takeHR(from: failed) }  // a failed run's report names the bad records
            throw failure
        }
        let hr = hrOutcome.result
        report.takeHR(from: hrOutcome.report)
        let (state, stateSeconds) = try await stateLoad.value
        phases.record("load_state", seconds: stateSeconds)
        let reads = try directoryReads.get()
        let today = ReconcileJob.day(of: started, in: configuration.timeZone)
        let entitlements = try await phases.measure("read_groups") { try await readEntitlementGroups() }
        let reconciler = try self.reconciler(report: report)
        let clock = self.clock(at: started)
        var plan = try phases.measure("plan") {
            try reconciler.plan(records: hr.records, directories: reads.map(\.input), state: state, today: today, entitlements: entitlements,
                                unusable: hr.unusableIDs, clock: clock)
        }
        plan.summary.rejectedRows = hr.rejected.count
        report.ambiguous = plan.ambiguities
        let firstRun = state.version == 0 && !initial && configuration.guardPolicy.firstRun == .quarantine
        let verdict = try self.verdict(plan, state: state, report: report, directories: reads.map(\.run), store: store,
                                       firstRun: firstRun, skip: state.version == 0 && !firstRun)
        return Prepared(started: started, today: today, hr: hr, state: state, directories: reads.map(\.input), directoryRuns: reads.map(\.run),
                        entitlements: entitlements, plan: plan, verdict: verdict, report: report)
    }

    /// The planner as configured, with the tombstones' key read now.
    func reconciler(report: RunReport) throws -> Reconciler {
        var pseudonym: (@Sendable (String) -> String)?
        if let pseudonymiser = try tombstoneKey(report: report) { pseudonym = { pseudonymiser.pseudonym(of: $0) } }
        var reconciler = Reconciler(policy: configuration.lifecycle, conversion: configuration.conversion, missing: configuration.missing,
                                    pseudonym: pseudonym)
        reconciler.disableWithinHours = configuration.disableWithinHours
        return reconciler
    }

    /// The run's clock: the day and instant in the organisation's zone.
    func clock(at started: Date) -> RunClock {
        RunClock(today: Self.day(of: started, in: configuration.timeZone), now: Int64(started.timeIntervalSince1970.rounded(.down)),
                 utcOffset: configuration.timeZone.secondsFromGMT(for: started))
    }

    /// The guard's verdict. `firstRun`: the store's first run waits for approval as a whole;
    /// `skip`: a first run applied as planned (`--initial`, `guard.first_run: apply`).
    private func verdict(_ plan: Plan, state: StoredState, report: RunReport, directories: [DirectoryRun], store: Store,
                         firstRun: Bool = false, skip: Bool = false) throws -> GuardVerdict {
        guard !skip else { return GuardVerdict() }
        let sizes = try store.lastSizes()
        return MassChangeGuard.check(
            plan, state: state, policy: configuration.guardPolicy,
            sources: report.personsBySource.sorted { $0.key < $1.key }.map { ($0.key, $0.value, sizes.sources[$0.key]) },
            directories: directories.map { ($0.directory, $0.entries, sizes.directories[$0.directory]) }, firstRun: firstRun)
    }

    /// Reconcile one person now (`reconcile --identity`): the whole inputs are read, but only that
    /// person's part of the plan is applied; the directories' delta checkpoints stay where they were.
    public struct OnePerson: Sendable {
        public var employeeID: String
        public var actor: String

        public init(employeeID: String, actor: String) {
            self.employeeID = employeeID
            self.actor = actor
        }
    }

    /// - Parameters:
    ///   - forceFull: read every directory whole even when a delta would do.
    ///   - approving: read and plan as usual, then apply the quarantined run's stored plan, past
    ///     the guard, if the new plan is the same; otherwise apply nothing.
    ///   - only: apply only this person's part of the plan.
    ///   - initial: apply the store's first run as planned instead of waiting for approval.
    ///   - lockWait: how long to wait for another run holding the run lock (`RunLockBusy` then).
    ///   - onRead: given the HR read once it is complete (the daemon keeps it for live changes).
    public func run(dryRun: Bool, forceFull: Bool = false, approving: Approval? = nil, only: OnePerson? = nil,
                    initial: Bool = false, lockWait: Duration = .zero,
                    onRead: (@Sendable (HRReadResult) -> Void)? = nil) async throws -> ReconcileOutcome {
        // Runs never overlap: the lock is taken before anything is read, and a busy store records
        // no failed run (it is not a failure of this run's inputs).
        let lock = dryRun ? nil : try RunLock.acquire(storePath: configuration.storePath, wait: lockWait)
        defer { lock?.release() }
        let started = now()
        let store = try Store.open(path: configuration.storePath, create: !dryRun)
        // A run has serve.run_timeout_minutes to read and plan; past it, it fails with that
        // reason and writes nothing (a late read that still comes back is not applied).
        let gate = RunGate()
        let timeout = configuration.serve.runTimeout
        // A run already writing when the deadline comes is let finish (one transaction, the run
        // lock still held): the gate decides once between the two.
        let outcome = try await Deadline.race(seconds: timeout, mayExpire: { gate.timeOut() }) {
            try await self.runLocked(store: store, started: started, gate: gate, dryRun: dryRun, forceFull: forceFull,
                                     approving: approving, only: only, initial: initial, onRead: onRead)
        }
        if let outcome { return outcome }
        let minutes = timeout / 60
        let reason = "the run passed serve.run_timeout_minutes (\(minutes < 1 ? String(format: "%.2f", minutes) : String(Int(minutes))) min) "
            + "before it had read and planned everything: stopped, nothing was applied"
        logger.error("run stopped at its deadline", metadata: ["run.error": "\(reason)"])
        if !dryRun && approving == nil {
            do {
                try store.recordFailedRun(startedAt: started, finishedAt: now(), error: reason, report: RunReport().json())
            } catch {
                logger.error("could not record the failed run", metadata: ["store.error": "\(error)"])
            }
        }
        throw ReconcileFailure(reason: reason, report: RunReport())
    }

    private func runLocked(store: Store, started: Date, gate: RunGate, dryRun: Bool, forceFull: Bool, approving: Approval?, only: OnePerson?,
                           initial: Bool, onRead: (@Sendable (HRReadResult) -> Void)?) async throws -> ReconcileOutcome {
        var report = RunReport()
        var phases = PhaseTimer(progress: progress)
        do {
            var prepared = try await prepare(store: store, started: started, forceFull: forceFull, initial: initial || approving != nil,
                                             report: &report, phases: &phases)
            onRead?(prepared.hr)
            var plan = prepared.plan
            let state = prepared.state
            // The one reference to the state from here: kept in the daemon, it is updated in place
            // (a second reference would copy a million persons' tables).
            prepared.state = StoredState()
            var verdict = prepared.verdict
            var directoryRuns = prepared.directoryRuns
            if let only {
                let employeeID = (try? state.person(named: only.employeeID))?.employeeID ?? only.employeeID
                guard state.persons[employeeID] != nil || prepared.hr.records.contains(where: { $0.employeeID == employeeID }) else {
                    throw AdminActionFailure("no person \(only.employeeID) is stored or in the HR read")
                }
                plan = plan.restricted(to: employeeID, state: state)
                verdict = try self.verdict(plan, state: state, report: report, directories: [], store: store,
                                           firstRun: prepared.verdict.firstRun, skip: state.version == 0 && !prepared.verdict.firstRun)
                directoryRuns = []
            }
            // The guard holds back only what it guards; the rest of the plan applies.
            var held: [HeldDecision] = []
            if approving == nil && !verdict.firstRun {
                held = Self.decisionsToHold(plan, verdict: verdict, state: state)
                if !held.isEmpty { plan = Self.withoutHeld(plan, held, state: state) }
            }
            var outcome = ReconcileOutcome(dryRun: dryRun, summary: plan.summary, report: report)
            outcome.directories = prepared.directoryRuns.map { var run = $0; run.cookie = nil; return run }
            outcome.guardVerdict = verdict
            outcome.held = held.count
            guard !dryRun else {
                outcome.phaseSeconds = phases.seconds
                outcome.phasePeakMegabytes = phases.peakMegabytes
                return outcome
            }
            // From here the run writes: unless its deadline has passed already.
            guard gate.beginWriting() else { throw CancellationError() }
            var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: report.json(),
                                 directories: directoryRuns)
            stamp.basedOn = state.version
            if let changed = try store.configurationChange(file: configuration.file) { stamp.audit.append(changed) }
            if let requestedBy, only == nil, approving == nil {
                stamp.actor = requestedBy
                let detail = JSONValue.object(["full": .bool(forceFull), "initial": .bool(initial)])
                stamp.audit.insert(AuditDraft(action: "admin.reconcile", subject: "reconcile", detail: detail), at: 0)
            }
            if let only {
                stamp.actor = only.actor
                stamp.audit.insert(AuditDraft(action: "admin.reconcile_identity", subject: only.employeeID, hrID: only.employeeID, detail: .object([:])), at: 0)
            }
            if let approving {
                var detail: [String: JSONValue] = ["reason": JSONValue(approving.reason)]
                if try store.quarantined(approving.runID) != nil {
                    plan = try approvedPlan(approving, newPlan: plan, store: store)
                    stamp.approves = approving.runID
                } else {
                    let (approved, applied, dropped) = try approvedHeld(approving, todays: plan, state: state, store: store)
                    plan = approved
                    stamp.approvesHeld = (approving.runID, applied, dropped)
                    stamp.directories = []  // a partial plan: the delta checkpoints stay where they were
                    outcome.approvedHeld = applied
                    outcome.droppedHeld = dropped
                    detail["applied"] = .array(applied.map { .string("\($0.kind.rawValue) \($0.subject)") })
                    detail["dropped"] = .array(dropped.map { .string("\($0.kind.rawValue) \($0.subject)") })
                }
                stamp.actor = approving.actor
                stamp.audit.insert(AuditDraft(action: "admin.approve", subject: "run \(approving.runID)", detail: .object(detail)), at: 0)
                outcome.summary = plan.summary
            } else if verdict.firstRun {
                return try quarantine(plan, verdict: verdict, stamp: stamp, store: store, outcome: outcome, phases: phases)
            }
            stamp.held = held
            if !held.isEmpty { stamp.heldVerdict = Self.verdictData(verdict, plan: prepared.plan) }
            let applied = try phases.measure("apply") { try store.apply(plan, stamp: stamp) }
            outcome.phaseSeconds = phases.seconds
            outcome.phasePeakMegabytes = phases.peakMegabytes
            outcome.runID = applied.runID
            outcome.firstSeq = applied.firstSeq
            outcome.lastSeq = applied.lastSeq
            outcome.eventsByType = Self.eventsByType(plan, newlyHeld: applied.newlyHeld)
            outcome.newlyHeld = applied.newlyHeld
            logger.info("run applied", metadata: ["run.id": "\(applied.runID)", "run.events": "\(plan.events.count)"])
            AuditHeadRecord.write(store: store, runID: applied.runID, configuration: configuration, logger: logger, at: now())
            // Retention: events past `events.retention_days` leave the outbox (its own transaction:
            // the run stands whether or not this succeeds).
            do {
                let pruned = try store.pruneOutbox(retentionDays: configuration.eventRetentionDays, now: now())
                if pruned > 0 {
                    logger.info("events past retention removed from the outbox", metadata: [
                        "outbox.pruned": "\(pruned)", "events.retention_days": "\(configuration.eventRetentionDays)"])
                }
            } catch {
                logger.error("could not remove events past retention", metadata: ["store.error": "\(ReconcileJob.oneLine(error))"])
            }
            escalateReviews(store: store)
            // The daemon keeps the state this run left (what the store now holds) for the next
            // live change or run, instead of loading it again: unless decisions are held (the
            // store keeps them with details the plan does not carry), ids changed (conversions,
            // purges), or only part of the plan was applied.
            if let kept = keptState, held.isEmpty, state.held.isEmpty, approving == nil, only == nil,
               plan.personRenames.isEmpty, plan.personPurges.isEmpty {
                var next = consume state
                next.apply(plan)
                next.version = applied.runID
                do {
                    kept.keep(next, generation: try store.auditGeneration())
                } catch {
                    logger.warning("could not keep the stored state", metadata: ["store.error": "\(ReconcileJob.oneLine(error))"])
                }
            }
            if !held.isEmpty {
                logger.warning("decisions held back by the mass-change guard", metadata: [
                    "run.id": "\(applied.runID)", "guard.held": "\(held.count)", "guard.newly_held": "\(applied.newlyHeld)",
                    "guard.reasons": "\(verdict.reasons.joined(separator: "; "))"])
            }
            return outcome
        } catch {
            // Past the deadline the run's failure was recorded already, with that reason.
            if gate.timedOut { throw error }
            let reason = ReconcileJob.oneLine(error)
            // notice, not error: the caller reports the failure itself (the CLI as its one-line exit message).
            logger.notice("run failed", metadata: ["run.error": "\(reason)"])
            if !dryRun && approving == nil {
                do {
                    try store.recordFailedRun(startedAt: started, finishedAt: now(), error: reason, report: report.json())
                } catch {
                    logger.error("could not record the failed run", metadata: ["store.error": "\(error)"])
                }
            }
            throw ReconcileFailure(reason: reason, report: report)
        }
    }

    /// The events a plan wrote, by type, and the `run.quarantined` of decisions newly held.
    static func eventsByType(_ plan: Plan, newlyHeld: Int) -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in plan.events { counts[event.kind.cloudEventType, default: 0] += 1 }
        if newlyHeld > 0 { counts[EventKind.quarantined.cloudEventType, default: 0] += 1 }
        return counts
    }

    /// The calendar day of an instant in the organisation's time zone (`lifecycle.time_zone`): a
    /// run at 19:00 in New York acts on New York's date, not on tomorrow's UTC date.
    public static func day(of instant: Date, in zone: TimeZone) -> Day {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        return Day(epochSeconds: seconds + Int64(zone.secondsFromGMT(for: instant)))
    }

    public static func oneLine(_ error: any Error) -> String {
        String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

extension ReconcileJob {
    /// Access review items past their campaign's due day and undecided: `review.escalated`, once
    /// each (a run of its own; a failure is logged and the reconcile stands).
    public func escalateReviews(store: Store) {
        do {
            let today = ReconcileJob.day(of: now(), in: configuration.timeZone)
            if let applied = try store.escalateReviews(today: today, eventSource: configuration.eventSource, at: now()) {
                logger.notice("review items past their due day escalated", metadata: [
                    "run.id": "\(applied.runID)", "review.escalated": "\((applied.lastSeq ?? 0) - (applied.firstSeq ?? 1) + 1)"])
                AuditHeadRecord.write(store: store, runID: applied.runID, configuration: configuration, logger: logger, at: now())
            }
        } catch {
            logger.error("could not escalate overdue review items", metadata: ["store.error": "\(ReconcileJob.oneLine(error))"])
        }
    }
}
