import Foundation
import Hummingbird
import Logging
import Prometheus
import RollcallFeed
import RollcallStore
import ServiceLifecycle

/// `rollcall serve`: one service group (swift-service-lifecycle) with the scheduler, the systemd
/// watchdog, the SIGHUP reload, the HTTP server (Hummingbird: /healthz, /readyz, /metrics) and the
/// stop notice. SIGTERM and SIGINT shut it down gracefully in reverse order: the HTTP server first,
/// the scheduler last, finishing its run in progress.
public struct Daemon: Sendable {
    public var configurationPath: String
    public var registry: PrometheusCollectorRegistry
    public var logger: Logger

    public init(configurationPath: String, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.configurationPath = configurationPath
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        let configuration = try ConfigurationLoader.load(path: configurationPath)
        let state = DaemonState(configuration: configuration)
        // The store is created or migrated before anything listens.
        _ = try Store.open(path: configuration.storePath)
        state.markStoreOpen()
        let notifier = SystemdNotifier()
        let logger = self.logger
        let serve = configuration.serve
        let application = Application(
            router: FeedRouter.build(health: state, registry: registry),
            configuration: ApplicationConfiguration(address: .hostname(serve.host, port: serve.port), serverName: "rollcall"),
            onServerRunning: { channel in
                logger.notice("rollcall serve is ready", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                notifier.send("READY=1")
                notifier.send("STATUS=ready; " + state.lastRunSummary())
            },
            logger: logger)
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: Scheduler(state: state, notifier: notifier, logger: logger)),
            .init(service: LiveListener(state: state, logger: logger)),
            .init(service: WatchdogService(state: state, notifier: notifier, logger: logger)),
            .init(service: ReloadService(path: configurationPath, state: state, notifier: notifier, logger: logger)),
            .init(service: application),
            .init(service: StoppingNotice(notifier: notifier, logger: logger)),
        ]
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(90)
        try await ServiceGroup(configuration: group).run()
    }
}
