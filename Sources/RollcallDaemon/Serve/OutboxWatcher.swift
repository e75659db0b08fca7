import Foundation
import Logging
import RollcallFeed
import RollcallStore
import ServiceLifecycle

/// Tells the feed's long-polls about events other processes committed (a CLI run while the
/// daemon was starting, a restore): the outbox's newest sequence, read every 100 ms. The
/// daemon's own applies publish at once, without waiting for it.
struct OutboxWatcher: Service {
    let state: DaemonState
    let logger: Logger
    let interval: Duration = .milliseconds(100)

    func run() async throws {
        var store: Store?
        while !Task.isShuttingDownGracefully {
            do {
                let open = try store ?? Store.open(path: state.configuration.storePath)
                store = open
                state.outbox.publish(try open.newestSequence())
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
