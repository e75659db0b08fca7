import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

/// `rollcall webhook`: the delivery state of the `webhooks:` subscriptions.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Webhook subscriptions (under webhooks: in the configuration, or added here) and their deliveries.",
        subcommands: [WebhookAdd.self, WebhookRemove.self, WebhookList.self, WebhookReplay.self]
    )
}

struct WebhookAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a subscription (kept in the store; the running daemon starts delivering within 5 seconds).",
        discussion: """
            The secret file holds one whsec_ secret per line (two while rotating) and must be readable by the \
            user the daemon runs as; it is read at each delivery and never stored. Create one with:
              (umask 077; echo "whsec_$(head -c 32 /dev/urandom | base64)" > /etc/rollcall/NAME.whsec); chown rollcall /etc/rollcall/NAME.whsec
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The subscription's name (letters, digits, . _ -).")
    var name: String

    @Option(help: "Where to POST each event: https://, or http:// to a loopback address.")
    var url: String

    @Option(help: "File with the whsec_ secret(s), or credential:NAME for a systemd credential of the daemon.")
    var secretFile: String

    @Option(parsing: .upToNextOption, help: "Event type prefixes to deliver, e.g. dev.rollcall.identity. (default: every type).")
    var types: [String] = []

    @Option(help: "Hours a failing event is retried before it is dead-lettered.")
    var retryWindowHours: Double = 72

    @Option(help: "Seconds each delivery may take, connecting included.")
    var timeoutSeconds: Double = 10

    @Option(help: "The first sequence number to deliver (default: only events committed from now on).")
    var from: Int64?

    func run() async throws {
        let configuration = try options.load(checkFiles: false)
        guard !configuration.webhooks.contains(where: { $0.name == name }) else {
            throw CLIFailure(message: "webhook add: \(name) is configured under webhooks: in \(configuration.file)")
        }
        let asked = StoredWebhook(name: name, url: url, secretFile: secretFile, types: types, retryWindowHours: retryWindowHours,
                                  timeoutSeconds: timeoutSeconds)
        let stored: StoredWebhook
        do {
            stored = try WebhookSettings.checked(asked, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        } catch {
            throw CLIFailure(message: "webhook add: \(error.key ?? "") \(error.reason)")
        }
        do {
            try options.openStore().addWebhook(stored, startAfter: from.map { $0 - 1 }, by: AdminActions.operatorName)
            print("webhook \(name) added: \(url)" + (from.map { ", from event \($0)" } ?? ", events from now on"))
        } catch let error as StoreError {
            throw CLIFailure(message: "webhook add: \(error.reason)")
        }
    }
}

struct WebhookRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a subscription added with webhook add (the daemon stops delivering within seconds)."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The subscription's name.")
    var name: String

    func run() async throws {
        do {
            try options.openStore().removeWebhook(name, by: AdminActions.operatorName)
            print("webhook \(name) removed")
        } catch let error as StoreError {
            throw CLIFailure(message: "webhook remove: \(error.reason)")
        }
    }
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
        let hooks = WebhookSettings.all(configuration, stored: try store.storedWebhooks())
        var states = Dictionary(uniqueKeysWithValues: try store.webhookStates().map { ($0.name, $0) })
        for hook in hooks where states[hook.name] == nil {
            states[hook.name] = WebhookState(name: hook.name, cursor: newest, attempts: 0, deadLetters: 0)
        }
        let rows = states.values.sorted { $0.name < $1.name }.map { state in
            Row(state: state, url: hooks.first { $0.name == state.name }?.url, lag: max(0, newest - state.cursor))
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
        let store = try options.openStore()
        let hooks = WebhookSettings.all(configuration, stored: try store.storedWebhooks())
        guard hooks.contains(where: { $0.name == name }) else {
            throw CLIFailure(message: "webhook replay: no webhook named \(name) (\(hooks.map(\.name).joined(separator: ", ")))")
        }
        do {
            try store.webhookReplay(name, from: from, by: AdminActions.operatorName)
            print("webhook \(name): delivering again from event \(from)")
        } catch let error as StoreError {
            throw CLIFailure(message: "webhook replay: \(error.reason)")
        }
    }
}
