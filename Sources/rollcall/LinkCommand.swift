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

            With --converts OLD or --separate-from OLD it decides a proposed conversion (a \
            correlation.proposed of kind conversion): the new HR id continues the former person \
            (identity.converted at the next reconcile), or it is a new person.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The person's HR employee id.")
    var id: String

    @Option(help: "The configured directory name.")
    var directory: String?

    @Option(help: "The account's anchor (entryUUID, objectGUID), as in the proposal or dispute event.")
    var anchor: String?

    @Option(help: "A proposed conversion: the new HR id continues this former HR id.")
    var converts: String?

    @Option(name: .customLong("separate-from"), help: "A proposed conversion declined: the new HR id is not this former HR id.")
    var separateFrom: String?

    func validate() throws {
        let modes = [directory != nil || anchor != nil, converts != nil, separateFrom != nil].filter { $0 }.count
        guard modes == 1 else {
            throw ValidationError("give --directory with --anchor, or --converts OLD, or --separate-from OLD")
        }
        if (directory == nil) != (anchor == nil) { throw ValidationError("--directory and --anchor go together") }
    }

    func run() async throws {
        if let former = converts ?? separateFrom {
            try await AdminRoute.perform(.conversion(id: id, former: former, convert: converts != nil), options: options)
        } else if let directory, let anchor {
            try await AdminRoute.perform(.link(id: id, directory: directory, anchor: anchor), options: options)
        }
    }
}
