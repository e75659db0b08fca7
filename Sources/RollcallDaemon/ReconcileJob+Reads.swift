import Foundation
import Logging
import RollcallCore
import RollcallDirectory
import RollcallHR
import RollcallStore

/// The reads of a run: HR, each directory (full or delta, with its enabled state), the entitlement
/// groups, and the tombstones' key.
extension ReconcileJob {
    /// The tombstones' key, read each run (never logged, never in a message).
    func tombstoneKey(report: RunReport) throws -> Pseudonymiser? {
        guard let file = configuration.tombstoneKeyFile else { return nil }
        let key: [UInt8]
        do {
            key = try SecretFile.read(file, content: .binary)
        } catch {
            throw ReconcileFailure(reason: "lifecycle.tombstone_key_file: \(error)", report: report)
        }
        do {
            return try Pseudonymiser(key: key)
        } catch {
            throw ReconcileFailure(reason: "lifecycle.tombstone_key_file: \(error)", report: report)
        }
    }

    func readHR(report: inout RunReport) async throws -> HRReadResult {
        let result = try await HRSources.read(configuration.hrSources, cache: hrFiles, logger: logger)
        report.rejectedRows = result.rejected
        report.warnings = result.warnings
        report.personsBySource = result.countsBySource
        if !result.warnings.isEmpty {
            logger.warning("HR data to check (see the run report)", metadata: ["hr.warnings": "\(result.warnings.count)"])
        }
        guard !result.rejected.isEmpty else { return result }
        let skipping = Set(configuration.hrSources.filter(\.skipBadRecords).map(\.name))
        let stopping = result.rejected.filter { !skipping.contains($0.source) }
        if !stopping.isEmpty {
            let first = stopping.prefix(3).map(\.description).joined(separator: "; ")
            let more = stopping.count > 3 ? " (and \(stopping.count - 3) more)" : ""
            let sources = Set(stopping.map(\.source)).sorted().joined(separator: ", ")
            throw ReconcileFailure(reason: "\(stopping.count) bad HR records, nothing applied (on_bad_rows is stop for \(sources)): \(first)\(more)",
                                   report: report)
        }
        report.badRowsSkipped = true
        logger.warning("bad HR records skipped", metadata: ["hr.rejected": "\(result.rejected.count)"])
        return result
    }

    /// A reader for one directory, its bind password read now (a rotated password needs no
    /// restart), and a logger that names the directory.
    func reader(for directory: ResolvedDirectory) throws -> (DirectoryReader, Logger) {
        var logger = self.logger
        logger[metadataKey: "directory"] = "\(directory.name)"
        var settings = directory.ldap
        if let file = directory.bindPasswordFile {
            settings.bindPassword = try PasswordFile.read(file, key: "\(directory.key).bind_password_file")
        }
        var reader = DirectoryReader(settings: settings, request: directory.search, mapping: directory.mapping, retry: directory.retry)
        if let progress {
            let started = ContinuousClock.now
            let name = directory.name
            reader.onEntries = { count in
                let elapsed = ContinuousClock.now - started
                progress(RunProgress(phase: "read_directory", place: name, count: count,
                                     seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, done: false))
            }
        }
        return (reader, logger)
    }

    /// The groups the entitlement rules are about, read whole from their directory.
    func readEntitlementGroups() async throws -> EntitlementInput? {
        guard let entitlements = configuration.entitlements,
              let directory = configuration.directories.first(where: { $0.name == entitlements.policy.directory }) else { return nil }
        let (reader, logger) = try reader(for: directory)
        do {
            var groups: [DirectoryGroup] = []
            if let base = entitlements.groupsBaseDN {
                groups = try await reader.readGroups(baseDN: base, filter: entitlements.groupsFilter,
                                                     memberAttribute: entitlements.memberAttribute, logger: logger)
            }
            var privileged = entitlements.policy.privileged?.groups ?? []
            if let base = entitlements.protectedGroupsBaseDN {
                // Active Directory's protected groups live outside the managed groups' base (CN=Users, CN=Builtin).
                let found = try await reader.readGroups(baseDN: base, filter: ResolvedEntitlements.protectedGroupsFilter,
                                                        memberAttribute: entitlements.memberAttribute, logger: logger)
                let known = Set(groups.map { $0.dn.lowercased() })
                groups += found.filter { !known.contains($0.dn.lowercased()) }
                privileged += found.map(\.dn)
            }
            return EntitlementInput(policy: entitlements.policy, groups: groups, privileged: privileged)
        } catch {
            throw DirectoryReadFailure(directory: directory.name, underlying: error)
        }
    }

    /// Reads every configured directory, concurrently. Any failed read fails the run (naming the
    /// directory): a person's situation depends on all their accounts, so a run never plans from
    /// some directories only. `state` is the stored state as it loads (at the same time as the
    /// reads): only a delta waits for it, to apply the changes to the stored accounts.
    func readDirectories(store: Store, state: @escaping @Sendable () async throws -> StoredState, forceFull: Bool,
                         now: Date) async throws -> [(input: DirectoryInput, run: DirectoryRun)] {
        let reads = try await withThrowingTaskGroup(of: (Int, DirectoryInput, DirectoryRun).self) { group in
            for (index, directory) in configuration.directories.enumerated() {
                let name = directory.name
                group.addTask {
                    do {
                        var (accounts, kind, cookie) = try await self.read(directory, store: store, stored: { try await state().accounts[name] ?? [:] },
                                                                           forceFull: forceFull, now: now)
                        if let disabled = directory.disabledWhen.filter(at: now) {
                            let (reader, logger) = try self.reader(for: directory)
                            let anchors = try await reader.readDisabledAnchors(disabled: disabled, logger: logger)
                            for index in accounts.indices { accounts[index].enabled = !anchors.contains(accounts[index].anchor) }
                        } else if accounts.contains(where: { $0.enabled != nil }) {
                            // No rule (any more): a delta's stored accounts carry no stale state.
                            for index in accounts.indices { accounts[index].enabled = nil }
                        }
                        let fingerprint = kind == "full" && cookie == nil ? nil : Store.fingerprint(directory.searchDefinition)
                        return (index, DirectoryInput(name: directory.name, rules: directory.rules, accounts: accounts,
                                                      hrOwned: directory.hrOwned, orphanAction: directory.orphanAction,
                                                      unlinkedAction: directory.unlinkedAction, unmatchedAction: directory.unmatchedAction,
                                                      allowEmpty: directory.allowEmpty),
                                DirectoryRun(directory: directory.name, read: kind, cookie: cookie, entries: accounts.count,
                                             fingerprint: fingerprint))
                    } catch {
                        throw DirectoryReadFailure(directory: directory.name, underlying: error)
                    }
                }
            }
            var reads = [(input: DirectoryInput, run: DirectoryRun)?](repeating: nil, count: configuration.directories.count)
            for try await (index, input, run) in group { reads[index] = (input, run) }
            return reads.compactMap { $0 }
        }
        let configured = Set(configuration.directories.map(\.name))
        for (name, accounts) in try await state().accounts where !configured.contains(name) && !accounts.isEmpty {
            logger.warning("stored accounts of a directory that is not configured are left as they are",
                           metadata: ["directory": "\(name)", "directory.accounts": "\(accounts.count)"])
        }
        return reads
    }

    /// One directory's accounts as a complete read would return them, how they were read, and the
    /// cookie to keep.
    func read(_ directory: ResolvedDirectory, store: Store, stored: () async throws -> [String: StoredAccount], forceFull: Bool,
                      now: Date) async throws -> (accounts: [DirectoryAccount], kind: String, cookie: [UInt8]?) {
        let (reader, logger) = try reader(for: directory)
        guard directory.delta != .none else {
            return (try await reader.readAccounts(logger: logger), "full", nil)
        }
        let checkpoint = try store.directoryCheckpoint(directory.name)
        // A cookie continues only the search it was taken with.
        let changedSearch = checkpoint.cookie != nil && checkpoint.fingerprint != Store.fingerprint(directory.searchDefinition)
        if changedSearch {
            logger.notice("full read: the directory's search changed since its delta cookie was taken (base_dn, scope, filter, attributes, anchor or delta), or the cookie predates fingerprints",
                          metadata: ["directory": "\(directory.name)"])
        }
        let fullDue = forceFull || checkpoint.cookie == nil || changedSearch
            || checkpoint.lastFullRead.map { now.timeIntervalSince($0) >= directory.fullReadInterval } ?? true
        let root = directory.domainRoot
        switch directory.delta {
        case .none:
            return (try await reader.readAccounts(logger: logger), "full", nil)
        case .syncrepl:
            let read = try await reader.syncRead(cookie: fullDue ? nil : checkpoint.cookie, logger: logger)
            if read.isFull { return (read.changed, "full", read.cookie) }
            let accounts = DirectoryDelta.apply(stored: try await stored(), changed: read.changed, deleted: read.deleted, present: read.present)
            return (accounts, "delta", read.cookie)
        case .dirsync:
            // The cookie is DirSync's. A delta only names what changed; the changed accounts are read whole.
            if !fullDue, let cookie = checkpoint.cookie {
                let delta = try await reader.dirSyncDelta(domainRoot: root, cookie: cookie, logger: logger)
                let accounts = DirectoryDelta.apply(stored: try await stored(), changed: delta.changed, deleted: delta.gone, present: nil)
                return (accounts, "delta", delta.cookie)
            }
            let full = try await reader.dirSyncFull(domainRoot: root, logger: logger)
            return (full.accounts, "full", full.cookie)
        case .usn:
            // The cookie is the JSON of a `USNCheckpoint`.
            if !fullDue, let cookie = checkpoint.cookie, let since = try? JSONDecoder().decode(USNCheckpoint.self, from: Data(cookie)),
               let delta = try await reader.usnDelta(domainRoot: root, since: since, logger: logger) {
                let accounts = DirectoryDelta.apply(stored: try await stored(), changed: delta.changed, deleted: delta.gone, present: nil)
                return (accounts, "delta", Array(try JSONEncoder().encode(delta.checkpoint)))
            }
            // Checkpoint first: whatever commits during the full read is in the next window.
            let start = try await reader.usnCheckpoint(logger: logger)
            let accounts = try await reader.readAccounts(logger: logger)
            return (accounts, "full", Array(try JSONEncoder().encode(start)))
        }
    }
}

/// Wall-clock seconds per phase of a run, reported with the outcome so an operator sees where time goes.
struct PhaseTimer {
    private(set) var seconds: [String: Double] = [:]
    /// The process's peak resident set when each phase ended (MiB, from getrusage).
    private(set) var peakMegabytes: [String: Double] = [:]
    /// Told as each phase starts and ends.
    var progress: (@Sendable (RunProgress) -> Void)?

    mutating func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        progress?(RunProgress(phase: name, seconds: 0, done: false))
        defer { record(name, start) }
        return try body()
    }

    /// - Parameter count: what the phase read, for its progress line (records, entries).
    mutating func measure<T>(_ name: String, count: ((T) -> Int)? = nil, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        progress?(RunProgress(phase: name, seconds: 0, done: false))
        var counted: Int?
        defer { record(name, start, count: counted) }
        let value = try await body()
        counted = count?(value)
        return value
    }

    /// A phase that runs alongside others (its own task): told to `progress` like the rest, its
    /// seconds returned for `record(_:seconds:)` once the phases meet.
    static func timed<T>(_ name: String, progress: (@Sendable (RunProgress) -> Void)?, count: ((T) -> Int)? = nil,
                         _ body: () async throws -> T) async rethrows -> (value: T, seconds: Double) {
        let start = ContinuousClock.now
        progress?(RunProgress(phase: name, seconds: 0, done: false))
        let value = try await body()
        let seconds = Self.seconds(since: start)
        progress?(RunProgress(phase: name, count: count?(value), seconds: seconds, done: true))
        return (value, seconds)
    }

    mutating func record(_ name: String, seconds value: Double) {
        seconds[name] = value
        peakMegabytes[name] = Self.peakMegabytes()
    }

    /// ru_maxrss is in KiB on Linux.
    static func peakMegabytes() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return (Double(usage.ru_maxrss) / 1024 * 10).rounded() / 10
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private mutating func record(_ name: String, _ start: ContinuousClock.Instant, count: Int? = nil) {
        let value = Self.seconds(since: start)
        record(name, seconds: value)
        progress?(RunProgress(phase: name, count: count, seconds: value, done: true))
    }
}

/// Reads a bind password from its file; the content never appears in errors.
enum PasswordFile {
    static func read(_ path: String, key: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path)
        } catch {
            throw ConfigurationError(file: path, key: key, reason: error.reason)
        }
        guard !bytes.isEmpty else { throw ConfigurationError(file: path, key: key, reason: "is empty") }
        return bytes
    }
}

/// A directory read that failed, naming the directory.
struct DirectoryReadFailure: Error, CustomStringConvertible {
    var directory: String
    var underlying: any Error

    var description: String { "directory \(directory): \(underlying)" }
}
