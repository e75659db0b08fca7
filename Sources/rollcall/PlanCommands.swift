import ArgumentParser
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a reconcile would do now, without applying anything.",
        discussion: "A table of the events the plan holds, by person (subject); --json prints the plan's summary, guard verdict and events for scripts."
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Read every directory whole even when a delta would do.")
    var full = false

    struct Output: Encodable {
        var summary: RunSummary
        var guardVerdict: GuardVerdict
        var events: [EventDraft]
    }

    func run() async throws {
        let configuration = try options.load()
        let prepared: ReconcileJob.Prepared
        do {
            prepared = try await ReconcileJob(configuration: configuration, logger: options.logger()).prepare(forceFull: full)
        } catch {
            throw CLIFailure(message: "plan failed: \(ReconcileJob.oneLine(error))")
        }
        if json {
            try printJSON(Output(summary: prepared.plan.summary, guardVerdict: prepared.verdict, events: prepared.plan.events))
            return
        }
        print("plan as of \(prepared.today): \(prepared.plan.events.count) events, nothing applied")
        if prepared.verdict.firstRun {
            print("a reconcile now would be QUARANTINED whole (the store's first run waits for approval):")
            for reason in prepared.verdict.reasons { print("  \(reason)") }
        } else if prepared.verdict.tripped {
            print("a reconcile now would HOLD BACK \(prepared.verdict.held.map(\.rawValue).sorted().joined(separator: " and ")) decisions:")
            for reason in prepared.verdict.reasons { print("  \(reason)") }
        }
        let pending = try Store.open(path: configuration.storePath, create: false).heldDecisions(pendingOnly: true)
        if !pending.isEmpty {
            print("held back, waiting for rollcall approve RUN or reject RUN (still planned today?):")
            for record in pending {
                let still = prepared.plan.events.contains(where: record.decision.matches) ? "still planned" : "no longer planned: approve drops it"
                print("  " + HeldTable.line(record) + "  " + still)
            }
        }
        let rows = prepared.plan.events.map { ($0.subject, $0.kind.rawValue, Self.detail($0)) }
        let subjectWidth = min(40, rows.map(\.0.count).max() ?? 7)
        let typeWidth = rows.map(\.1.count).max() ?? 4
        if !rows.isEmpty {
            print("SUBJECT".padding(toLength: subjectWidth, withPad: " ", startingAt: 0) + "  " + "EVENT".padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  DETAIL")
        }
        for (subject, type, detail) in rows {
            print(subject.padding(toLength: subjectWidth, withPad: " ", startingAt: 0) + "  " + type.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + detail)
        }
    }

    /// One line about an event: what changes, or which account or group it is about.
    static func detail(_ event: EventDraft) -> String {
        let data = event.data
        if case .array(let changes)? = data["changes"] {
            return changes.map { change in
                "\(change["attribute"]?.stringValue ?? "?"): \(change["before"]?.stringValue ?? "∅") → \(change["after"]?.stringValue ?? "∅")"
            }.joined(separator: ", ")
        }
        if let group = data["group"]?.stringValue { return group }
        if let rule = data["rule"]?.stringValue { return "rule \(rule)" }
        if let dn = data["account"]?["dn"]?.stringValue ?? data["dn"]?.stringValue { return dn }
        if let reason = data["reason"]?.stringValue { return reason }
        if case .array(let accounts)? = data["accounts"], !accounts.isEmpty {
            return accounts.compactMap { $0["dn"]?.stringValue }.joined(separator: "; ")
        }
        return data["lifecycle"]?.stringValue ?? ""
    }
}

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Trace one person: HR record, correlation, situation, lifecycle and why, attributes, entitlements, and the events a reconcile now would emit.",
        discussion: "Reads HR and the directories as a reconcile would and applies nothing. Past events are in rollcall identity show."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The person's HR employee id (current or former).")
    var id: String

    func run() async throws {
        let configuration = try options.load()
        let prepared: ReconcileJob.Prepared
        do {
            prepared = try await ReconcileJob(configuration: configuration, logger: options.logger()).prepare()
        } catch {
            throw CLIFailure(message: "explain failed: \(ReconcileJob.oneLine(error))")
        }
        guard let explanation = Explanation.of(id, records: prepared.hr.records, directories: prepared.directories, state: prepared.state,
                                               plan: prepared.plan, entitlements: prepared.entitlements, policy: configuration.lifecycle,
                                               today: prepared.today) else {
            let rejected = prepared.hr.rejected.filter { $0.description.contains(id) }
            let note = rejected.isEmpty ? "" : "; rejected HR records mention it: " + rejected.map(\.description).joined(separator: "; ")
            throw CLIFailure(message: "\(id) is neither stored nor in this HR read\(note)")
        }
        try printJSON(explanation)
    }
}
