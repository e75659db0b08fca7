import ArgumentParser
import Foundation
import RollcallDaemon

struct DisableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Emergency stop for one person: announce identity.disabled now.",
        discussion: """
            For a suspected compromise or a sudden exit. Emits identity.disabled at once (outside any \
            schedule, past the mass-change guard) and holds the person: no reconcile re-enables them \
            (no joiner, start, resume, rehire or grant; their managed groups are revoked) until \
            rollcall enable. Recorded in the audit log with the reason and who did it.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The person's HR employee id.")
    var id: String

    @Option(help: "Why (kept in the event and the audit log).")
    var reason: String

    func run() async throws {
        try await AdminRoute.perform(.disable(id: id, reason: reason), options: options)
    }
}

struct EnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Lift a person's emergency stop: announce identity.enabled.",
        discussion: "The next reconcile treats the person as HR says again. Recorded in the audit log with who did it."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The person's HR employee id.")
    var id: String

    @Option(help: "Why (kept in the audit log).")
    var reason: String?

    func run() async throws {
        try await AdminRoute.perform(.enable(id: id, reason: reason), options: options)
    }
}
