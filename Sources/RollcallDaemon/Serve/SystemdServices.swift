import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `WATCHDOG=1` at half of `$WATCHDOG_USEC`, only while the scheduler is healthy: a daemon whose
/// scheduler hangs stops pinging and systemd's watchdog ends it.
struct WatchdogService: Service {
    let state: DaemonState
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        let half = interval / 2
        var warned = false
        defer { logger.info("watchdog service stopped") }
        while !Task.isShuttingDownGracefully {
            if state.isHealthy(tick: 1) {
                notifier.send("WATCHDOG=1")
                warned = false
            } else if !warned {
                logger.critical("the scheduler is not making progress: watchdog pings stopped")
                warned = true
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: half) }
            } catch {
                return
            }
        }
    }
}

/// SIGHUP: `RELOADING=1`, the configuration file read and validated again; a valid one replaces
/// the one in force at the next run, an invalid one is refused (logged, the old one kept); then
/// `READY=1`. The HTTP listener's address is only read at start.
struct ReloadService: Service {
    let path: String
    let state: DaemonState
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        defer { logger.info("reload service stopped") }
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            notifier.reloading()
            do {
                state.configuration = try ConfigurationLoader.load(path: path)
                logger.notice("configuration reloaded", metadata: ["config.file": "\(path)"])
                notifier.send("STATUS=configuration reloaded; " + state.lastRunSummary())
            } catch {
                logger.error("configuration refused, the one in force is kept", metadata: ["config.error": "\(error)"])
                notifier.send("STATUS=configuration refused, the one in force is kept: \(ReconcileJob.oneLine(error))")
            }
            notifier.send("READY=1")
        }
    }
}

/// Tells systemd the daemon is stopping as soon as the graceful shutdown begins (the last service
/// of the group, so the first to hear of it).
struct StoppingNotice: Service {
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("stopping: finishing the run in progress, if any")
        notifier.send("STOPPING=1")
    }
}
