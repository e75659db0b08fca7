import Foundation
import Hummingbird
import Prometheus

/// What the HTTP server asks the daemon about its own state.
public protocol DaemonHealth: Sendable {
    /// Ready to serve: the store is open and the scheduler runs. nil: ready; otherwise why not.
    func notReadyReason() -> String?
    /// One line about the last run (for people reading /readyz).
    func lastRunSummary() -> String
    /// When the daemon started.
    var startedAt: Date { get }
}

/// The daemon's HTTP routes. The change feed (issue 11) adds its routes here.
public enum FeedRouter {
    /// `/healthz` (the process answers), `/readyz` (the daemon can do its work), `/metrics`
    /// (Prometheus text from `registry`).
    public static func build(health: any DaemonHealth, registry: PrometheusCollectorRegistry, feed: EventFeed? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        feed?.routes(router)
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ in
            let uptime = Int(Date().timeIntervalSince(health.startedAt))
            let last = health.lastRunSummary()
                + "\nup since \(ISO8601DateFormatter().string(from: health.startedAt)) (\(uptime / 86400) d \(uptime % 86400 / 3600) h \(uptime % 3600 / 60) min)"
            if let reason = health.notReadyReason() {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "not ready: \(reason)\n\(last)\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "ready\n\(last)\n")))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return router
    }
}
