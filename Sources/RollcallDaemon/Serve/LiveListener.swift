import Foundation
import Logging
import Metrics
import RollcallCore
import RollcallDirectory
import RollcallStore
import ServiceLifecycle

/// Live directory changes: for each OpenLDAP directory with `delta: syncrepl`, an RFC 4533
/// refreshAndPersist search from its stored cookie; for each Active Directory with `delta: dirsync`
/// or `usn`, its delta polled every `serve.live_poll_seconds` from a cookie kept in memory
/// (starting at the stored one). Each change is planned at once for the persons it touches
/// (`ReconcileJob.runLive`). A dropped connection reconnects with backoff from the stored cookie;
/// the scheduler's runs remain the safety net (a refused cookie makes their next read full).
struct LiveListener: Service {
    let state: DaemonState
    let logger: Logger

    func run() async throws {
        let directories = state.configuration.directories.filter { $0.delta != .none }
        guard !directories.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for directory in directories {
                if directory.delta == .syncrepl {
                    group.addTask { await self.listen(directory.name) }
                } else {
                    group.addTask { await self.poll(directory.name) }
                }
            }
        }
        logger.notice("live listeners stopped")
    }

    /// Active Directory: its DirSync or uSNChanged delta every few seconds, from a cookie of our
    /// own. It starts at the stored cookie and follows a newer one a scheduled run stored (that
    /// run read everything before it); a failed poll or apply keeps the old cookie and tries again.
    private func poll(_ name: String) async {
        var logger = self.logger
        logger[metadataKey: "directory"] = "\(name)"
        var cookie: [UInt8]?
        var adopted: [UInt8]?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let every = state.configuration.serve.livePollSeconds
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(every)) }
            } catch {
                return
            }
            guard let directory = state.configuration.directories.first(where: { $0.name == name }), state.hrRead != nil else { continue }
            do {
                let stored = try Store.open(path: state.configuration.storePath).directoryCheckpoint(name).cookie
                if cookie == nil || stored != adopted {
                    cookie = stored
                    adopted = stored
                }
                guard let from = cookie else {
                    state.setListener(name, "waiting for the first run's cookie")
                    continue
                }
                let (reader, _) = try ReconcileJob(configuration: state.configuration, logger: logger).reader(for: directory)
                let root = directory.domainRoot
                var changed: [DirectoryAccount] = []
                var gone: Set<String> = []
                var next: [UInt8]
                switch directory.delta {
                case .dirsync:
                    let delta = try await reader.dirSyncDelta(domainRoot: root, cookie: from, logger: logger)
                    (changed, gone, next) = (delta.changed, delta.gone, delta.cookie)
                case .usn:
                    guard let since = try? JSONDecoder().decode(USNCheckpoint.self, from: Data(from)),
                          let delta = try await reader.usnDelta(domainRoot: root, since: since, logger: logger) else {
                        state.setListener(name, "polling paused: the next scheduled run reads the directory in full")
                        logger.notice("live polling paused until a scheduled run reads the directory in full")
                        continue
                    }
                    (changed, gone, next) = (delta.changed, delta.gone, Array(try JSONEncoder().encode(delta.checkpoint)))
                case .none, .syncrepl:
                    return
                }
                if !changed.isEmpty || !gone.isEmpty {
                    guard await apply(name, changed: changed, deleted: gone, logger: logger) else { continue }
                }
                cookie = next
                state.setListener(name, "polling \(directory.delta.rawValue) every \(Int(every)) s, last at \(ISO8601DateFormatter().string(from: Date()))")
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                state.setListener(name, "poll failed, trying again: \(ReconcileJob.oneLine(error))")
                logger.warning("live poll failed", metadata: ["ldap.error": "\(ReconcileJob.oneLine(error))"])
            }
        }
    }

    private func listen(_ name: String) async {
        var backoff = 1.0
        var logger = self.logger
        logger[metadataKey: "directory"] = "\(name)"
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            state.setListener(name, "connecting")
            do {
                try await cancelWhenGracefulShutdown { [logger] in try await self.session(name, logger: logger) }
                backoff = 1
            } catch is CancellationError {
                return
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                if (error as? LDAPError)?.isRefreshRequired == true {
                    // The server no longer knows where we were: a full run reads everything now and
                    // stores a new cookie, which the next session continues from.
                    logger.notice("the directory refused the stored cookie; a full run follows")
                    state.requestRun(.full)
                }
                state.setListener(name, "waiting \(Int(backoff)) s to reconnect: \(ReconcileJob.oneLine(error))")
                logger.warning("live listener lost its directory; reconnecting", metadata: ["ldap.error": "\(ReconcileJob.oneLine(error))",
                                                                                            "retry.seconds": "\(backoff)"])
                Counter(label: "rollcall_live_reconnects_total").increment()
            }
            do {
                try await cancelWhenGracefulShutdown { [backoff] in try await Task.sleep(for: .seconds(backoff)) }
            } catch {
                return
            }
            backoff = min(30, backoff * 2)
        }
    }

    /// One persistent search, until it fails or the daemon stops.
    private func session(_ name: String, logger: Logger) async throws {
        guard let directory = state.configuration.directories.first(where: { $0.name == name }) else { return }
        let store = try Store.open(path: state.configuration.storePath)
        guard let cookie = try store.directoryCheckpoint(name).cookie else {
            state.setListener(name, "waiting for the first run's cookie")
            try await Task.sleep(for: .seconds(1))
            return
        }
        let (reader, _) = try ReconcileJob(configuration: state.configuration, logger: logger).reader(for: directory)
        let settings = reader.settings
        let connection = try await LDAPConnection.connect(settings)
        state.setListener(name, "refreshing from the stored cookie")
        var live = false
        do {
            for try await change in connection.persistentChanges(reader.request, cookie: cookie) {
                switch change {
                case .refreshDone:
                    live = true
                    state.setListener(name, "live since \(ISO8601DateFormatter().string(from: Date()))")
                    logger.notice("live listener is receiving changes")
                case .changed(let entry) where live:
                    await apply(name, changed: [try reader.mapping.account(from: entry)], deleted: [], logger: logger)
                case .deleted(let anchor) where live:
                    await apply(name, changed: [], deleted: [anchor], logger: logger)
                default:
                    continue  // the refresh: the scheduler's delta reads it
                }
            }
        } catch {
            await connection.close()
            throw error
        }
        logger.info("persistent search over; closing its connection")
        await connection.close()
        if !Task.isCancelled { throw LDAPError(step: .search, code: -1, place: settings.uri, detail: "the persistent search ended") }
    }

    /// Plans and applies one change; whether it was (or needed nothing).
    @discardableResult
    private func apply(_ name: String, changed: [DirectoryAccount], deleted: Set<String>, logger: Logger) async -> Bool {
        Counter(label: "rollcall_live_changes_total", dimensions: [("directory", name)]).increment(by: Int64(max(1, changed.count + deleted.count)))
        guard let hr = state.hrRead else {
            logger.info("live change left to the next scheduled run: no HR read yet")
            return false
        }
        let started = ContinuousClock.now
        do {
            let outcome = try await ReconcileJob(configuration: state.configuration, logger: logger)
                .runLive(directory: name, changed: changed, deleted: deleted, hr: hr, kept: state.liveState)
            let elapsed = ContinuousClock.now - started
            Timer(label: "rollcall_live_change_seconds").recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            if let outcome { RunMetrics.record(outcome, kind: "live") }
            if let last = outcome?.lastSeq { state.outbox.publish(last) }
            return true
        } catch {
            logger.error("live change not applied; the next scheduled run will", metadata: ["run.error": "\(ReconcileJob.oneLine(error))"])
            return false
        }
    }
}
