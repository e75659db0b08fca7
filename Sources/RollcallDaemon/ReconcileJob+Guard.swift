import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallHR
import RollcallStore

/// The mass-change guard's side of a run: which decisions to hold, a quarantined first run, and
/// approvals of either.
extension ReconcileJob {
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

    /// Stores a plan the guard stopped (once: the same plan still pending is not stored again).
    func quarantine(_ plan: Plan, verdict: GuardVerdict, stamp: RunStamp, store: Store, outcome: ReconcileOutcome,
                            phases: PhaseTimer) throws -> ReconcileOutcome {
        var outcome = outcome
        outcome.phaseSeconds = phases.seconds
        outcome.phasePeakMegabytes = phases.peakMegabytes
        if let pending = try store.pendingQuarantine(digest: Store.digest(plan)) {
            outcome.quarantinedRun = pending
            logger.warning("run still quarantined", metadata: ["run.id": "\(pending)", "guard.reasons": "\(verdict.reasons.joined(separator: "; "))"])
            return outcome
        }
        let stored = try store.quarantine(plan, stamp: stamp, verdict: Self.verdictData(verdict, plan: plan))
        AuditHeadRecord.write(store: store, runID: stored.runID, configuration: configuration, logger: logger, at: now())
        outcome.quarantinedRun = stored.runID
        outcome.firstSeq = stored.firstSeq
        outcome.lastSeq = stored.lastSeq
        if stored.firstSeq != nil { outcome.eventsByType = [EventKind.quarantined.cloudEventType: 1] }
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
    func approvedPlan(_ approval: Approval, newPlan: Plan, store: Store) throws -> Plan {
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
    func approvedHeld(_ approval: Approval, todays plan: Plan, state: StoredState,
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
}
