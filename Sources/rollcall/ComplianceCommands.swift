import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

/// `rollcall report NAME`: the compliance reports (docs/governance.md), each as text, JSON or CSV
/// with the run and audit head it is based on.
protocol ComplianceReportCommand: AsyncParsableCommand {
    var options: GlobalOptions { get }
    var output: AccessCommand.Output { get }
    func report(_ reports: ComplianceReports) throws -> TabularReport
}

extension ComplianceReportCommand {
    func run() async throws {
        let configuration = try options.load()
        let store = try Store.open(path: configuration.storePath, create: false)
        let report = try self.report(ComplianceReports(configuration: configuration, store: store))
        try ReportDocument.write(report, output, title: "\(report.title): \(report.rows.count)")
    }
}

/// A table (compliance report, review progress) as JSON (rows as objects keyed by column), CSV
/// (the basis in a leading comment line) or text (one `column=value` line per row).
struct ReportDocument: Encodable {
    static func write(_ report: TabularReport, _ output: AccessCommand.Output, title: String) throws {
        try AccessCommand.write(output) { out in
            switch output.format {
            case .json:
                try out.line(try AccessCommand.json(ReportDocument(name: report.name, title: report.title, basis: report.basis,
                                                                   notes: report.notes, rows: report.objects)))
            case .csv:
                try out.line(AccessCommand.basisText(report.basis))
                try out.line(CSVLine.make(report.columns))
                for row in report.rows { try out.line(CSVLine.make(row)) }
            case .text:
                try out.line(title)
                try out.line(AccessCommand.basisText(report.basis))
                for note in report.notes { try out.line("# \(note)") }
                for row in report.rows {
                    try out.line(zip(report.columns, row).compactMap { column, value in value.map { "\(column)=\($0)" } }.joined(separator: "  "))
                }
            }
        }
    }

    var name: String
    var title: String
    var basis: AccessBasis
    var notes: [String]
    var rows: [[String: String?]]
}

struct OrphansReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(commandName: "orphans", abstract: "Accounts no HR person is linked to.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var output: AccessCommand.Output
    func report(_ reports: ComplianceReports) throws -> TabularReport { try reports.orphans() }
}

struct DormantReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(
        commandName: "dormant",
        abstract: "Accounts whose last logon (lastLogonTimestamp, pwdLastSuccess) is older than reports.dormant_after_days, or that never logged on.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Days without a logon (default: reports.dormant_after_days, 90).")
    var days: Int?
    @OptionGroup var output: AccessCommand.Output
    func validate() throws {
        if let days, !(1...36_500).contains(days) { throw ValidationError("--days must be from 1 to 36500") }
    }
    func report(_ reports: ComplianceReports) throws -> TabularReport { try reports.dormant(days: days) }
}

struct LeaversReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(
        commandName: "leavers", abstract: "Terminated and deprovisioned persons with accounts not known to be disabled.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var output: AccessCommand.Output
    func report(_ reports: ComplianceReports) throws -> TabularReport { try reports.leavers() }
}

struct PrivilegedReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(
        commandName: "privileged", abstract: "Members of watched privileged groups and what authorises each.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var output: AccessCommand.Output
    func report(_ reports: ComplianceReports) throws -> TabularReport { try reports.privileged() }
}

struct ViolationsReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(
        commandName: "violations",
        abstract: "Separation-of-duties violations open now, or (--from/--to) held at any time during a period.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The period's first date or time (with --to).")
    var from: String?
    @Option(help: "The period's last date or time (with --from).")
    var to: String?
    @OptionGroup var output: AccessCommand.Output
    func validate() throws {
        if (from == nil) != (to == nil) { throw ValidationError("--from and --to go together") }
    }
    func report(_ reports: ComplianceReports) throws -> TabularReport {
        guard let from, let to else { return try reports.violations() }
        let start = try AccessCommand.window(from, option: "--from")
        let end = try AccessCommand.window(to, option: "--to")
        guard start.start < end.end else { throw ValidationError("--from \(from) is after --to \(to)") }
        return try reports.violations(during: (start, end))
    }
}

struct HygieneReport: ComplianceReportCommand {
    static let configuration = CommandConfiguration(
        commandName: "hygiene", abstract: "HR data quality over the last runs: rejected records and their commonest reasons, warnings, persons missing, ambiguous matches.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "How many runs (default 10).")
    var runs = 10
    @OptionGroup var output: AccessCommand.Output
    func validate() throws {
        if !(1...1000).contains(runs) { throw ValidationError("--runs must be from 1 to 1000") }
    }
    func report(_ reports: ComplianceReports) throws -> TabularReport { try reports.hygiene(runs: runs) }
}
