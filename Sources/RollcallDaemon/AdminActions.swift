import Foundation
import Logging
import RollcallCore
import RollcallStore

/// What an operator does by hand between reconciles. Each action is applied like a run: one
/// transaction, its own run row (the report names the action and who did it), events in the outbox.
public struct AdminActions: Sendable {
    public var configuration: ResolvedConfiguration
    public var logger: Logger
    public var now: @Sendable () -> Date
    /// How long an action waits for a run in progress (the run lock).
    public var lockWait: Duration = .seconds(30)

    public init(configuration: ResolvedConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// The operating-system user running the command, by its real uid (`alice (uid 1000)`), with
    /// sudo's invoker when run through sudo (`root (uid 0), sudo from alice`: $SUDO_USER is only
    /// trusted as far as root is).
    public static var operatorName: String {
        let uid = getuid()
        var name = PeerCredentials.userName(uid: uid).map { "\($0) (uid \(uid))" } ?? "uid \(uid)"
        if uid == 0, let invoker = ProcessInfo.processInfo.environment["SUDO_USER"], !invoker.isEmpty { name += ", sudo from \(invoker)" }
        return name
    }

    /// Links `employeeID` to the account with `anchor` in `directory`: confirms a proposal,
    /// settles a dispute, or links what no rule finds.
    public func link(employeeID: String, directory: String, anchor: String, by actor: String = AdminActions.operatorName) throws -> ActionOutcome {
        guard configuration.directories.contains(where: { $0.name == directory }) else {
            throw AdminActionFailure("\(directory) is not a configured directory (\(configuration.directories.map(\.name).joined(separator: ", ")))")
        }
        let detail = JSONValue.object(["directory": .string(directory), "anchor": .string(anchor)])
        return try apply(action: "admin.link", subject: employeeID, detail: detail, actor: actor) { state, _ throws(ReconcileRefusal) in
            try ManualLink.plan(employeeID: employeeID, directory: directory, anchor: anchor, state: state)
        }
    }
}

extension AdminActions {
    /// Decides a proposed conversion: `convert` makes the new HR id continue the former person
    /// (applied by the next reconcile, `identity.converted`); otherwise the new id is a new person.
    public func decideConversion(employeeID: String, formerID: String, convert: Bool,
                                 by actor: String = AdminActions.operatorName) throws -> ActionOutcome {
        try apply(action: convert ? "admin.convert" : "admin.separate", subject: employeeID,
                  detail: .object(["former_id": .string(formerID)]), actor: actor) { state, _ throws(ReconcileRefusal) in
            try Conversion.decide(employeeID: employeeID, formerID: formerID, convert: convert, state: state)
        }
    }

    /// The emergency stop for one person: `identity.disabled` now, past the guard; nothing restores
    /// their access until `enable`.
    public func disable(employeeID: String, reason: String, by actor: String = AdminActions.operatorName) throws -> ActionOutcome {
        try apply(action: "admin.disable", subject: employeeID, detail: .object(["reason": .string(reason)]), actor: actor) { state, time throws(ReconcileRefusal) in
            try HoldPlans.disable(employeeID: employeeID, reason: reason, by: actor, at: time, state: state)
        }
    }

    /// Lifts the stop: `identity.enabled` (with `restore` when HR has the person employed).
    public func enable(employeeID: String, reason: String?, by actor: String = AdminActions.operatorName) throws -> ActionOutcome {
        try apply(action: "admin.enable", subject: employeeID, detail: .object(["reason": JSONValue(reason)]), actor: actor) { state, _ throws(ReconcileRefusal) in
            try HoldPlans.enable(employeeID: employeeID, by: actor, state: state)
        }
    }

    /// Plans from the stored state and applies it as one run, with the action first in the audit log.
    func apply(action: String, subject: String, detail: JSONValue, actor: String,
               plan make: (StoredState, String) throws(ReconcileRefusal) -> Plan) throws -> ActionOutcome {
        // Serialised with runs: an operator's action waits briefly for a run in progress.
        let lock = try RunLock.acquire(storePath: configuration.storePath, wait: lockWait)
        defer { lock.release() }
        let started = now()
        let store = try Store.open(path: configuration.storePath)
        let state = try store.loadState()
        let plan: Plan
        do {
            plan = try make(state, ISO8601DateFormatter().string(from: started))
        } catch {
            throw AdminActionFailure(error.description)
        }
        let report = JSONValue.object(["action": .string(action), "by": .string(actor), "subject": .string(subject), "detail": detail])
        var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: CanonicalJSON.text(report))
        stamp.basedOn = state.version
        stamp.actor = actor
        stamp.audit = [AuditDraft(action: action, subject: subject, hrID: subject, detail: detail)]
        let applied = try store.apply(plan, stamp: stamp)
        AuditHeadRecord.write(store: store, runID: applied.runID, configuration: configuration, logger: logger, at: now())
        logger.notice("admin action applied", metadata: ["action": "\(action)", "run.id": "\(applied.runID)", "by": "\(actor)"])
        return ActionOutcome(runID: applied.runID, firstSeq: applied.firstSeq, lastSeq: applied.lastSeq, plan: plan)
    }
}

public struct ActionOutcome: Sendable {
    public var runID: Int64
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    public var plan: Plan
}

public struct AdminActionFailure: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
