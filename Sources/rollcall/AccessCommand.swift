import ArgumentParser
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore

/// `rollcall access`: who held what on a date, and what changed between two dates, from the
/// store's access history alone (docs/governance.md).
struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Who held what on a date, and what was granted and removed between two dates, from the stored history.",
        subcommands: [AsOf.self, Diff.self],
        defaultSubcommand: AsOf.self
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, csv
    }

    struct Output: ParsableArguments {
        @Flag(help: "JSON (one document, with the run and audit head it is based on).")
        var json = false
        @Flag(help: "CSV, one row per holding (with the basis in a leading comment line).")
        var csv = false
        @Option(help: "Write to this new file (mode 0600) instead of standard output.")
        var output: String?

        func validate() throws {
            if json && csv { throw ValidationError("--json and --csv exclude each other") }
        }

        var format: Format { json ? .json : csv ? .csv : .text }
    }

    static func window(_ text: String, option: String) throws -> AccessWindow {
        guard let window = AccessWindow(text) else {
            throw ValidationError("\(option) \(text) is neither a date (YYYY-MM-DD) nor an ISO 8601 time with a zone (2026-03-31T17:00:00Z)")
        }
        return window
    }

    struct AsOf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "as-of",
            abstract: "Who held what: persons, their accounts and their memberships of the groups Rollcall reads.",
            discussion: """
                A date (YYYY-MM-DD) means the whole UTC day: anything held at any moment of it. A time \
                (2026-03-31T17:00:00Z) means that instant. Each holding names the run that first saw it and \
                the run that saw it end. History starts with the first run that wrote it (or the upgrade that \
                added it); nothing before that is known.
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(name: .customLong("as-of"), help: "The date or time asked about.")
        var asOf: String
        @Option(help: "Only this person (current or former HR id).")
        var person: String?
        @Option(help: "Only this group's members (DN, any case).")
        var group: String?
        @OptionGroup var output: Output

        func validate() throws {
            if person != nil && group != nil { throw ValidationError("--person and --group exclude each other") }
        }

        func run() async throws {
            let window = try AccessCommand.window(asOf, option: "--as-of")
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let header = ["hr_id", "display_name", "lifecycle", "kind", "directory", "dn", "member", "state", "from_run", "from", "to_run", "to"]
            try AccessCommand.write(output) { out in
                // Everyone (or one person) is written as it is read, a person at a time; a group's
                // members are few and come whole.
                var started = false
                var count = 0
                func begin(_ basis: AccessBasis) throws {
                    switch output.format {
                    case .json: try out.line("{\"basis\":" + (try AccessCommand.compact(basis)) + ",\"persons\":[")
                    case .csv:
                        try out.line(AccessCommand.basisText(basis))
                        try out.line(CSVLine.make(header))
                    case .text: try out.line(AccessCommand.basisText(basis))
                    }
                }
                func each(_ person: AccessPerson) throws {
                    count += 1
                    switch output.format {
                    case .json:
                        try out.line((started ? "," : "") + (try AccessCommand.compact(person)))
                        started = true
                    case .csv:
                        for holding in person.holdings {
                            try out.line(CSVLine.make([person.hrID, person.attributes["display_name"]?.stringValue, person.lifecycle] + AccessCommand.fields(holding)))
                        }
                    case .text:
                        let name = person.attributes["display_name"]?.stringValue.map { " (\($0))" } ?? ""
                        try out.line("\(person.hrID)\(name): \(person.lifecycle)")
                        for holding in person.holdings { try out.line("  " + AccessCommand.text(holding)) }
                    }
                }
                var unowned: [AccessHolding]
                if group == nil {
                    unowned = try store.access(in: window, person: person, begin: begin, each: each).unowned
                } else {
                    let report = try store.access(in: window, group: group)
                    try begin(report.basis)
                    for person in report.persons { try each(person) }
                    unowned = report.unowned
                }
                switch output.format {
                case .json: try out.line("],\"unowned\":" + (try AccessCommand.compact(unowned)) + "}")
                case .csv: for holding in unowned { try out.line(CSVLine.make([nil, nil, nil] + AccessCommand.fields(holding))) }
                case .text:
                    if count == 0 && unowned.isEmpty { try out.line("nothing was held in \(window)") }
                    if !unowned.isEmpty { try out.line("no person's account:") }
                    for holding in unowned { try out.line("  " + AccessCommand.text(holding)) }
                }
            }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What was granted and removed between two dates: group memberships, account links, accounts enabled.",
            discussion: "From the start of --from to the end of --to (dates are whole UTC days)."
        )

        @OptionGroup var options: GlobalOptions
        @Option(help: "The first date or time.")
        var from: String
        @Option(help: "The last date or time.")
        var to: String
        @OptionGroup var output: Output

        func run() async throws {
            let start = try AccessCommand.window(from, option: "--from")
            let end = try AccessCommand.window(to, option: "--to")
            guard start.start < end.end else { throw ValidationError("--from \(from) is after --to \(to)") }
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let (basis, changes) = try store.accessChanges(from: start, to: end)
            try AccessCommand.write(output) { out in
                switch output.format {
                case .json:
                    struct Document: Encodable { var basis: AccessBasis; var changes: [AccessChange] }
                    try out.line(try AccessCommand.json(Document(basis: basis, changes: changes)))
                case .csv:
                    try out.line(AccessCommand.basisText(basis))
                    try out.line(CSVLine.make(["change", "run", "at", "hr_id", "kind", "directory", "dn", "member", "state"]))
                    for change in changes {
                        let h = change.holding
                        try out.line(CSVLine.make([change.change, String(change.run), change.at, h.hrID, h.kind, h.directory, h.dn, h.member, h.state]))
                    }
                case .text:
                    try out.line(AccessCommand.basisText(basis))
                    if changes.isEmpty { try out.line("nothing was granted or removed") }
                    for change in changes {
                        let h = change.holding
                        try out.line("\(change.at) run \(change.run) \(change.change): \(h.hrID ?? "(no person)") \(AccessCommand.text(h, interval: false))")
                    }
                }
            }
        }
    }

    static func write(_ output: Output, _ body: (ExportOutput) throws -> Void) throws {
        let out = try ExportOutput(output.output)
        do {
            try body(out)
        } catch {
            out.discard()
            throw error
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// One value as compact JSON (sorted keys), for documents written piece by piece.
    static func compact(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func fields(_ h: AccessHolding) -> [String?] {
        [h.kind, h.directory, h.dn, h.member, h.state, String(h.fromRun), h.from, h.toRun.map(String.init), h.to]
    }

    static func text(_ h: AccessHolding, interval: Bool = true) -> String {
        let what = h.kind == "group" ? "member of \(h.dn) as \(h.member) (\(h.state ?? ""))"
                                     : "account \(h.dn) in \(h.directory)\(h.state.map { " (\($0))" } ?? "")"
        guard interval else { return what }
        let until = h.to.map { " until \($0) (run \(h.toRun.map(String.init) ?? "?"))" } ?? ", still held"
        return "\(what): since \(h.from) (run \(h.fromRun))\(until)"
    }

    static func basisText(_ basis: AccessBasis) -> String {
        "# \(basis.window); newest run then: \(basis.newestRun.map { "\($0) at \(basis.newestRunAt ?? "?")" } ?? "none")"
            + "; history since \(basis.historySince ?? "never"); audit head \(basis.auditHead ?? "none")"
    }
}
