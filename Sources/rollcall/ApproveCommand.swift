import ArgumentParser
import Foundation
import RollcallDaemon

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
        try await AdminRoute.perform(.approve(run: run, reason: reason), options: options)
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
        try await AdminRoute.perform(.reject(run: run, reason: reason), options: options)
    }
}
