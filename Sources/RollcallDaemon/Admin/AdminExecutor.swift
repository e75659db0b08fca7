import Foundation
import Logging
import RollcallHR
import RollcallStore

/// Carries out an `AdminCommand` and renders what the CLI prints: the one place where
/// `reconcile`, `approve`, `reject`, `disable`, `enable` and `link` are executed, by the CLI when no
/// daemon runs and by the daemon's admin socket when one does, so both say the same thing.
public struct AdminExecutor: Sendable {
    public var configuration: ResolvedConfiguration
    public var logger: Logger
    /// Who asked: the operating-system user (the admin socket's peer, or the CLI's own user).
    public var actor: String
    /// The daemon queues an operator's run behind its own run in progress: at least this long.
    public var minimumLockWait: Duration = .zero
    /// The daemon's HR file cache.
    public var hrFiles: HRReadCache?
    /// Progress of a reconcile or approve, as its phases start and end.
    public var progress: (@Sendable (RunProgress) -> Void)?
    /// Given the HR read of a reconcile once complete (the daemon plans live changes with it).
    public var onRead: (@Sendable (HRReadResult) -> Void)?
    /// Who carried the command out, for the output's `via:` line (and `via` in JSON): this process
    /// or the running daemon.
    public var via = "this process"
    /// A reconcile opens its audit with `admin.reconcile` by `actor` (the admin socket's requests).
    public var auditRequest = false

    public init(configuration: ResolvedConfiguration, logger: Logger, actor: String) {
        self.configuration = configuration
        self.logger = logger
        self.actor = actor
    }

    public func execute(_ command: AdminCommand) async -> AdminReply {
        logger.notice("admin command", metadata: ["admin.command": "\(command.name)", "admin.by": "\(actor)"])
        var reply = await carryOut(command)
        // JSON output carries it as a field; text says it on a last line.
        if case .reconcile(let request) = command, request.json { return reply }
        if reply.exitCode == 0 || reply.exitCode == 3 { reply.stdout += "via: \(via)\n" }
        return reply
    }

    private func carryOut(_ command: AdminCommand) async -> AdminReply {
        switch command {
        case .reconcile(let request): return await reconcile(request)
        case .approve(let run, let reason): return await approve(run, reason: reason)
        case .reject(let run, let reason): return reject(run, reason: reason)
        case .disable(let id, let reason):
            return action("disable \(id)") { actions in
                let outcome = try actions.disable(employeeID: id, reason: reason, by: actor)
                return "\(id) disabled: run \(outcome.runID), event \(outcome.firstSeq.map(String.init) ?? "-")"
            }
        case .enable(let id, let reason):
            return action("enable \(id)") { actions in
                let outcome = try actions.enable(employeeID: id, reason: reason, by: actor)
                return "\(id) enabled: run \(outcome.runID), event \(outcome.firstSeq.map(String.init) ?? "-")"
            }
        case .link(let id, let directory, let anchor):
            return action(nil) { actions in
                let outcome = try actions.link(employeeID: id, directory: directory, anchor: anchor, by: actor)
                return "linked \(id) to \(anchor) in \(directory): run \(outcome.runID), event \(outcome.firstSeq.map(String.init) ?? "-")"
            }
        case .conversion(let id, let former, let convert):
            return action(nil) { actions in
                let outcome = try actions.decideConversion(employeeID: id, formerID: former, convert: convert, by: actor)
                return "\(id) \(convert ? "continues" : "is not") \(former): decided in run \(outcome.runID); the next reconcile applies it"
            }
        }
    }

    private var job: ReconcileJob {
        var job = ReconcileJob(configuration: configuration, logger: logger)
        job.hrFiles = hrFiles
        job.progress = progress
        job.requestedBy = auditRequest ? actor : nil
        return job
    }

    private func lockWait(_ seconds: Int) -> Duration {
        max(.seconds(max(0, seconds)), minimumLockWait)
    }

    private func reconcile(_ request: AdminCommand.ReconcileRequest) async -> AdminReply {
        let outcome: ReconcileOutcome
        do {
            outcome = try await job.run(dryRun: request.dryRun, forceFull: request.full,
                                        only: request.identity.map { ReconcileJob.OnePerson(employeeID: $0, actor: actor) },
                                        initial: request.initial, lockWait: lockWait(request.wait), onRead: onRead)
        } catch let busy as RunLockBusy {
            return AdminReply(stderr: "rollcall: \(busy.description); try again, or reconcile --wait SECONDS\n", exitCode: AdminReply.busyExitCode)
        } catch let failure as ReconcileFailure {
            var stdout = ""
            if request.json, let report = failure.report {
                stdout = Self.json(FailedOutcome(error: failure.reason, report: report)) + "\n"
            }
            return AdminReply(stdout: stdout, stderr: "rollcall: reconcile failed: \(failure.reason)\n", exitCode: 1)
        } catch {
            return AdminReply(stderr: "rollcall: reconcile failed: \(ReconcileJob.oneLine(error))\n", exitCode: 1)
        }
        var shown = outcome
        shown.via = via
        var reply = AdminReply(stdout: (request.json ? Self.json(shown) : OutcomeText.render(outcome)) + "\n")
        if let run = outcome.quarantinedRun {
            let reasons = outcome.guardVerdict?.reasons.joined(separator: "; ") ?? ""
            reply.stderr = "run \(run) quarantined, nothing applied: \(reasons). Review it (rollcall report --run \(run)), then rollcall approve \(run) or rollcall reject \(run)\n"
            reply.exitCode = 3
        } else if outcome.held > 0, !request.dryRun {
            let reasons = outcome.guardVerdict?.reasons.joined(separator: "; ") ?? ""
            let new = outcome.newlyHeld > 0 ? "\(outcome.newlyHeld) newly, " : ""
            reply.stderr = "run \(outcome.runID.map(String.init) ?? "?") applied, but \(outcome.held) decisions are held back by the mass-change guard (\(new)the rest still pending): \(reasons). See rollcall runs, then rollcall approve RUN or rollcall reject RUN for the run that held them\n"
            reply.exitCode = 3
        }
        return reply
    }

    private func approve(_ run: Int64, reason: String?) async -> AdminReply {
        do {
            let outcome = try await job.run(dryRun: false, approving: .init(runID: run, actor: actor, reason: reason),
                                            lockWait: lockWait(0), onRead: onRead)
            let events = outcome.firstSeq.map { "events \($0)–\(outcome.lastSeq ?? $0)" } ?? "no events"
            var lines = ["run \(run) approved: applied as run \(outcome.runID.map(String.init) ?? "?"), \(events)"]
            if !outcome.approvedHeld.isEmpty || !outcome.droppedHeld.isEmpty {
                lines.append("applied \(outcome.approvedHeld.count) held decisions; dropped \(outcome.droppedHeld.count) no longer true today:")
                for decision in outcome.droppedHeld { lines.append("  dropped \(decision.kind.rawValue) \(decision.subject)") }
            }
            return AdminReply(stdout: lines.joined(separator: "\n") + "\n")
        } catch let busy as RunLockBusy {
            return AdminReply(stderr: "rollcall: approve \(run): \(busy.description); try again\n", exitCode: AdminReply.busyExitCode)
        } catch {
            let reason = (error as? ReconcileFailure)?.reason ?? ReconcileJob.oneLine(error)
            return AdminReply(stderr: "rollcall: approve \(run): \(reason)\n", exitCode: 1)
        }
    }

    private func reject(_ run: Int64, reason: String?) -> AdminReply {
        do {
            let lock = try RunLock.acquire(storePath: configuration.storePath, wait: lockWait(30))
            defer { lock.release() }
            let store = try Store.open(path: configuration.storePath)
            if try store.quarantined(run) != nil {
                try store.rejectQuarantined(run, by: actor, reason: reason, at: Date())
                return AdminReply(stdout: "run \(run) rejected: its plan will not be applied\n")
            }
            let count = try store.rejectHeld(run: run, by: actor, reason: reason, at: Date())
            return AdminReply(stdout: "run \(run): \(count) held decisions rejected; a later run holds them again if HR and the directories still say so\n")
        } catch let error as StoreError {
            return AdminReply(stderr: "rollcall: reject \(run): \(error.reason)\n", exitCode: 1)
        } catch {
            return AdminReply(stderr: "rollcall: reject \(run): \(ReconcileJob.oneLine(error))\n", exitCode: 1)
        }
    }

    /// An `AdminActions` action: its line, or its failure prefixed with `prefix`.
    private func action(_ prefix: String?, _ body: (AdminActions) throws -> String) -> AdminReply {
        var actions = AdminActions(configuration: configuration, logger: logger)
        actions.lockWait = lockWait(30)
        do {
            return AdminReply(stdout: try body(actions) + "\n")
        } catch let failure as AdminActionFailure {
            return AdminReply(stderr: "rollcall: " + (prefix.map { "\($0): " } ?? "") + failure.description + "\n", exitCode: 1)
        } catch let busy as RunLockBusy {
            return AdminReply(stderr: "rollcall: \(busy.description); try again\n", exitCode: AdminReply.busyExitCode)
        } catch {
            return AdminReply(stderr: "rollcall: " + (prefix.map { "\($0): " } ?? "") + ReconcileJob.oneLine(error) + "\n", exitCode: 1)
        }
    }

    struct FailedOutcome: Encodable {
        var error: String
        var report: RunReport
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
