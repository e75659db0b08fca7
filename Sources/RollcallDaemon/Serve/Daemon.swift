import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import Prometheus
import RollcallCore
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
        // Files the daemon creates (the store, its WAL, the admin socket before it is opened to
        // its group) are its own.
        umask(0o077)
        var adminSocket = configuration.serve.adminSocket
        if let socket = adminSocket {
            do {
                try Self.checkAdminSocket(socket)
            } catch let error as AdminClientError where socket == ServeSettings.defaultAdminSocket && !error.description.contains("already") {
                // The default place outside systemd's RuntimeDirectory: run without the socket
                // (the CLI then applies commands itself, under the run lock) rather than not at all.
                logger.warning("no admin socket: \(error.description)")
                adminSocket = nil
            }
        }
        let state = DaemonState(configuration: configuration)
        // The store is created or migrated before anything listens.
        let store = try Store.open(path: configuration.storePath)
        state.markStoreOpen()
        let notifier = SystemdNotifier()
        let logger = self.logger
        let serve = configuration.serve
        let router = FeedRouter.build(health: state, registry: registry,
                                      feed: EventFeed(store: store, signal: state.outbox,
                                                      maxWait: .seconds(serve.longPollMaxSeconds), limiter: RateLimiter(rate: serve.feedRate)))
        // The access review pages (issue 14): reviewers sign in with their invitation link.
        let outbox = state.outbox
        try ReviewPages(store: store, configuration: { state.configuration }, eventSource: configuration.eventSource, secure: serve.tls != nil, logger: logger,
                        published: { outbox.publish($0) }).routes(router)
        let application = Application(
            router: router,
            server: try Self.server(serve.tls),
            configuration: ApplicationConfiguration(address: .hostname(serve.host, port: serve.port), serverName: "rollcall"),
            onServerRunning: { channel in
                logger.notice("rollcall serve is ready", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                notifier.send("READY=1")
                notifier.send("STATUS=ready; " + state.lastRunSummary())
            },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: Scheduler(state: state, notifier: notifier, logger: logger)),
            .init(service: LiveListener(state: state, logger: logger)),
            .init(service: OutboxWatcher(state: state, logger: logger)),
            .init(service: WebhookDispatcher(state: state, logger: logger)),
        ]
        if let socket = adminSocket {
            services.append(.init(service: AdminSocket(path: socket, state: state, logger: logger)))
        }
        services += [
            .init(service: WatchdogService(state: state, notifier: notifier, logger: logger)),
            .init(service: ReloadService(path: configurationPath, state: state, notifier: notifier, logger: logger)),
            .init(service: application),
            .init(service: StoppingNotice(notifier: notifier, logger: logger)),
        ]
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(90)
        try await ServiceGroup(configuration: group).run()
    }

    /// HTTP/1.1, over TLS when `serve.tls` is set (its files read now; a renewed certificate needs
    /// a restart). A file that is not PEM fails the start naming the key; the library's own error
    /// text is not passed on.
    static func server(_ tls: ServeTLS?) throws -> HTTPServerBuilder {
        guard let tls else { return .http1() }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certFile)
        } catch {
            throw ConfigurationError(file: "serve.tls", key: "serve.tls.cert_file", reason: "\(tls.certFile) holds no PEM certificate")
        }
        guard !chain.isEmpty else {
            throw ConfigurationError(file: "serve.tls", key: "serve.tls.cert_file", reason: "\(tls.certFile) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: try SecretFile.read(tls.keyFile, content: .lines), format: .pem)
        } catch let refusal as SecretFile.Refusal {
            throw ConfigurationError(file: "serve.tls", key: "serve.tls.key_file", reason: refusal.description)
        } catch {
            throw ConfigurationError(file: "serve.tls", key: "serve.tls.key_file", reason: "\(tls.keyFile) holds no PEM private key (unencrypted)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.minVersion == "1.3" ? .tlsv13 : .tlsv12
        return try .tls(.http1(), tlsConfiguration: configuration)
    }

    /// The admin socket's directory must exist, and no other daemon may be listening there.
    static func checkAdminSocket(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AdminClientError("serve.admin.socket: the directory \(directory) does not exist (under systemd, RuntimeDirectory=rollcall makes it; elsewhere set serve.admin.socket, or off)")
        }
        if AdminClient.probe(path) == .running {
            throw AdminClientError("serve.admin.socket: another rollcall serve is already listening on \(path)")
        }
    }
}
