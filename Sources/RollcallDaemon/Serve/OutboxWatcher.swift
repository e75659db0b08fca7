import Foundation
import Logging
import Metrics
import RollcallFeed
import RollcallStore
import ServiceLifecycle

/// Tells the feed's long-polls about events other processes committed (a CLI run while the
/// daemon was starting, a restore): the outbox's newest sequence, read every 20 ms (MAX of the
/// primary key: a few microseconds). The daemon's own applies publish at once, without waiting
/// for it. Every 5 s it also records each consumer's lag (`rollcall_consumer_lag`).
struct OutboxWatcher: Service {
    let state: DaemonState
    let logger: Logger
    let interval: Duration = .milliseconds(20)

    func run() async throws {
        var store: Store?
        var tick = 0
        while !Task.isShuttingDownGracefully {
            do {
                let open = try store ?? Store.open(path: state.configuration.storePath)
                store = open
                let newest = try open.newestSequence()
                state.outbox.publish(newest)
                // Each consumer's lag, every 5 s.
                if tick % 250 == 0 {
                    for consumer in try open.consumers() where !consumer.isRevoked {
                        Gauge(label: "rollcall_consumer_lag", dimensions: [("consumer", consumer.name)])
                            .record(Double(max(0, newest - consumer.cursor)))
                    }
                }
                tick += 1
            } catch {
                store = nil
                logger.debug("outbox watcher could not read the store", metadata: ["store.error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
