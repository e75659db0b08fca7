import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Apply a run the mass-change guard quarantined.",
        discussion: """
            Reads HR and the directories again and plans: if the new plan is the quarantined one, \
            exactly that stored plan is applied (past the guard) and the approval is recorded in the \
            audit log with who did it; if anything changed, nothing is applied and a new reconcile is \
            needed.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The quarantined run's number.")
    var run: Int64

    @Option(help: "Why it is approved (kept in the audit log).")
    var reason: String?

    func run() async throws {
        let configuration = try options.load()
        let job = ReconcileJob(configuration: configuration, logger: options.logger())
        do {
            let outcome = try await job.run(dryRun: false, approving: .init(runID: run, actor: AdminActions.operatorName, reason: reason))
            let events = outcome.firstSeq.map { "events \($0)–\(outcome.lastSeq ?? $0)" } ?? "no events"
            print("run \(run) approved: applied as run \(outcome.runID.map(String.init) ?? "?"), \(events)")
        } catch let failure as ReconcileFailure {
            throw CLIFailure(message: "approve \(run): \(failure.reason)")
        }
    }
}

struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Discard a run the mass-change guard quarantined (recorded in the audit log)."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The quarantined run's number.")
    var run: Int64

    @Option(help: "Why it is rejected (kept in the audit log).")
    var reason: String?

    func run() async throws {
        let configuration = try options.load()
        let store = try Store.open(path: configuration.storePath)
        do {
            try store.rejectQuarantined(run, by: AdminActions.operatorName, reason: reason, at: Date())
        } catch let error as StoreError {
            throw CLIFailure(message: "reject \(run): \(error.reason)")
        }
        print("run \(run) rejected: its plan will not be applied")
    }
}
