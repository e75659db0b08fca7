import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

/// `rollcall webhook`: the delivery state of the `webhooks:` subscriptions.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "See and steer webhook deliveries (subscriptions are configured under webhooks:).",
        subcommands: [WebhookList.self, WebhookReplay.self]
    )
}

struct WebhookList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Each subscription's cursor, lag, retries, dead letters and whether it is disabled.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Encodable {
        var state: WebhookState
        var url: String?
        var lag: Int64
    }

    func run() async throws {
        let configuration = try options.load(checkFiles: false)
        let store = try options.openStore()
        let newest = try store.newestSequence()
        var states = Dictionary(uniqueKeysWithValues: try store.webhookStates().map { ($0.name, $0) })
        for hook in configuration.webhooks where states[hook.name] == nil {
            states[hook.name] = WebhookState(name: hook.name, cursor: newest, attempts: 0, deadLetters: 0)
        }
        let rows = states.values.sorted { $0.name < $1.name }.map { state in
            Row(state: state, url: configuration.webhooks.first { $0.name == state.name }?.url, lag: max(0, newest - state.cursor))
        }
        if json {
            try printJSON(rows)
            return
        }
        for row in rows {
            var text = "\(row.state.name): \(row.url ?? "(no longer configured)"), cursor \(row.state.cursor), \(row.lag) behind"
            if let disabled = row.state.disabledAt { text += ", DISABLED at \(disabled): \(row.state.disabledReason ?? "")" }
            if row.state.attempts > 0 { text += ", retrying since \(row.state.failingSince ?? "?") (\(row.state.attempts) attempts: \(row.state.lastError ?? ""))" }
            if row.state.deadLetters > 0 { text += ", \(row.state.deadLetters) dead letters" }
            print(text)
        }
    }
}

struct WebhookReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver a subscription's events again from a sequence number (also re-enables one disabled by 410 Gone)."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The subscription's name.")
    var name: String

    @Option(help: "The first sequence number to deliver again.")
    var from: Int64

    func run() async throws {
        let configuration = try options.load(checkFiles: false)
        guard configuration.webhooks.contains(where: { $0.name == name }) else {
            throw CLIFailure(message: "webhook replay: no webhook named \(name) is configured (\(configuration.webhooks.map(\.name).joined(separator: ", ")))")
        }
        do {
            try options.openStore().webhookReplay(name, from: from, by: AdminActions.operatorName)
            print("webhook \(name): delivering again from event \(from)")
        } catch let error as StoreError {
            throw CLIFailure(message: "webhook replay: \(error.reason)")
        }
    }
}
