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
    /// - Parameter cache: unchanged files are not parsed again (the daemon's runs).
    public static func read(_ sources: [HRSourceSettings], cache: HRReadCache? = nil,
                            logger: Logger = Logger(label: "rollcall.hr")) async throws(HRSourceError) -> HRReadResult {
        var merged = HRReadResult(records: [], rejected: [])
        var origin: [String: (source: String, location: SourceLocation)] = [:]
        var results: [HRReadResult] = []
        var disputed: [String: [RejectedRow]] = [:]
        for settings in sources {
            if let cache {
                results.append(try await cache.read(settings, logger: logger))
            } else {
                results.append(try await HRSource(settings: settings).read(logger: logger))
            }
        }
        let total = results.reduce(0) { $0 + $1.records.count }
        origin.reserveCapacity(total)
        merged.records.reserveCapacity(total)
        for (settings, result) in zip(sources, results) {
            if result.records.isEmpty && !settings.allowEmpty {
                let rejected = result.rejected.isEmpty ? "" : " (\(result.rejected.count) records rejected, e.g. \(result.rejected[0]))"
                throw HRSourceError(source: settings.path,
                                    reason: "source \(settings.name) yielded no persons\(rejected); refusing to act on an empty feed (set allow_empty if it may be empty)")
            }
            merged.rejected.append(contentsOf: result.rejected)
            merged.unusableIDs.formUnion(result.unusableIDs)
            for var record in result.records {
                record.source = settings.name
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
            merged.unusableIDs.formUnion(disputed.keys)
            for (name, _) in merged.countsBySource {
                merged.countsBySource[name] = merged.records.reduce(0) { $0 + (origin[$1.employeeID]?.source == name ? 1 : 0) }
            }
        }
        merged.warnings = ManagerChecks.warnings(merged.records, sourceOf: { origin[$0]?.source ?? "" },
                                                 knownIDs: Set(origin.keys))
        // A termination before the current hire date is a rehire's old termination: ignored.
        for index in merged.records.indices {
            let record = merged.records[index]
            if let start = record.attributes.hireDate, let end = record.attributes.terminationDate, end < start {
                merged.warnings.append(RowWarning(source: origin[record.employeeID]?.source ?? "", location: record.origin,
                                                  reason: "termination_date \(end) is before hire_date \(start) for employee \(record.employeeID); the termination date is ignored (an earlier employment's)"))
                merged.records[index].attributes.terminationDate = nil
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
        var index: [String: Int] = [:]
        index.reserveCapacity(records.count)
        for (position, record) in records.enumerated() { index[record.employeeID] = position }
        // Each person's manager as a position (-1: none, or not among these persons).
        var manager = [Int](repeating: -1, count: records.count)
        var warnings: [RowWarning] = []
        func warn(_ record: HRRecord, _ reason: String) {
            warnings.append(RowWarning(source: sourceOf(record.employeeID), location: record.origin, reason: reason))
        }
        for (position, record) in records.enumerated() {
            guard let id = record.attributes.managerID else { continue }
            if id == record.employeeID {
                warn(record, "employee \(record.employeeID) is their own manager")
            } else if let found = index[id] {
                manager[position] = found
            } else if !knownIDs.contains(id) {
                warn(record, "manager id \(id) of employee \(record.employeeID) is in no HR source")
            }
        }
        // Cycles longer than one: each person has at most one manager, so walking up from every
        // person once, colouring as we go, finds every cycle in linear time.
        var state = [UInt8](repeating: 0, count: records.count)  // 1: on the current walk, 2: done
        var path: [Int] = []
        for start in records.indices where state[start] == 0 {
            path.removeAll(keepingCapacity: true)
            var current = start
            while current >= 0, state[current] == 0 {
                state[current] = 1
                path.append(current)
                current = manager[current]
            }
            if current >= 0, state[current] == 1, let first = path.firstIndex(of: current), path.count - first > 1 {
                let cycle = path[first...].map { records[$0].employeeID }
                let text = (cycle + [records[current].employeeID]).joined(separator: " → ")
                for member in path[first...] { warn(records[member], "manager cycle: \(text)") }
            }
            for position in path { state[position] = 2 }
        }
        return warnings.sorted { ($0.source, $0.location.source, $0.location.line) < ($1.source, $1.location.source, $1.location.line) }
    }
}
