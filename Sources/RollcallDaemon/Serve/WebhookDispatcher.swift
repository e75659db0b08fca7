import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import RollcallCore
import RollcallFeed
import RollcallStore
import ServiceLifecycle
import Synchronization

/// `rollcall_webhook_deliveries_total{webhook, outcome}`, made once per subscription.
struct OutcomeCounters {
    let delivered: Counter
    let gone: Counter
    let failed: Counter

    init(_ name: String) {
        delivered = Counter(label: "rollcall_webhook_deliveries_total", dimensions: [("webhook", name), ("outcome", "delivered")])
        gone = Counter(label: "rollcall_webhook_deliveries_total", dimensions: [("webhook", name), ("outcome", "gone")])
        failed = Counter(label: "rollcall_webhook_deliveries_total", dimensions: [("webhook", name), ("outcome", "failed")])
    }

    func count(_ outcome: WebhookDispatcher.Delivery) {
        switch outcome {
        case .delivered: delivered.increment()
        case .gone: gone.increment()
        case .failed: failed.increment()
        }
    }
}

/// The subscriptions with a delivery task.
final class RunningNames: Sendable {
    private let names = Mutex<Set<String>>([])
    func insert(_ name: String) -> Bool { names.withLock { $0.insert(name).inserted } }
    func remove(_ name: String) { _ = names.withLock { $0.remove(name) } }
}

/// Each secret file read at most once a second: a rotated secret is used within a second,
/// without a file read per delivery.
final class SecretCache: Sendable {
    private let entries = Mutex<[String: (secrets: [Data]?, at: ContinuousClock.Instant)]>([:])

    func secrets(_ path: String) -> [Data]? {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[path] }), now - entry.at < .seconds(1) { return entry.secrets }
        let secrets = (try? SecretFile.read(path, content: .lines)).flatMap { WebhookSignature.secrets(String(decoding: $0, as: UTF8.self)) }
        entries.withLock { $0[path] = (secrets, now) }
        return secrets
    }
}

/// Delivers events to each `webhooks:` subscription, one at a time in sequence order, with
/// Standard Webhooks headers (`webhook-id` = the event id, `webhook-timestamp`,
/// `webhook-signature`). The delivery state is in the store (`webhook` table; the cursor written
/// at least every 100 ms), so a restart loses and reorders nothing: an event is sent until the
/// receiver answers 2xx (at least once). A failure
/// is retried with exponential backoff and jitter (1 s doubling to 1 h) for the subscription's
/// retry window, then dead-lettered and the next event follows; 410 Gone disables the
/// subscription until `rollcall webhook replay`. Only the configured URL is asked: redirects are
/// not followed.
struct WebhookDispatcher: Service {
    let state: DaemonState
    let logger: Logger
    let secretCache = SecretCache()
    let backoff = Backoff(attempts: Int.max, initialDelaySeconds: 1, maxDelaySeconds: 3600)

    enum Delivery {
        case delivered
        case gone
        case failed(String)
    }

    /// The subscriptions in force: the configuration's (as reloaded) and those `webhook add` stored.
    private func subscriptions(_ store: Store?) -> [WebhookSettings] {
        WebhookSettings.all(state.configuration, stored: (try? store?.storedWebhooks()) ?? [])
    }

    /// One delivery task per subscription; every 5 s the list is read again, so a subscription
    /// added or removed with `rollcall webhook` (or by a reload) starts or stops without a restart.
    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let running = RunningNames()
        await withTaskGroup(of: Void.self) { group in
            var store: Store?
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if store == nil { store = try? Store.open(path: state.configuration.storePath) }
                for hook in subscriptions(store) where running.insert(hook.name) {
                    logger.info("webhook deliveries start", metadata: ["webhook": "\(hook.name)"])
                    group.addTask {
                        await self.dispatch(hook.name, client: client)
                        running.remove(hook.name)  // a subscription added again starts again
                    }
                }
                guard await pause(5) else { break }
            }
            await group.waitForAll()
        }
        try? await client.shutdown()
        logger.notice("webhook dispatcher stopped")
    }

    private func pause(_ seconds: Double) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(max(0.05, seconds))) }
            return true
        } catch {
            return false
        }
    }

    private func dispatch(_ name: String, client: HTTPClient) async {
        var logger = self.logger
        logger[metadataKey: "webhook"] = "\(name)"
        var store: Store?
        let lag = Gauge(label: "rollcall_webhook_lag", dimensions: [("webhook", name)])
        let counters = OutcomeCounters(name)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A subscription removed by a reload stops; one changed is used as it is now.
            do {
                let open = try store ?? Store.open(path: state.configuration.storePath)
                store = open
                guard let hook = subscriptions(open).first(where: { $0.name == name }) else {
                    logger.info("webhook deliveries stop: the subscription was removed")
                    return
                }
                let current = try open.webhookState(name)
                if current.disabledAt != nil {
                    guard await pause(5) else { return }
                    continue
                }
                if let next = current.nextAttemptAt.flatMap(Self.date), next > Date() {
                    guard await pause(min(5, next.timeIntervalSinceNow)) else { return }
                    continue
                }
                // A page at a time, in order.
                let page = try open.feedLines(after: current.cursor, limit: 100, types: hook.types, subject: nil, thin: false)
                lag.record(Double(max(0, state.outbox.newest - current.cursor)))
                guard !page.events.isEmpty else {
                    if page.through > current.cursor { try open.webhookDelivered(name, through: page.through) }
                    await state.outbox.wait(after: page.through, timeout: .seconds(5))
                    continue
                }
                var attempts = current.attempts
                var failingSince = current.failingSince
                // Delivered but not yet stored: at most 100 ms' worth (a restart sends those again,
                // in order; receivers de-duplicate by webhook-id), stored at once before any other
                // change of state and at the end of the page.
                var delivered: Int64?
                var storedAt = ContinuousClock.now
                defer { if let delivered { try? open.webhookDelivered(name, through: delivered) } }
                for event in page.events {
                    guard !Task.isShuttingDownGracefully && !Task.isCancelled else { break }
                    let outcome = await deliver(event, to: hook, client: client)
                    counters.count(outcome)
                    if case .delivered = outcome {
                        delivered = event.seq
                        attempts = 0
                        failingSince = nil
                        if ContinuousClock.now - storedAt >= .milliseconds(100) {
                            try open.webhookDelivered(name, through: event.seq)
                            delivered = nil
                            storedAt = .now
                        }
                        continue
                    }
                    if let done = delivered {
                        try open.webhookDelivered(name, through: done)
                        delivered = nil
                    }
                    if case .failed(let error) = outcome {
                        let now = Date()
                        let since = failingSince.flatMap(Self.date) ?? now
                        let giveUp = now.timeIntervalSince(since) >= hook.retryWindow
                        let delay = backoff.delay(beforeAttempt: attempts + 2, random: Double.random(in: 0...1))
                        if giveUp {
                            logger.error("webhook delivery given up after its retry window; the event is dead-lettered",
                                         metadata: ["event.seq": "\(event.seq)", "webhook.error": "\(error)"])
                        } else {
                            logger.notice("webhook delivery failed; trying again", metadata: [
                                "event.seq": "\(event.seq)", "webhook.error": "\(error)", "retry.delay_seconds": "\(Int(delay))"])
                        }
                        try open.webhookFailed(name, sequence: event.seq, error: error, at: now,
                                               next: now.addingTimeInterval(delay), giveUp: giveUp)
                    } else {
                        logger.warning("the receiver answered 410 Gone: webhook disabled until rollcall webhook replay")
                        try open.webhookDisable(name, reason: "the receiver answered 410 Gone", at: Date())
                    }
                    break  // the state changed: read it again before the next event
                }
            } catch let gone as FeedGone {
                // Not running for longer than the retention (events.retention_days): the events
                // are gone; say so loudly, count them, and go on from the oldest kept.
                logger.critical("events were removed by retention before this webhook received them", metadata: [
                    "webhook.lost_from": "\(gone.after + 1)", "webhook.lost_through": "\(gone.oldest - 1)"])
                Counter(label: "rollcall_webhook_events_lost_total", dimensions: [("webhook", name)]).increment(by: Int(gone.oldest - 1 - gone.after))
                do {
                    try store?.webhookSkipped(name, through: gone.oldest - 1,
                                              reason: "events \(gone.after + 1) to \(gone.oldest - 1) removed by retention before delivery")
                } catch {
                    logger.error("webhook dispatcher could not use the store", metadata: ["store.error": "\(ReconcileJob.oneLine(error))"])
                    guard await pause(5) else { return }
                }
            } catch {
                store = nil
                logger.error("webhook dispatcher could not use the store", metadata: ["store.error": "\(ReconcileJob.oneLine(error))"])
                guard await pause(5) else { return }
            }
        }
    }

    /// One POST. Errors are described by fixed texts and status codes only: nothing the client
    /// library or the receiver says is passed on (it could carry a header or a credential).
    private func deliver(_ event: FeedEvent, to hook: WebhookSettings, client: HTTPClient) async -> Delivery {
        guard let secrets = secretCache.secrets(hook.secretFile) else {
            return .failed("the secret file cannot be read or holds no whsec_ secret")
        }
        let body = event.json
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
        request.headers.add(name: "User-Agent", value: "rollcall")
        request.headers.add(name: "webhook-id", value: event.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: WebhookSignature.signature(id: event.id, timestamp: timestamp, body: body, secrets: secrets))
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(hook.timeout * 1000)))
            _ = try? await response.body.collect(upTo: 65_536)
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return .delivered }
            if code == 410 { return .gone }
            return .failed("HTTP \(code)" + ((300..<400).contains(code) ? " (redirects are not followed)" : ""))
        } catch {
            return .failed("no answer: could not connect, or no complete answer within \(Int(hook.timeout)) s")
        }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
