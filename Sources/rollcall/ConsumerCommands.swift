import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

/// `rollcall consumer`: the downstream apps that read the change feed (GET /v1/events).
struct ConsumerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer",
        abstract: "Manage the change feed's consumers: their bearer tokens, allowed event types and cursors.",
        subcommands: [ConsumerAdd.self, ConsumerList.self, ConsumerRevoke.self, ConsumerRewind.self]
    )
}

struct ConsumerAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a consumer and print its bearer token (shown once; only its hash is stored)."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The consumer's name (letters, digits, . _ -).")
    var name: String

    @Option(parsing: .upToNextOption, help: "Event type prefixes it may read, e.g. dev.rollcall.identity. (default: every type).")
    var types: [String] = []

    func run() async throws {
        let store = try options.openStore()
        do {
            let token = try store.addConsumer(name, types: types, by: AdminActions.operatorName)
            print(token)
            FileHandle.standardError.write(Data("consumer \(name) added; its token is printed above and will not be shown again\n".utf8))
        } catch let error as StoreError {
            throw CLIFailure(message: "consumer add: \(error.reason)")
        }
    }
}

struct ConsumerList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the consumers, their cursors and how far behind they are.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Encodable {
        var consumer: Consumer
        var lag: Int64
    }

    func run() async throws {
        let store = try options.openStore()
        let newest = try store.newestSequence()
        let rows = try store.consumers().map { Row(consumer: $0, lag: max(0, newest - $0.cursor)) }
        if json {
            try printJSON(rows)
            return
        }
        for row in rows {
            let state = row.consumer.isRevoked ? "revoked \(row.consumer.revokedAt ?? "")" : "active"
            let types = row.consumer.types.isEmpty ? "every type" : row.consumer.types.joined(separator: ", ")
            print("\(row.consumer.name): \(state), cursor \(row.consumer.cursor), \(row.lag) behind, \(types)")
        }
    }
}

struct ConsumerRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a consumer's token at once (recorded in the audit log).")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The consumer's name.")
    var name: String

    func run() async throws {
        do {
            try options.openStore().revokeConsumer(name, by: AdminActions.operatorName)
            print("consumer \(name) revoked")
        } catch let error as StoreError {
            throw CLIFailure(message: "consumer revoke: \(error.reason)")
        }
    }
}

struct ConsumerRewind: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Move a consumer's cursor back (or anywhere) to replay events (recorded in the audit log)."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The consumer's name.")
    var name: String

    @Option(help: "The sequence number the consumer has processed up to; it reads from the next one.")
    var to: Int64

    func run() async throws {
        do {
            let moved = try options.openStore().moveCursor(name, to: to, rewind: true, by: AdminActions.operatorName)
            print("consumer \(name): cursor at \(moved.cursor)")
        } catch let error as StoreError {
            throw CLIFailure(message: "consumer rewind: \(error.reason)")
        }
    }
}
