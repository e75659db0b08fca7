import ArgumentParser
import Foundation
import RollcallDaemon

struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Link a person to a directory account by hand.",
        discussion: """
            Confirms a match proposed by correlation.proposed (a directory with on_unlinked: report), \
            settles a correlation.disputed, or links an account no rule finds. Emits account.linked \
            with matched_by "manual"; later reconciles keep the link like any other. The run's report \
            records who did it.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The person's HR employee id.")
    var id: String

    @Option(help: "The configured directory name.")
    var directory: String

    @Option(help: "The account's anchor (entryUUID, objectGUID), as in the proposal or dispute event.")
    var anchor: String

    func run() async throws {
        let configuration = try options.load()
        do {
            let outcome = try AdminActions(configuration: configuration, logger: options.logger())
                .link(employeeID: id, directory: directory, anchor: anchor)
            print("linked \(id) to \(anchor) in \(directory): run \(outcome.runID), event \(outcome.firstSeq.map(String.init) ?? "-")")
        } catch let failure as AdminActionFailure {
            throw CLIFailure(message: failure.description)
        }
    }
}
