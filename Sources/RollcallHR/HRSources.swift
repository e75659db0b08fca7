import Logging
import RollcallCore

/// Several HR sources read together, in their configured order, into one set of persons.
///
/// Checks across sources: an employee id found in two sources is disputed (no record of it is
/// used, each is reported; the stored person, if any, is left as it is); a source that yields no
/// persons fails the read unless it allows that. Checks of the whole set, reported as warnings
/// (the persons are used as HR says): a person who manages themselves, a manager cycle, a
/// manager id that no source has, a termination date before the hire date.
public enum HRSources {
    public static func read(_ sources: [HRSourceSettings], logger: Logger = Logger(label: "rollcall.hr")) async throws(HRSourceError) -> HRReadResult {
        var merged = HRReadResult(records: [], rejected: [])
        var origin: [String: (source: String, location: SourceLocation)] = [:]
        var disputed: [String: [RejectedRow]] = [:]
        for settings in sources {
            let result = try await HRSource(settings: settings).read(logger: logger)
            if result.records.isEmpty && !settings.allowEmpty {
                let rejected = result.rejected.isEmpty ? "" : " (\(result.rejected.count) records rejected, e.g. \(result.rejected[0]))"
                throw HRSourceError(source: settings.path,
                                    reason: "source \(settings.name) yielded no persons\(rejected); refusing to act on an empty feed (set allow_empty if it may be empty)")
            }
            merged.rejected.append(contentsOf: result.rejected)
            for record in result.records {
                if let first = origin[record.employeeID] {
                    disputed[record.employeeID, default: []].append(RejectedRow(
                        source: settings.name, location: record.origin,
                        reason: "employee id \(record.employeeID) is also in source \(first.source) (\(first.location)); the id is disputed and no record of it is used"))
                } else {
                    origin[record.employeeID] = (settings.name, record.origin)
                    merged.records.append(record)
                }
            }
            merged.countsBySource[settings.name] = result.records.count
        }
        if !disputed.isEmpty {
            for record in merged.records {
                guard let others = disputed[record.employeeID], let first = origin[record.employeeID] else { continue }
                let elsewhere = others.map { "\($0.source) (\($0.location))" }.joined(separator: ", ")
                merged.rejected.append(RejectedRow(source: first.source, location: record.origin,
                                                   reason: "employee id \(record.employeeID) is also in source \(elsewhere); the id is disputed and no record of it is used"))
                merged.rejected.append(contentsOf: others)
            }
            merged.records.removeAll { disputed[$0.employeeID] != nil }
            for (name, _) in merged.countsBySource {
                merged.countsBySource[name] = merged.records.reduce(0) { $0 + (origin[$1.employeeID]?.source == name ? 1 : 0) }
            }
        }
        merged.warnings = ManagerChecks.warnings(merged.records, sourceOf: { origin[$0]?.source ?? "" },
                                                 knownIDs: Set(origin.keys))
        for record in merged.records {
            if let start = record.attributes.hireDate, let end = record.attributes.terminationDate, end < start {
                merged.warnings.append(RowWarning(source: origin[record.employeeID]?.source ?? "", location: record.origin,
                                                  reason: "termination_date \(end) is before hire_date \(start) for employee \(record.employeeID)"))
            }
        }
        return merged
    }
}

/// Manager references within the persons read: self-management, cycles, unknown managers.
enum ManagerChecks {
    /// - Parameter knownIDs: every id some source has (disputed ones included: their manager
    ///   references are not "unknown", only undecidable).
    static func warnings(_ records: [HRRecord], sourceOf: (String) -> String, knownIDs: Set<String>) -> [RowWarning] {
        var managerOf: [String: String] = [:]
        var byID: [String: HRRecord] = [:]
        managerOf.reserveCapacity(records.count)
        byID.reserveCapacity(records.count)
        for record in records {
            byID[record.employeeID] = record
            if let manager = record.attributes.managerID { managerOf[record.employeeID] = manager }
        }
        var warnings: [RowWarning] = []
        func warn(_ record: HRRecord, _ reason: String) {
            warnings.append(RowWarning(source: sourceOf(record.employeeID), location: record.origin, reason: reason))
        }
        for record in records {
            guard let manager = record.attributes.managerID else { continue }
            if manager == record.employeeID {
                warn(record, "employee \(record.employeeID) is their own manager")
            } else if !knownIDs.contains(manager) {
                warn(record, "manager id \(manager) of employee \(record.employeeID) is in no HR source")
            }
        }
        // Cycles longer than one: each person has at most one manager, so walking up from every
        // person once, colouring as we go, finds every cycle in linear time.
        var state: [String: UInt8] = [:]  // 1: on the current walk, 2: done
        for start in records.map(\.employeeID) where state[start] == nil {
            var path: [String] = []
            var current: String? = start
            while let id = current, state[id] == nil, byID[id] != nil {
                state[id] = 1
                path.append(id)
                current = managerOf[id]
            }
            if let id = current, state[id] == 1, let index = path.firstIndex(of: id), path.count - index > 1 {
                let cycle = Array(path[index...])
                let text = (cycle + [id]).joined(separator: " → ")
                for member in cycle {
                    if let record = byID[member] { warn(record, "manager cycle: \(text)") }
                }
            }
            for id in path { state[id] = 2 }
        }
        return warnings.sorted { ($0.source, $0.location.source, $0.location.line) < ($1.source, $1.location.source, $1.location.line) }
    }
}
