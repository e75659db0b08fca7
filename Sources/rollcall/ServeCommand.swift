import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import RollcallDaemon

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run as a long-running daemon: scheduled runs, health, readiness and metrics over HTTP, systemd notify.",
        discussion: """
            Full runs and runs between them as serve.schedule says; GET /healthz, /readyz and /metrics on \
            serve.listen (default 127.0.0.1:8642). Under systemd (Type=notify): READY=1 once the store is \
            open and the listener is up, STATUS= after each run, WATCHDOG=1 while the scheduler is \
            healthy; SIGHUP re-reads the configuration (an invalid one is refused and the old one kept); \
            SIGTERM finishes the run in progress and stops.
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let path = options.path
        _ = try options.load()  // a configuration error says so before anything starts
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        do {
            try await Daemon(configurationPath: path, registry: registry, logger: options.logger()).run()
        } catch {
            throw CLIFailure(message: "serve: \(error)")
        }
    }
}
