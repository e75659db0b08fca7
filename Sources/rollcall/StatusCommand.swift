import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Is the daemon running, how did the last runs go, how old is each directory's delta cookie, what waits for an operator.",
        discussion: "Asks the daemon on serve.listen (GET /readyz) and reads the store; changes nothing."
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    struct Output: Encodable {
        var daemon: DaemonProbe.Answer
        var adminSocket: AdminSocketStatus
        var store: StoreStatus?
        /// Why the store's part is missing (no store yet, another user's).
        var storeError: String?
    }

    struct AdminSocketStatus: Encodable {
        var path: String?
        /// running (a daemon answers), absent, denied (this user may not connect)
        var state: String
        var detail: String?
    }

    func run() async throws {
        let configuration = try options.load()
        let daemon = await DaemonProbe.ask(configuration.serve)
        // The store's part needs its owner (or a store at all); the daemon's part does not.
        var handle: Store?
        var opened: StoreStatus?
        var storeError: String?
        do {
            let store = try Store.open(path: configuration.storePath, create: false)
            handle = store
            opened = try store.status()
        } catch {
            guard daemon.running else { throw CLIFailure(message: "status: \(error)") }
            storeError = "\(error)"
        }
        let socket: AdminSocketStatus = switch AdminClient.probe(configuration.serve.adminSocket) {
        case .running: AdminSocketStatus(path: configuration.serve.adminSocket, state: "running")
        case .absent(let why): AdminSocketStatus(path: configuration.serve.adminSocket, state: "absent", detail: why)
        case .denied(let why): AdminSocketStatus(path: configuration.serve.adminSocket, state: "denied", detail: why)
        }
        if json {
            try printJSON(Output(daemon: daemon, adminSocket: socket, store: opened, storeError: storeError))
            return
        }
        print(daemon.running ? "daemon: running on \(configuration.serve.host):\(configuration.serve.port), \(daemon.ready ? "ready" : "NOT READY")"
                             : "daemon: not running (\(daemon.detail))")
        if daemon.running { for line in daemon.detail.split(separator: "\n") where !line.hasPrefix("ready") { print("  \(line)") } }
        switch socket.state {
        case "running": print("admin socket: \(socket.path ?? "") (commands go through the daemon)")
        case "denied": print("admin socket: \(socket.detail ?? "")")
        default: print("admin socket: none answering (\(socket.detail ?? "")); commands apply directly")
        }
        guard let store = opened else {
            print("store: \(storeError ?? "")")
            return
        }
        func describe(_ run: RunRecord?) -> String {
            guard let run else { return "none" }
            return "run \(run.id) at \(run.finishedAt ?? run.startedAt)" + (run.error.map { ": \($0)" } ?? ", \(run.summary?.events ?? 0) events")
        }
        print("last applied run: \(describe(store.lastApplied))")
        print("last failed run: \(describe(store.lastFailed))")
        for directory in store.directories {
            print("directory \(directory.name): last read \(directory.lastRead) at \(directory.lastReadAt), \(directory.accounts) accounts, "
                  + (directory.cookieAt.map { "delta cookie from \($0)" } ?? "no delta cookie"))
        }
        print("persons stored: \(store.persons); events: \(store.events)")
        if let opened = handle, let newest = try? opened.newestSequence() {
            for consumer in (try? opened.consumers()) ?? [] where !consumer.isRevoked {
                print("consumer \(consumer.name): cursor \(consumer.cursor), \(max(0, newest - consumer.cursor)) behind")
            }
            for hook in (try? opened.webhookStates()) ?? [] {
                print("webhook \(hook.name): cursor \(hook.cursor), \(max(0, newest - hook.cursor)) behind"
                      + (hook.disabledAt != nil ? ", DISABLED" : "") + (hook.deadLetters > 0 ? ", \(hook.deadLetters) dead letters" : ""))
            }
        }
        if store.heldDecisions > 0 {
            print("HELD: \(store.heldDecisions) decisions wait for approval (oldest \(store.oldestHeldAt ?? "?")): rollcall runs --held")
        }
        for run in store.quarantinedRuns { print("QUARANTINED: run \(run) waits for rollcall approve \(run) or reject \(run)") }
    }
}
