import ArgumentParser
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Read HR and the directories now, decide, and apply the result with its events."
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Plan and print the summary, but write nothing.")
    var dryRun = false

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    @Flag(help: "Read every directory whole even when a delta (directories[].delta) would do.")
    var full = false

    @Option(help: "Reconcile only this person (HR id) now: the rest of the plan waits for the next run.")
    var identity: String?

    @Flag(help: "Apply the store's first run as planned instead of holding it for approval (guard.first_run); no effect later.")
    var initial = false

    @Option(help: "Wait up to this many seconds for a run in progress (the run lock); otherwise exit 75, busy, doing nothing.")
    var wait: Int = 0

    func run() async throws {
        let configuration = try options.load()
        let job = ReconcileJob(configuration: configuration, logger: options.logger())
        let outcome: ReconcileOutcome
        do {
            outcome = try await job.run(dryRun: dryRun, forceFull: full,
                                        only: identity.map { ReconcileJob.OnePerson(employeeID: $0, actor: AdminActions.operatorName) },
                                        initial: initial, lockWait: .seconds(max(0, wait)))
        } catch let busy as RunLockBusy {
            FileHandle.standardError.write(Data("rollcall: \(busy.description); try again, or reconcile --wait SECONDS\n".utf8))
            throw ExitCode(75)
        } catch let failure as ReconcileFailure {
            if json, let report = failure.report {
                try printJSON(FailedOutcome(error: failure.reason, report: report))
            }
            throw CLIFailure(message: "reconcile failed: \(failure.reason)")
        }
        if json {
            try printJSON(outcome)
        } else {
            print(SummaryTable.render(outcome))
        }
        if let run = outcome.quarantinedRun {
            let reasons = outcome.guardVerdict?.reasons.joined(separator: "; ") ?? ""
            FileHandle.standardError.write(Data("run \(run) quarantined, nothing applied: \(reasons). Review it (rollcall report --run \(run)), then rollcall approve \(run) or rollcall reject \(run)\n".utf8))
            throw ExitCode(3)
        }
        if outcome.held > 0, !dryRun {
            let reasons = outcome.guardVerdict?.reasons.joined(separator: "; ") ?? ""
            let new = outcome.newlyHeld > 0 ? "\(outcome.newlyHeld) newly, " : ""
            FileHandle.standardError.write(Data("run \(outcome.runID.map(String.init) ?? "?") applied, but \(outcome.held) decisions are held back by the mass-change guard (\(new)the rest still pending): \(reasons). See rollcall runs, then rollcall approve RUN or rollcall reject RUN for the run that held them\n".utf8))
            throw ExitCode(3)
        }
    }

    struct FailedOutcome: Encodable {
        var error: String
        var report: RunReport
    }
}

enum SummaryTable {
    static func render(_ outcome: ReconcileOutcome) -> String {
        let s = outcome.summary
        var lines: [String] = []
        if outcome.dryRun {
            lines.append("dry run: nothing was written")
        } else if let run = outcome.runID {
            let events = outcome.firstSeq.map { "events \($0)–\(outcome.lastSeq ?? $0)" } ?? "no events"
            lines.append("run \(run) applied, \(events)")
        }
        for directory in outcome.directories {
            lines.append("directory \(directory.directory): \(directory.read) read, \(directory.entries) accounts")
        }
        let rows: [(String, Int)] = [
            ("entries read", s.entriesRead), ("persons read", s.personsRead), ("rejected rows", s.rejectedRows),
            ("matched", s.matched), ("joiners", s.joiners), ("movers", s.movers), ("updates", s.updates),
            ("leavers", s.leavers), ("rehires", s.rehires), ("newly linked", s.linked), ("orphans", s.orphans),
            ("removed accounts", s.removedAccounts), ("ambiguous", s.ambiguous), ("missing from HR", s.missingFromHR),
            ("events", s.events),
        ]
        // Counts of features not every deployment uses, shown when something happened.
        let occasional: [(String, Int)] = [
            ("started", s.started), ("suspended", s.suspended), ("resumed", s.resumed), ("deprovisioned", s.deprovisioned),
            ("relinked", s.relinked), ("converted", s.converted), ("grants", s.grants), ("revokes", s.revokes),
            ("violations", s.violations), ("drifts", s.drifts), ("privileged changes", s.privilegedChanges),
            ("unauthorised", s.unauthorised),
        ]
        if let run = outcome.quarantinedRun {
            lines.append("run \(run) QUARANTINED by the mass-change guard: nothing applied")
            for reason in outcome.guardVerdict?.reasons ?? [] { lines.append("  \(reason)") }
        } else if outcome.held > 0 {
            lines.append("\(outcome.held) decisions HELD BACK by the mass-change guard (\(outcome.newlyHeld) new); everything else applied")
            for reason in outcome.guardVerdict?.reasons ?? [] { lines.append("  \(reason)") }
        }
        for (name, value) in rows + occasional.filter({ $0.1 > 0 }) {
            lines.append(name.padding(toLength: 19, withPad: " ", startingAt: 0) + String(value))
        }
        for row in outcome.report.rejectedRows {
            lines.append("rejected \(row)")
        }
        return lines.joined(separator: "\n")
    }
}
