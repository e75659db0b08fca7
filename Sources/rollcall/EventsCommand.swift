import ArgumentParser
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Read the event outbox.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print events as NDJSON (one CloudEvent per line), in sequence order.")

        @OptionGroup var options: GlobalOptions

        @Option(help: "Only events with a sequence number above this.")
        var after: Int64 = 0

        @Option(help: "At most this many events.")
        var limit: Int = 1000

        func validate() throws {
            guard after >= 0 else { throw ValidationError("--after must be 0 or more") }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            for event in try store.events(after: after, limit: limit) {
                print(try event.jsonLine())
            }
        }
    }
}

struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Look at one identity.",
        subcommands: [Show.self, Export.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write everything stored about one person as JSON (a subject access request).",
            discussion: "Person, former ids, accounts, hold, proposals, disputes, open notices, every event and every audit entry about them."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The person's HR employee id (current or former).")
        var id: String

        @Option(help: "Write to this new file (mode 0600) instead of standard output.")
        var output: String?

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            guard let export = try store.identityExport(id) else {
                throw CLIFailure(message: "no person with HR id \(id) is stored (a purged person's data is gone)")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let text = String(decoding: try encoder.encode(export), as: UTF8.self)
            let out = try ExportOutput(output)
            do {
                try out.line(text)
            } catch {
                out.discard()
                throw error
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what is stored about one person (by HR id), their accounts and their events, as JSON.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The person's HR employee id.")
        var id: String

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            guard let identity = try store.identity(id) else {
                throw CLIFailure(message: "no person with HR id \(id) is stored")
            }
            try printJSON(identity)
        }
    }
}

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Print the most recent runs as JSON, newest first; with --held, the decisions the guard holds back.",
        discussion: "Each run lists its held decisions by status. --held prints every pending held decision with the run that held it and its age, oldest first."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "How many runs.")
    var limit: Int = 20

    @Flag(help: "Print the pending held decisions (run, decision, subject, age) instead of the runs.")
    var held = false

    func run() async throws {
        let configuration = try options.load()
        let store = try Store.open(path: configuration.storePath, create: false)
        if held {
            let pending = try store.heldDecisions(pendingOnly: true)
            if pending.isEmpty { print("no decisions are held back") }
            for record in pending { print(HeldTable.line(record)) }
            return
        }
        try printJSON(try store.runs(limit: limit))
    }
}

/// One held decision as a line: the run that held it, what, about whom, and how long ago.
enum HeldTable {
    static func line(_ record: HeldRecord, now: Date = Date()) -> String {
        let subject = record.decision.directory.map { "\($0)/\(record.decision.subject)" } ?? record.decision.subject
        return "run \(record.runID)  \(record.decision.kind.rawValue)  \(subject)  held \(age(record.heldAt, now: now)) ago (\(record.heldAt))"
    }

    static func age(_ timestamp: String, now: Date) -> String {
        guard let since = ISO8601DateFormatter().date(from: timestamp) else { return "?" }
        let hours = Int(now.timeIntervalSince(since) / 3600)
        return hours >= 48 ? "\(hours / 24) days" : "\(hours) h"
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A run's report, or a compliance report (orphans, dormant, leavers, privileged, violations, hygiene).",
        subcommands: [RunReportCommand.self, OrphansReport.self, DormantReport.self, LeaversReport.self, PrivilegedReport.self,
                      ViolationsReport.self, HygieneReport.self],
        defaultSubcommand: RunReportCommand.self
    )
}

struct RunReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Print a run's report as JSON: rejected HR records and warnings (source, file:line or record, reason), persons per source, ambiguous correlations."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "The run (default: the newest, failed runs included).")
    var run: Int64?

    struct Output: Encodable {
        var run: Int64
        var status: String
        var error: String?
        var report: JSONValue?
    }

    func run() async throws {
        let configuration = try options.load()
        let store = try Store.open(path: configuration.storePath, create: false)
        guard let record = try store.run(run) else {
            throw CLIFailure(message: run.map { "no run \($0)" } ?? "no run yet")
        }
        try printJSON(Output(run: record.id, status: record.status, error: record.error, report: record.report))
    }
}
