import ArgumentParser
import Foundation
import RollcallDaemon

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

    @Option(help: "Without a running daemon: wait up to this many seconds for a run in progress (the run lock), otherwise exit 75, busy, doing nothing. Through the daemon a reconcile always waits for its run in progress.")
    var wait: Int = 0

    func run() async throws {
        try await AdminRoute.perform(.reconcile(.init(dryRun: dryRun, full: full, identity: identity, initial: initial, json: json, wait: wait)),
                                     options: options, json: json)
    }
}
