import Foundation
import Metrics

/// What a run tells /metrics: events by type, entries read and the time of the last successful
/// read per directory, records read and the time of the last successful read per HR source, held
/// decisions. One place for scheduled, live and operators' runs.
enum RunMetrics {
    /// - Parameter kind: full, delta, live, manual.
    static func record(_ outcome: ReconcileOutcome, kind: String) {
        let now = Date().timeIntervalSince1970
        for directory in outcome.directories {
            Counter(label: "rollcall_directory_entries_read_total", dimensions: [("directory", directory.directory), ("read", directory.read)])
                .increment(by: Int64(directory.entries))
            Gauge(label: "rollcall_directory_last_read_timestamp_seconds", dimensions: [("directory", directory.directory)]).record(now)
        }
        for (source, count) in outcome.report.personsBySource {
            Counter(label: "rollcall_hr_records_read_total", dimensions: [("source", source)]).increment(by: Int64(count))
            Gauge(label: "rollcall_hr_source_last_read_timestamp_seconds", dimensions: [("source", source)]).record(now)
        }
        for (type, count) in outcome.eventsByType {
            Counter(label: "rollcall_events_by_type_total", dimensions: [("type", type)]).increment(by: Int64(count))
        }
        if outcome.summary.events > 0 {
            Counter(label: "rollcall_events_total", dimensions: [("kind", kind)]).increment(by: Int64(outcome.summary.events))
        }
    }
}
