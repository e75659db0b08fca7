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

    public init(configuration: ResolvedConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// The operating-system user running the command (sudo's invoker when run through sudo).
    public static var operatorName: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["SUDO_USER"] ?? environment["USER"] ?? environment["LOGNAME"] ?? "uid \(getuid())"
    }

    /// Links `employeeID` to the account with `anchor` in `directory`: confirms a proposal,
    /// settles a dispute, or links what no rule finds.
    public func link(employeeID: String, directory: String, anchor: String, by actor: String = AdminActions.operatorName) throws -> ActionOutcome {
        guard configuration.directories.contains(where: { $0.name == directory }) else {
            throw AdminActionFailure("\(directory) is not a configured directory (\(configuration.directories.map(\.name).joined(separator: ", ")))")
        }
        let started = now()
        let store = try Store.open(path: configuration.storePath)
        let state = try store.loadState()
        let plan: Plan
        do {
            plan = try ManualLink.plan(employeeID: employeeID, directory: directory, anchor: anchor, state: state)
        } catch {
            throw AdminActionFailure(error.description)
        }
        let report = JSONValue.object(["action": "link", "by": .string(actor), "hr_id": .string(employeeID),
                                       "directory": .string(directory), "anchor": .string(anchor)])
        var stamp = RunStamp(startedAt: started, finishedAt: now(), eventSource: configuration.eventSource, report: CanonicalJSON.text(report))
        stamp.basedOn = state.version
        stamp.actor = actor
        stamp.audit = [AuditDraft(action: "admin.link", subject: employeeID, hrID: employeeID,
                                  detail: .object(["directory": .string(directory), "anchor": .string(anchor)]))]
        let applied = try store.apply(plan, stamp: stamp)
        logger.notice("account linked by hand", metadata: ["run.id": "\(applied.runID)", "hr.id": "\(employeeID)",
                                                             "directory": "\(directory)", "by": "\(actor)"])
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
