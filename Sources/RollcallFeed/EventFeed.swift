import Foundation
import HTTPTypes
import Hummingbird
import RollcallCore
import RollcallStore
import Synchronization

/// The change feed over HTTP: `GET /v1/events` (a batch of CloudEvents after a cursor, optionally
/// a long-poll) and `POST /v1/consumers/NAME/ack` (a consumer's cursor), each for a consumer
/// holding a bearer token (`rollcall consumer add`). Errors are RFC 9457 problem+json.
public struct EventFeed: Sendable {
    /// Opened once by the daemon: a request does not open the store again.
    public var store: Store
    public var signal: OutboxSignal
    /// A long-poll waits at most this long (`wait=` is capped to it).
    public var maxWait: Duration = .seconds(60)
    /// Requests per second per consumer (a burst of twice as many); beyond: 429 with Retry-After.
    public var limiter: RateLimiter?
    public static let maxLimit = 1000

    public init(store: Store, signal: OutboxSignal, maxWait: Duration = .seconds(60), limiter: RateLimiter? = nil) {
        self.store = store
        self.signal = signal
        self.maxWait = maxWait
        self.limiter = limiter
    }

    func routes(_ router: Router<BasicRequestContext>) {
        // Any other method on the feed's paths: 405 with the methods there are.
        let allowed: [(String, HTTPRequest.Method)] = [("/v1/events", .get), ("/v1/events/stream", .get),
                                                        ("/v1/consumers/{name}/ack", .post), ("/v1/openapi.yaml", .get)]
        for (path, method) in allowed {
            let methods = [HTTPRequest.Method.get, .post, .put, .patch, .delete, .trace, .options, .connect] + [HTTPRequest.Method("QUERY")].compactMap { $0 }
            for other in methods where other != method {
                router.on(RouterPath(path), method: other) { _, _ in
                    var response = Problem(.methodNotAllowed, "method not allowed", "\(path) answers \(method.rawValue) only.").response
                    response.headers[.allow] = method.rawValue
                    return response
                }
            }
        }
        router.get("/v1/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.get("/v1/events") { request, _ in
            do {
                return try await events(request)
            } catch let problem as Problem {
                return problem.response
            } catch let gone as FeedGone {
                return Problem.gone(gone).response
            }
        }
        router.get("/v1/events/stream") { request, _ in
            do {
                return try await stream(request)
            } catch let problem as Problem {
                return problem.response
            } catch let gone as FeedGone {
                return Problem.gone(gone).response
            }
        }
        router.post("/v1/consumers/{name}/ack") { request, context in
            do {
                return try await ack(request, name: context.parameters.get("name") ?? "")
            } catch let problem as Problem {
                return problem.response
            }
        }
    }

    /// The consumer of the request's bearer token, or 401.
    private func consumer(_ request: Request, store: Store) throws -> Consumer {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw Problem(.unauthorized, "no bearer token", "Send Authorization: Bearer TOKEN (rollcall consumer add NAME prints one).")
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let consumer = try store.consumer(token: token) else {
            throw Problem(.unauthorized, "unknown or revoked token", "The bearer token is not an active consumer's.")
        }
        if let limiter, let wait = limiter.take(consumer.name) {
            var problem = Problem(.tooManyRequests, "too many requests",
                                  "Consumer \(consumer.name) may make \(Int(limiter.rate)) requests per second; long-poll with wait= instead of polling.")
            problem.retryAfter = Int(wait.rounded(.up))
            throw problem
        }
        return consumer
    }

    /// What a request asks of the feed: where to start, how much, which events, how rendered.
    struct Query {
        var after: Int64
        var limit: Int
        var wait: Int64
        var subject: String?
        var thin: Bool
        var types: [String]
        var heartbeat: Int64
    }

    private func query(_ request: Request, consumer: Consumer) throws -> Query {
        let query = request.uri.queryParameters
        func integer(_ name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
            guard let text = query[Substring(name)] else { return value }
            guard let number = Int64(text), range.contains(number) else {
                throw Problem(.badRequest, "bad \(name)", "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound).")
            }
            return number
        }
        let after = try integer("after", default: consumer.cursor, range: 0...Int64.max)
        let limit = Int(try integer("limit", default: 100, range: 1...Int64(Self.maxLimit)))
        // Up to 60 s as documented; capped by the server's own limit (serve.long_poll_max_seconds).
        let wait = min(try integer("wait", default: 0, range: 0...60), maxWait.components.seconds)
        let subject = query["subject"].map(String.init)
        let view = query["view"].map(String.init) ?? "full"
        guard view == "full" || view == "thin" else { throw Problem(.badRequest, "bad view", "view must be full or thin.") }
        var types = query["types"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        types.removeAll { $0.isEmpty }
        if types.isEmpty {
            types = consumer.types
        } else if !consumer.types.isEmpty, let refused = types.first(where: { type in !consumer.types.contains { type.hasPrefix($0) } }) {
            throw Problem(.forbidden, "type not allowed", "Consumer \(consumer.name) may read \(consumer.types.joined(separator: ", ")) only, not \(refused).")
        }
        let heartbeat = try integer("heartbeat", default: 15, range: 1...60)
        return Query(after: after, limit: limit, wait: wait, subject: subject, thin: view == "thin", types: types, heartbeat: heartbeat)
    }

    private func events(_ request: Request) async throws -> Response {
        let consumer = try self.consumer(request, store: store)
        let q = try query(request, consumer: consumer)
        let (after, limit, types, subject, wait) = (q.after, q.limit, q.types, q.subject, q.wait)
        var page = try store.feedLines(after: after, limit: limit, types: types, subject: subject, thin: q.thin)
        if page.events.isEmpty && wait > 0 {
            // Long-poll: answer as soon as anything is committed after the page's end.
            signal.publish(page.through)
            await signal.wait(after: page.through, timeout: .seconds(wait))
            page = try store.feedLines(after: after, limit: limit, types: types, subject: subject, thin: q.thin)
        }
        let ndjson = request.headers[.accept]?.contains("application/x-ndjson") == true
        var body = ByteBuffer()
        body.reserveCapacity(page.events.reduce(2) { $0 + $1.json.utf8.count + 1 })
        if !ndjson { body.writeStaticString("[") }
        for (index, event) in page.events.enumerated() {
            if !ndjson && index > 0 { body.writeStaticString(",") }
            body.writeString(event.json)
            if ndjson { body.writeStaticString("\n") }
        }
        if !ndjson { body.writeStaticString("]") }
        var headers: HTTPFields = [.contentType: ndjson ? "application/x-ndjson" : "application/cloudevents-batch+json"]
        if let next = HTTPField.Name("Rollcall-Next-After") { headers[next] = String(page.through) }
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Server-Sent Events: every event after the start (`Last-Event-ID`, else `after`, else the
    /// cursor) as `id: SEQ`, `event: TYPE`, `data: EVENT`, then new ones as they are committed; a
    /// comment line every `heartbeat` seconds while idle; `event: revoked` and the end when the
    /// consumer is revoked.
    private func stream(_ request: Request) async throws -> Response {
        let consumer = try self.consumer(request, store: store)
        var asked = try query(request, consumer: consumer)
        if let name = HTTPField.Name("Last-Event-ID"), let last = request.headers[name] {
            guard let sequence = Int64(last.trimmingCharacters(in: .whitespaces)), sequence >= 0 else {
                throw Problem(.badRequest, "bad Last-Event-ID", "Last-Event-ID must be a sequence number.")
            }
            asked.after = sequence
        }
        let q = asked
        // Events after the start removed by retention: 410 now, not a stream that skips them.
        if let oldest = try store.oldestSequence(), q.after < oldest - 1 { throw FeedGone(after: q.after, oldest: oldest) }
        let signal = self.signal
        let name = consumer.name
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var after = q.after
            while !Task.isCancelled {
                // Still allowed? A revoked consumer's stream ends, saying why.
                guard try store.consumers().first(where: { $0.name == name })?.isRevoked == false else {
                    try await writer.write(ByteBuffer(string: "event: revoked\ndata: {\"consumer\":\"\(name)\",\"reason\":\"revoked\"}\n\n"))
                    break
                }
                let page = try store.feedLines(after: after, limit: q.limit, types: q.types, subject: q.subject, thin: q.thin)
                if !page.events.isEmpty {
                    var text = ByteBuffer()
                    text.reserveCapacity(page.events.reduce(0) { $0 + $1.json.utf8.count + $1.type.utf8.count + 40 })
                    for event in page.events {
                        text.writeStaticString("id: ")
                        text.writeString(String(event.seq))
                        text.writeStaticString("\nevent: ")
                        text.writeString(event.type)
                        text.writeStaticString("\ndata: ")
                        text.writeString(event.json)
                        text.writeStaticString("\n\n")
                    }
                    try await writer.write(text)
                }
                after = page.through
                if page.events.count < q.limit {
                    signal.publish(page.through)
                    let before = signal.newest
                    await signal.wait(after: page.through, timeout: .seconds(q.heartbeat))
                    if signal.newest == before { try await writer.write(ByteBuffer(string: ": heartbeat\n\n")) }
                }
            }
            try await writer.finish(nil)
        })
    }

    private func ack(_ request: Request, name: String) async throws -> Response {
        let consumer = try self.consumer(request, store: store)
        guard consumer.name == name else {
            throw Problem(.forbidden, "another consumer's cursor", "The token is \(consumer.name)'s; it cannot move \(name)'s cursor.")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 4096)
        } catch {
            throw Problem(.contentTooLarge, "body too large", "An acknowledgement is {\"sequence\": N}: at most 4096 bytes.")
        }
        struct Ack: Decodable { var sequence: Int64 }
        guard let ack = try? JSONDecoder().decode(Ack.self, from: Data(buffer: body)) else {
            throw Problem(.badRequest, "bad body", "Send {\"sequence\": N}, N the last event processed.")
        }
        let moved: Consumer
        do {
            moved = try store.moveCursor(name, to: ack.sequence)
        } catch let error as StoreError {
            throw Problem(error.reason.contains("backwards") ? .conflict : .badRequest, "cursor not moved", error.reason)
        }
        let text = "{\"consumer\":\"\(moved.name)\",\"cursor\":\(moved.cursor)}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A token bucket per key: `rate` per second, up to `2 × rate` at once.
public final class RateLimiter: Sendable {
    public let rate: Double
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    public init(rate: Double) {
        self.rate = rate
    }

    /// nil when the request may go; else the seconds until it may.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Double? {
        buckets.withLock { buckets in
            let burst = max(1, rate * 2)
            var bucket = buckets[key] ?? (burst, now)
            let elapsed = now - bucket.at
            bucket.tokens = min(burst, bucket.tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            bucket.at = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// An RFC 9457 problem: status, a short title, a detail for the person reading it.
struct Problem: Error {
    var status: HTTPResponse.Status
    var title: String
    var detail: String
    /// Seconds, for 429.
    var retryAfter: Int?
    /// Extension members (RFC 9457 section 3.2).
    var extra: [String: JSONValue] = [:]

    init(_ status: HTTPResponse.Status, _ title: String, _ detail: String) {
        self.status = status
        self.title = title
        self.detail = detail
    }

    /// 410: the events after the cursor are no longer kept; `oldest_sequence` says where the outbox begins.
    static func gone(_ gone: FeedGone) -> Problem {
        var problem = Problem(.gone, "events removed by retention",
                              "Events \(gone.after + 1) to \(gone.oldest - 1) are past events.retention_days and no longer kept; "
                                + "the oldest is \(gone.oldest). Resynchronise, then continue with after=\(gone.oldest - 1).")
        problem.extra["oldest_sequence"] = .int(Int(gone.oldest))
        return problem
    }

    var response: Response {
        var members: [String: JSONValue] = extra
        members["type"] = .string("about:blank")
        members["title"] = .string(title)
        members["status"] = .int(Int(status.code))
        members["detail"] = .string(detail)
        let body = CanonicalJSON.text(.object(members))
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"rollcall\"" }
        if let retryAfter { headers[.retryAfter] = String(max(1, retryAfter)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
