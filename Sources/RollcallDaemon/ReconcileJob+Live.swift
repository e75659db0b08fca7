import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallHR
import RollcallStore

extension ReconcileJob {
    /// A live change of one directory (the daemon's persistent search): only the persons it
    /// touches are planned (`PlanScope`), with the HR read of the last scheduled run and every
    /// other account as stored; the same guard (held decisions stay held), the same one-transaction
    /// apply and audit. The directory's delta cookie is not moved: the next scheduled delta reads
    /// these changes again and finds nothing left to do. nil when there is nothing to plan, or
    /// the store has no applied run yet (its first run waits for approval).
    ///
    /// With `kept`, the stored state is the one kept since the last live change when nothing else
    /// changed the store meanwhile (else it is loaded), and the state after this change is kept.
    public func runLive(directory name: String, changed: [DirectoryAccount], deleted: Set<String>,
                        hr: HRReadResult, kept: LiveState? = nil) async throws -> ReconcileOutcome? {
        let lock = try RunLock.acquire(storePath: configuration.storePath, wait: .seconds(30))
        defer { lock.release() }
        let started = now()
        let store = try Store.open(path: configuration.storePath)
        let (state, _, generation) = try kept?.take(store: store) ?? (try store.loadState(), true, 0)
        guard state.version > 0, configuration.directories.contains(where: { $0.name == name }) else { return nil }
        let inputs = configuration.directories.map { directory -> DirectoryInput in
            let stored = state.accounts[directory.name] ?? [:]
            var accounts: [DirectoryAccount]
            if directory.name == name {
                // A changed account keeps the enabled state last read until the next scheduled run reads it.
                let carried = changed.map { account -> DirectoryAccount in
                    var account = account
                    if account.enabled == nil { account.enabled = stored[account.anchor]?.enabled }
                    return account
                }
                accounts = DirectoryDelta.apply(stored: stored, changed: carried, deleted: deleted, present: nil)
            } else {
                accounts = stored.values.map(\.asRead)
            }
            return DirectoryInput(name: directory.name, rules: directory.rules, accounts: accounts, hrOwned: directory.hrOwned,
                                  orphanAction: directory.orphanAction, unlinkedAction: directory.unlinkedAction,
                                  unmatchedAction: directory.unmatchedAction, allowEmpty: true)
        }
        guard let input = inputs.first(where: { $0.name == name }) else { return nil }
        let scope = PlanScope.of(changed: changed, deleted: deleted, directory: input, records: hr.records, state: state)
        let clock = self.clock(at: started)
        let reconciler = try self.reconciler(report: RunReport())
        var plan = try reconciler.plan(records: hr.records, directories: inputs, state: state, today: clock.today, entitlements: nil,
                                       unusable: hr.unusableIDs, clock: clock, scope: scope)
        var outcome = ReconcileOutcome(dryRun: false, summary: plan.summary, report: RunReport())
        guard !plan.isEmpty else {
            kept?.keep(state, generation: generation)
            return outcome
        }
        let verdict = MassChangeGuard.check(plan, state: state, policy: configuration.guardPolicy, sources: [], directories: [])
        let held = Self.decisionsToHold(plan, verdict: verdict, state: state)
        if !held.isEmpty { plan = Self.withoutHeld(plan, held, state: state) }
        let report = JSONValue.object(["live": .object(["directory": .string(name), "changed": .int(changed.count),
                                                        "deleted": .int(deleted.count), "persons": .int(scope.persons.count)])])
        var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: CanonicalJSON.text(report))
        stamp.basedOn = state.version
        stamp.actor = "rollcall serve (live)"
        stamp.held = held
        if !held.isEmpty { stamp.heldVerdict = Self.verdictData(verdict, plan: plan) }
        let applied = try store.apply(plan, stamp: stamp)
        AuditHeadRecord.write(store: store, runID: applied.runID, configuration: configuration, logger: logger, at: now())
        // The state after the change, in memory: unless decisions were held (the store keeps
        // them with details the plan does not carry), or ids changed (conversions, purges).
        if let kept, held.isEmpty, plan.personRenames.isEmpty, plan.personPurges.isEmpty {
            var next = consume state
            next.apply(plan)
            next.version = applied.runID
            kept.keep(next, generation: try store.auditGeneration())
        }
        outcome.summary = plan.summary
        outcome.runID = applied.runID
        outcome.firstSeq = applied.firstSeq
        outcome.lastSeq = applied.lastSeq
        outcome.eventsByType = Self.eventsByType(plan, newlyHeld: applied.newlyHeld)
        outcome.held = held.count
        outcome.newlyHeld = applied.newlyHeld
        outcome.guardVerdict = verdict
        logger.info("live change applied", metadata: ["run.id": "\(applied.runID)", "run.events": "\(plan.events.count)",
                                                      "directory": "\(name)", "live.persons": "\(scope.persons.count)"])
        return outcome
    }
}
