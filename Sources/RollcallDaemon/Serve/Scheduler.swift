import Foundation
import Logging
import Metrics
import RollcallCore
import RollcallStore
import ServiceLifecycle

/// The daemon's runs: full runs every `serve.schedule.full.every_hours` (or at its times of day),
/// runs between them every `delta.every_seconds` (each directory read by its delta, or in full when
/// its `full_read_interval_hours` says so), and a run as soon as an HR file changed (checked each
/// second by its stamp, read once it has settled). One run at a time (the run lock also keeps CLI
/// commands out); a run in progress when the daemon is stopped is finished, not abandoned.
struct Scheduler: Service {
    let state: DaemonState
    let notifier: SystemdNotifier
    let logger: Logger
    let tick: Duration = .seconds(1)
    /// How long a changed HR file must stay unchanged before a run reads it.
    let hrSettle: TimeInterval = 2

    func run() async throws {
        let configuration = state.configuration
        // A store with applied runs was fully read before: the next full run is due by the schedule.
        let applied = (try? Store.open(path: configuration.storePath).newestAppliedRunID()) ?? 0
        var lastFull: Date? = applied > 0 ? Date() : nil
        var lastAttempt: Date?
        // An HR file that changed: its stamps, and since when they are as they are.
        var changedHR: (stamps: String, since: Date)?
        state.markSchedulerStarted()
        while !Task.isShuttingDownGracefully {
            state.beat()
            let now = Date()
            let settings = state.configuration.serve
            var due = RunSchedule.due(now: now, lastFull: lastFull, lastAttempt: lastAttempt, settings: settings,
                                      zone: state.configuration.timeZone)
            // A live listener whose cookie was refused asks for a full run now.
            if let requested = state.takeRequestedRun() { due = due == .full ? .full : requested }
            // An HR file that changed is read by a run now, once it has been left alone for
            // `hrSettle` (an export still being written is not read half-way).
            if due == nil, let stamps = state.hrFiles.changedFiles(state.configuration.hrSources) {
                if changedHR?.stamps != stamps {
                    changedHR = (stamps, now)
                } else if let since = changedHR?.since, now.timeIntervalSince(since) >= hrSettle {
                    logger.info("an HR file changed: running now")
                    due = .delta
                    changedHR = nil
                }
            } else if due != nil {
                changedHR = nil
            }
            let next = RunSchedule.next(now: now, lastFull: lastFull, lastAttempt: lastAttempt, settings: settings,
                                        zone: state.configuration.timeZone)
            state.setNext(.full, next.full)
            state.setNext(.delta, next.delta)
            if let kind = due {
                lastAttempt = now
                if await runOnce(kind), kind == .full { lastFull = Date() }
                state.beat()
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
            } catch {
                break
            }
        }
        logger.notice("scheduler stopped")
    }

    /// One run; returns whether it applied (fully, or holding decisions back).
    private func runOnce(_ kind: DaemonState.RunKind) async -> Bool {
        let configuration = state.configuration
        let started = Date()
        state.runStarted(at: started)
        notifier.send("STATUS=\(kind.rawValue) run in progress since \(ISO8601DateFormatter().string(from: started))")
        let clock = ContinuousClock.now
        var last = DaemonState.LastRun(kind: kind, finishedAt: started, outcome: "failed", runID: nil, events: 0, detail: nil)
        do {
            var job = ReconcileJob(configuration: configuration, logger: logger)
            job.hrFiles = state.hrFiles
            // With live changes the daemon keeps the state: the run starts from it and leaves its own.
            if configuration.directories.contains(where: { $0.delta == .syncrepl }) { job.keptState = state.liveState }
            let outcome = try await job
                .run(dryRun: false, forceFull: kind == .full, lockWait: .seconds(60), onRead: { [state] read in state.hrRead = read })
            last.runID = outcome.runID ?? outcome.quarantinedRun
            last.events = outcome.summary.events
            if outcome.quarantinedRun != nil {
                last.outcome = "quarantined"
                last.detail = "waiting for rollcall approve \(outcome.quarantinedRun.map(String.init) ?? "")"
            } else if outcome.held > 0 {
                last.outcome = "held"
                last.detail = "\(outcome.held) decisions held back by the mass-change guard"
            } else {
                last.outcome = "applied"
            }
            RunMetrics.record(outcome, kind: kind.rawValue)
            if let last = outcome.lastSeq { state.outbox.publish(last) }
            Gauge(label: "rollcall_held_decisions").record(Double(outcome.held))
            if last.outcome != "quarantined" {
                Gauge(label: "rollcall_last_applied_run_timestamp_seconds").record(Date().timeIntervalSince1970)
            }
        } catch let busy as RunLockBusy {
            last.outcome = "busy"
            last.detail = busy.description
            logger.notice("run skipped: another run holds the run lock", metadata: ["run.kind": "\(kind.rawValue)"])
        } catch {
            last.detail = ReconcileJob.oneLine(error)
            logger.error("run failed", metadata: ["run.kind": "\(kind.rawValue)", "run.error": "\(last.detail ?? "")"])
        }
        let elapsed = ContinuousClock.now - clock
        Timer(label: "rollcall_run_duration_seconds", dimensions: [("kind", kind.rawValue)]).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        Counter(label: "rollcall_runs_total", dimensions: [("kind", kind.rawValue), ("outcome", last.outcome)]).increment()
        last.finishedAt = Date()
        state.runFinished(last)
        // Live changes plan from memory: the state this run left (kept by the run itself when it
        // could), loaded now otherwise rather than by the next change.
        if last.outcome == "applied" || last.outcome == "held", configuration.directories.contains(where: { $0.delta == .syncrepl }) {
            do {
                try state.liveState.refresh(storePath: configuration.storePath)
            } catch {
                logger.warning("could not keep the stored state for live changes", metadata: ["store.error": "\(error)"])
            }
        }
        notifier.send("STATUS=" + state.lastRunSummary())
        return last.outcome == "applied" || last.outcome == "held"
    }
}
