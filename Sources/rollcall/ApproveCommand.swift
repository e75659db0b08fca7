import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Apply the decisions the mass-change guard held back in a run, or a first run it quarantined.",
        discussion: """
            Reads HR and the directories again and plans. For a run that held decisions back: each \
            held decision still true today is applied (the person's part of today's plan), those no \
            longer true are dropped and listed. For a quarantined first run: if the new plan is the \
            quarantined one, exactly that stored plan is applied; if anything changed, nothing is \
            applied. Either way the approval is recorded in the audit log with who did it.
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
            if !outcome.approvedHeld.isEmpty || !outcome.droppedHeld.isEmpty {
                print("applied \(outcome.approvedHeld.count) held decisions; dropped \(outcome.droppedHeld.count) no longer true today:")
                for decision in outcome.droppedHeld { print("  dropped \(decision.kind.rawValue) \(decision.subject)") }
            }
        } catch let failure as ReconcileFailure {
            throw CLIFailure(message: "approve \(run): \(failure.reason)")
        }
    }
}

struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Drop the decisions the mass-change guard held back in a run, or a quarantined first run (recorded in the audit log)."
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
            if try store.quarantined(run) != nil {
                try store.rejectQuarantined(run, by: AdminActions.operatorName, reason: reason, at: Date())
                print("run \(run) rejected: its plan will not be applied")
            } else {
                let count = try store.rejectHeld(run: run, by: AdminActions.operatorName, reason: reason, at: Date())
                print("run \(run): \(count) held decisions rejected; a later run holds them again if HR and the directories still say so")
            }
        } catch let error as StoreError {
            throw CLIFailure(message: "reject \(run): \(error.reason)")
        }
    }
}
