import Foundation
import RollcallStore

/// The summary a reconcile prints (`rollcall reconcile` without --json).
public enum OutcomeText {
    public static func render(_ outcome: ReconcileOutcome) -> String {
        let s = outcome.summary
        var lines: [String] = []
        if outcome.dryRun {
            lines.append("dry run: nothing was written")
        } else if let run = outcome.runID {
            let events = outcome.firstSeq.map { "events \($0)–\(outcome.lastSeq ?? $0)" } ?? "no events"
            lines.append("run \(run) applied, \(events)")
        }
        for directory in outcome.directories {
            lines.append("directory \(directory.directory): \(directory.read) read, \(directory.entries) accounts")
        }
        let rows: [(String, Int)] = [
            ("entries read", s.entriesRead), ("persons read", s.personsRead), ("rejected rows", s.rejectedRows),
            ("matched", s.matched), ("joiners", s.joiners), ("movers", s.movers), ("updates", s.updates),
            ("leavers", s.leavers), ("rehires", s.rehires), ("newly linked", s.linked), ("orphans", s.orphans),
            ("removed accounts", s.removedAccounts), ("ambiguous", s.ambiguous), ("missing from HR", s.missingFromHR),
            ("events", s.events),
        ]
        // Counts of features not every deployment uses, shown when something happened.
        let occasional: [(String, Int)] = [
            ("started", s.started), ("suspended", s.suspended), ("resumed", s.resumed), ("deprovisioned", s.deprovisioned),
            ("relinked", s.relinked), ("converted", s.converted), ("grants", s.grants), ("revokes", s.revokes),
            ("violations", s.violations), ("drifts", s.drifts), ("privileged changes", s.privilegedChanges),
            ("unauthorised", s.unauthorised),
        ]
        if let run = outcome.quarantinedRun {
            lines.append("run \(run) QUARANTINED by the mass-change guard: nothing applied")
            for reason in outcome.guardVerdict?.reasons ?? [] { lines.append("  \(reason)") }
        } else if outcome.held > 0 {
            lines.append("\(outcome.held) decisions HELD BACK by the mass-change guard (\(outcome.newlyHeld) new); everything else applied")
            for reason in outcome.guardVerdict?.reasons ?? [] { lines.append("  \(reason)") }
        }
        for (name, value) in rows + occasional.filter({ $0.1 > 0 }) {
            lines.append(name.padding(toLength: 19, withPad: " ", startingAt: 0) + String(value))
        }
        for row in outcome.report.rejectedRows {
            lines.append("rejected \(row)")
        }
        return lines.joined(separator: "\n")
    }
}
