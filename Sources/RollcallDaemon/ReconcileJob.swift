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
    /// How each directory was read (full or delta) and how many accounts it holds.
    public var directories: [DirectoryRun] = []
    /// Seconds spent in each phase (read_hr, read_directory, load_state, plan, apply).
    public var phaseSeconds: [String: Double] = [:]
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
}

/// Stored with every run: the rows that were rejected and the persons with several candidate accounts.
public struct RunReport: Sendable, Codable {
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
        let store = try Store.open(path: configuration.storePath)
        var report = RunReport()
        var phases = PhaseTimer()
        return try await prepare(store: store, started: now(), forceFull: forceFull, initial: initial, report: &report, phases: &phases)
    }

    private func prepare(store: Store, started: Date, forceFull: Bool, initial: Bool = false, report: inout RunReport,
                         phases: inout PhaseTimer) async throws -> Prepared {
        let hr = try await phases.measure("read_hr") { try await readHR(report: &report) }
        let state = try phases.measure("load_state") { try store.loadState() }
        let reads = try await phases.measure("read_directory") {
            try await readDirectories(store: store, state: state, forceFull: forceFull, now: started)
        }
        let today = ReconcileJob.day(of: started, in: configuration.timeZone)
        let entitlements = try await phases.measure("read_groups") { try await readEntitlementGroups() }
        let pseudonymiser = try tombstoneKey(report: report)
        var pseudonym: (@Sendable (String) -> String)?
        if let pseudonymiser { pseudonym = { pseudonymiser.pseudonym(of: $0) } }
        var reconciler = Reconciler(policy: configuration.lifecycle, conversion: configuration.conversion, missing: configuration.missing,
                                    pseudonym: pseudonym)
        reconciler.disableWithinHours = configuration.disableWithinHours
        let clock = RunClock(today: today, now: Int64(started.timeIntervalSince1970.rounded(.down)),
                             utcOffset: configuration.timeZone.secondsFromGMT(for: started))
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

    /// The decisions this plan must hold back: those of the classes whose thresholds tripped, and
    /// any guarded decision about a person or account that already has one pending (it waits for
    /// its approval whatever today's counts say).
    static func decisionsToHold(_ plan: Plan, verdict: GuardVerdict, state: StoredState) -> [HeldDecision] {
        var hold = plan.guardedDecisions(in: verdict.held)
        guard !state.held.isEmpty else { return hold }
        let pending = Set(state.held.map { HeldKey($0) })
        let chosen = Set(hold)
        hold += plan.guardedDecisions(in: Set(GuardedClass.allCases)).filter { pending.contains(HeldKey($0)) && !chosen.contains($0) }
        return hold
    }

    /// A held decision's person, or account.
    struct HeldKey: Hashable {
        var subject: String
        var directory: String?
        init(_ decision: HeldDecision) {
            subject = decision.subject
            directory = decision.directory
        }
    }

    /// This plan without the persons and accounts whose decisions are held.
    static func withoutHeld(_ plan: Plan, _ held: [HeldDecision], state: StoredState) -> Plan {
        plan.excluding(persons: Set(held.filter { $0.directory == nil }.map(\.subject)),
                       accounts: Set(held.compactMap { d in d.directory.map { AccountKey(directory: $0, anchor: d.subject) } }), state: state)
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
        let store = try Store.open(path: configuration.storePath)
        var report = RunReport()
        var phases = PhaseTimer()
        do {
            let prepared = try await prepare(store: store, started: started, forceFull: forceFull, initial: initial || approving != nil,
                                             report: &report, phases: &phases)
            onRead?(prepared.hr)
            var plan = prepared.plan
            let state = prepared.state
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
                return outcome
            }
            var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: report.json(),
                                 directories: directoryRuns)
            stamp.basedOn = state.version
            if let changed = try store.configurationChange(file: configuration.file) { stamp.audit.append(changed) }
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
            outcome.runID = applied.runID
            outcome.firstSeq = applied.firstSeq
            outcome.lastSeq = applied.lastSeq
            outcome.newlyHeld = applied.newlyHeld
            logger.info("run applied", metadata: ["run.id": "\(applied.runID)", "run.events": "\(plan.events.count)"])
            if !held.isEmpty {
                logger.warning("decisions held back by the mass-change guard", metadata: [
                    "run.id": "\(applied.runID)", "guard.held": "\(held.count)", "guard.newly_held": "\(applied.newlyHeld)",
                    "guard.reasons": "\(verdict.reasons.joined(separator: "; "))"])
            }
            return outcome
        } catch {
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

    /// Stores a plan the guard stopped (once: the same plan still pending is not stored again).
    private func quarantine(_ plan: Plan, verdict: GuardVerdict, stamp: RunStamp, store: Store, outcome: ReconcileOutcome,
                            phases: PhaseTimer) throws -> ReconcileOutcome {
        var outcome = outcome
        outcome.phaseSeconds = phases.seconds
        if let pending = try store.pendingQuarantine(digest: Store.digest(plan)) {
            outcome.quarantinedRun = pending
            logger.warning("run still quarantined", metadata: ["run.id": "\(pending)", "guard.reasons": "\(verdict.reasons.joined(separator: "; "))"])
            return outcome
        }
        let stored = try store.quarantine(plan, stamp: stamp, verdict: Self.verdictData(verdict, plan: plan))
        outcome.quarantinedRun = stored.runID
        outcome.firstSeq = stored.firstSeq
        outcome.lastSeq = stored.lastSeq
        logger.warning("run quarantined: nothing applied", metadata: ["run.id": "\(stored.runID)", "guard.reasons": "\(verdict.reasons.joined(separator: "; "))"])
        return outcome
    }

    /// What the guard saw, for the `run.quarantined` event (the store adds the run, what was held
    /// and how to decide): the same keys whether the whole run waits or only some decisions.
    static func verdictData(_ verdict: GuardVerdict, plan: Plan) -> JSONValue {
        .object([
            "reasons": .array(verdict.reasons.map(JSONValue.string)),
            "first_run": .bool(verdict.firstRun),
            "deprovisions": .int(verdict.deprovisions),
            "actions": .object(verdict.actions.mapValues { .int($0) }),
            "joiners": .int(verdict.joiners),
            "linked": .int(verdict.linked),
            "matched": .int(plan.summary.matched),
            "orphans": .int(plan.summary.orphans),
            "events_planned": .int(plan.events.count),
        ])
    }

    /// The stored plan of a pending quarantined run, if `newPlan` (made from today's inputs) is the same plan.
    private func approvedPlan(_ approval: Approval, newPlan: Plan, store: Store) throws -> Plan {
        guard let quarantined = try store.quarantined(approval.runID) else {
            throw AdminActionFailure("run \(approval.runID) was not quarantined")
        }
        guard quarantined.status == "pending" else {
            throw AdminActionFailure("run \(approval.runID) was already \(quarantined.status)")
        }
        guard try Store.digest(newPlan) == quarantined.digest else {
            try store.recordAdminAction([AuditDraft(action: "admin.approve.refused", subject: "run \(approval.runID)",
                                                    detail: .object(["reason": JSONValue(approval.reason),
                                                                     "why": "the inputs changed: a new plan differs from the quarantined one"]))],
                                        by: approval.actor, runID: approval.runID, at: now())
            throw AdminActionFailure("the inputs changed since run \(approval.runID) was quarantined (a new plan differs from it); nothing was applied: reject it, and reconcile for a new plan")
        }
        return quarantined.plan
    }

    /// An approval of held decisions: today's plan restricted to the persons and accounts whose
    /// held decision is still in it (re-checked against today's read), and the decisions that
    /// are no longer true (dropped).
    private func approvedHeld(_ approval: Approval, todays plan: Plan, state: StoredState,
                              store: Store) throws -> (Plan, [HeldDecision], [HeldDecision]) {
        let pending = try store.heldDecisions(run: approval.runID, pendingOnly: true).map(\.decision)
        guard !pending.isEmpty else {
            let any = try store.heldDecisions(run: approval.runID)
            throw AdminActionFailure(any.isEmpty ? "run \(approval.runID) was not quarantined and holds no decisions"
                                                 : "run \(approval.runID) holds no pending decisions (they were approved, rejected or dropped)")
        }
        // Today's events by (kind, subject): each held decision is looked up, not searched for.
        var planned: [String: [EventDraft]] = [:]
        for event in plan.events { planned["\(event.kind.rawValue) \(event.subject)", default: []].append(event) }
        func stillPlanned(_ decision: HeldDecision) -> Bool {
            planned["\(decision.kind.rawValue) \(decision.subject)"]?.contains(where: decision.matches) == true
        }
        let applied = pending.filter(stillPlanned)
        let dropped = pending.filter { !stillPlanned($0) }
        let persons = Set(applied.filter { $0.directory == nil }.map(\.subject))
        let accounts = Set(applied.compactMap { d in d.directory.map { AccountKey(directory: $0, anchor: d.subject) } })
        var approved = plan.restricted(to: persons, accounts: accounts, state: state)
        // Other guarded decisions of the same persons that are pending too are decided with them.
        let chosen = Set(applied)
        let approvedKeys = Set(approved.events.map { "\($0.kind.rawValue) \($0.subject)" })
        let alsoPending = state.held.filter { held in
            !chosen.contains(held) && approvedKeys.contains("\(held.kind.rawValue) \(held.subject)") && approved.events.contains(where: held.matches)
        }
        approved.summary.events = approved.events.count
        return (approved, applied + alsoPending, dropped)
    }

    /// The tombstones' key, read each run (never logged, never in a message).
    private func tombstoneKey(report: RunReport) throws -> Pseudonymiser? {
        guard let file = configuration.tombstoneKeyFile else { return nil }
        guard let key = SecretFile.contents(file) else {
            throw ReconcileFailure(reason: "lifecycle.tombstone_key_file: \(file) cannot be read", report: report)
        }
        do {
            return try Pseudonymiser(key: key)
        } catch {
            throw ReconcileFailure(reason: "lifecycle.tombstone_key_file: \(error)", report: report)
        }
    }

    private func readHR(report: inout RunReport) async throws -> HRReadResult {
        let result = try await HRSources.read(configuration.hrSources, logger: logger)
        report.rejectedRows = result.rejected
        report.warnings = result.warnings
        report.personsBySource = result.countsBySource
        if !result.warnings.isEmpty {
            logger.warning("HR data to check (see the run report)", metadata: ["hr.warnings": "\(result.warnings.count)"])
        }
        guard !result.rejected.isEmpty else { return result }
        let skipping = Set(configuration.hrSources.filter(\.skipBadRecords).map(\.name))
        let stopping = result.rejected.filter { !skipping.contains($0.source) }
        if !stopping.isEmpty {
            let first = stopping.prefix(3).map(\.description).joined(separator: "; ")
            let more = stopping.count > 3 ? " (and \(stopping.count - 3) more)" : ""
            let sources = Set(stopping.map(\.source)).sorted().joined(separator: ", ")
            throw ReconcileFailure(reason: "\(stopping.count) bad HR records, nothing applied (on_bad_rows is stop for \(sources)): \(first)\(more)",
                                   report: report)
        }
        report.badRowsSkipped = true
        logger.warning("bad HR records skipped", metadata: ["hr.rejected": "\(result.rejected.count)"])
        return result
    }

    /// A reader for one directory, its bind password read now (a rotated password needs no
    /// restart), and a logger that names the directory.
    private func reader(for directory: ResolvedDirectory) throws -> (DirectoryReader, Logger) {
        var logger = self.logger
        logger[metadataKey: "directory"] = "\(directory.name)"
        var settings = directory.ldap
        if let file = directory.bindPasswordFile {
            settings.bindPassword = try PasswordFile.read(file, key: "\(directory.key).bind_password_file")
        }
        return (DirectoryReader(settings: settings, request: directory.search, mapping: directory.mapping, retry: directory.retry), logger)
    }

    /// The groups the entitlement rules are about, read whole from their directory.
    private func readEntitlementGroups() async throws -> EntitlementInput? {
        guard let entitlements = configuration.entitlements,
              let directory = configuration.directories.first(where: { $0.name == entitlements.policy.directory }) else { return nil }
        let (reader, logger) = try reader(for: directory)
        do {
            var groups: [DirectoryGroup] = []
            if let base = entitlements.groupsBaseDN {
                groups = try await reader.readGroups(baseDN: base, filter: entitlements.groupsFilter,
                                                     memberAttribute: entitlements.memberAttribute, logger: logger)
            }
            var privileged = entitlements.policy.privileged?.groups ?? []
            if let base = entitlements.protectedGroupsBaseDN {
                // Active Directory's protected groups live outside the managed groups' base (CN=Users, CN=Builtin).
                let found = try await reader.readGroups(baseDN: base, filter: ResolvedEntitlements.protectedGroupsFilter,
                                                        memberAttribute: entitlements.memberAttribute, logger: logger)
                let known = Set(groups.map { $0.dn.lowercased() })
                groups += found.filter { !known.contains($0.dn.lowercased()) }
                privileged += found.map(\.dn)
            }
            return EntitlementInput(policy: entitlements.policy, groups: groups, privileged: privileged)
        } catch {
            throw DirectoryReadFailure(directory: directory.name, underlying: error)
        }
    }

    /// Reads every configured directory, concurrently. Any failed read fails the run (naming the
    /// directory): a person's situation depends on all their accounts, so a run never plans from
    /// some directories only.
    private func readDirectories(store: Store, state: StoredState, forceFull: Bool,
                                 now: Date) async throws -> [(input: DirectoryInput, run: DirectoryRun)] {
        let configured = Set(configuration.directories.map(\.name))
        for (name, accounts) in state.accounts where !configured.contains(name) && !accounts.isEmpty {
            logger.warning("stored accounts of a directory that is not configured are left as they are",
                           metadata: ["directory": "\(name)", "directory.accounts": "\(accounts.count)"])
        }
        return try await withThrowingTaskGroup(of: (Int, DirectoryInput, DirectoryRun).self) { group in
            for (index, directory) in configuration.directories.enumerated() {
                let stored = state.accounts[directory.name] ?? [:]
                group.addTask {
                    do {
                        var (accounts, kind, cookie) = try await self.read(directory, store: store, stored: stored,
                                                                           forceFull: forceFull, now: now)
                        if let disabled = directory.disabledWhen.filter(at: now) {
                            let (reader, logger) = try self.reader(for: directory)
                            let anchors = try await reader.readDisabledAnchors(disabled: disabled, logger: logger)
                            for index in accounts.indices { accounts[index].enabled = !anchors.contains(accounts[index].anchor) }
                        } else if accounts.contains(where: { $0.enabled != nil }) {
                            // No rule (any more): a delta's stored accounts carry no stale state.
                            for index in accounts.indices { accounts[index].enabled = nil }
                        }
                        let fingerprint = kind == "full" && cookie == nil ? nil : Store.fingerprint(directory.searchDefinition)
                        return (index, DirectoryInput(name: directory.name, rules: directory.rules, accounts: accounts,
                                                      hrOwned: directory.hrOwned, orphanAction: directory.orphanAction,
                                                      unlinkedAction: directory.unlinkedAction, unmatchedAction: directory.unmatchedAction,
                                                      allowEmpty: directory.allowEmpty),
                                DirectoryRun(directory: directory.name, read: kind, cookie: cookie, entries: accounts.count,
                                             fingerprint: fingerprint))
                    } catch {
                        throw DirectoryReadFailure(directory: directory.name, underlying: error)
                    }
                }
            }
            var reads = [(input: DirectoryInput, run: DirectoryRun)?](repeating: nil, count: configuration.directories.count)
            for try await (index, input, run) in group { reads[index] = (input, run) }
            return reads.compactMap { $0 }
        }
    }

    /// One directory's accounts as a complete read would return them, how they were read, and the
    /// cookie to keep.
    private func read(_ directory: ResolvedDirectory, store: Store, stored: [String: StoredAccount], forceFull: Bool,
                      now: Date) async throws -> (accounts: [DirectoryAccount], kind: String, cookie: [UInt8]?) {
        let (reader, logger) = try reader(for: directory)
        guard directory.delta != .none else {
            return (try await reader.readAccounts(logger: logger), "full", nil)
        }
        let checkpoint = try store.directoryCheckpoint(directory.name)
        // A cookie continues only the search it was taken with.
        let changedSearch = checkpoint.cookie != nil && checkpoint.fingerprint != Store.fingerprint(directory.searchDefinition)
        if changedSearch {
            logger.notice("full read: the directory's search changed since its delta cookie was taken (base_dn, scope, filter, attributes, anchor or delta), or the cookie predates fingerprints",
                          metadata: ["directory": "\(directory.name)"])
        }
        let fullDue = forceFull || checkpoint.cookie == nil || changedSearch
            || checkpoint.lastFullRead.map { now.timeIntervalSince($0) >= directory.fullReadInterval } ?? true
        let root = directory.domainRoot
        switch directory.delta {
        case .none:
            return (try await reader.readAccounts(logger: logger), "full", nil)
        case .syncrepl:
            let read = try await reader.syncRead(cookie: fullDue ? nil : checkpoint.cookie, logger: logger)
            if read.isFull { return (read.changed, "full", read.cookie) }
            let accounts = DirectoryDelta.apply(stored: stored, changed: read.changed, deleted: read.deleted, present: read.present)
            return (accounts, "delta", read.cookie)
        case .dirsync:
            // The cookie is DirSync's. A delta only names what changed; the changed accounts are read whole.
            if !fullDue, let cookie = checkpoint.cookie {
                let delta = try await reader.dirSyncDelta(domainRoot: root, cookie: cookie, logger: logger)
                let accounts = DirectoryDelta.apply(stored: stored, changed: delta.changed, deleted: delta.gone, present: nil)
                return (accounts, "delta", delta.cookie)
            }
            let full = try await reader.dirSyncFull(domainRoot: root, logger: logger)
            return (full.accounts, "full", full.cookie)
        case .usn:
            // The cookie is the JSON of a `USNCheckpoint`.
            if !fullDue, let cookie = checkpoint.cookie, let since = try? JSONDecoder().decode(USNCheckpoint.self, from: Data(cookie)),
               let delta = try await reader.usnDelta(domainRoot: root, since: since, logger: logger) {
                let accounts = DirectoryDelta.apply(stored: stored, changed: delta.changed, deleted: delta.gone, present: nil)
                return (accounts, "delta", Array(try JSONEncoder().encode(delta.checkpoint)))
            }
            // Checkpoint first: whatever commits during the full read is in the next window.
            let start = try await reader.usnCheckpoint(logger: logger)
            let accounts = try await reader.readAccounts(logger: logger)
            return (accounts, "full", Array(try JSONEncoder().encode(start)))
        }
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

/// Reads a bind password from its file; the content never appears in errors.
enum PasswordFile {
    static func read(_ path: String, key: String) throws -> [UInt8] {
        guard let bytes = SecretFile.contents(path) else {
            throw ConfigurationError(file: path, key: key, reason: "cannot be read")
        }
        guard !bytes.isEmpty else { throw ConfigurationError(file: path, key: key, reason: "is empty") }
        return bytes
    }
}

/// A directory read that failed, naming the directory.
struct DirectoryReadFailure: Error, CustomStringConvertible {
    var directory: String
    var underlying: any Error

    var description: String { "directory \(directory): \(underlying)" }
}
