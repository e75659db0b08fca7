import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RollcallCore

/// What a feed's pages looked like when last read: each page's URL, validators (ETag,
/// Last-Modified), next link and record count. Kept by the daemon (`HRReadCache`) so that the
/// next read can ask "changed since?" page by page.
public struct HTTPFeedVersion: Sendable, Equatable {
    public struct Page: Sendable, Equatable {
        var url: String
        var etag: String?
        var lastModified: String?
        var next: String?
        var records: Int
    }
    var pages: [Page]

    /// Usable for conditional requests: every page had a validator.
    var isConditional: Bool { !pages.isEmpty && pages.allSatisfy { $0.etag != nil || $0.lastModified != nil } }
}

/// A feed read: unchanged since `previous` (every page answered 304 Not Modified), or read, with
/// its new version when the server gives validators.
enum HTTPFeedRead {
    case unchanged
    case read(HTTPFeedVersion?)
}

/// Fetches an HR source's pages over HTTP(S) and hands each page's body to the source's parser.
/// A page that cannot be fetched after its retries fails the whole read: a partial feed is never
/// used. Credentials are read from their files at each run and never appear in messages.
struct HTTPPageReader {
    let pull: HTTPPull
    let source: String
    let logger: Logger

    /// The largest page body accepted.
    static let maxPageBytes = 512 * 1024 * 1024

    /// Calls `page` with each page's number, URL (for messages) and body; `page` returns the next
    /// link it found (next-link paging) and the number of records the page held.
    ///
    /// With `previous`, each page is asked for with its validators (If-None-Match,
    /// If-Modified-Since); when every page answers 304 the read is `.unchanged` and `page` is
    /// never called. A page that did change after unchanged ones restarts the read from the first
    /// page without validators, so `page` always sees a whole feed, in order.
    func read(previous: HTTPFeedVersion? = nil,
              _ page: (Int, [UInt8]) throws(HRSourceError) -> (next: String?, records: Int)) async throws(HRSourceError) -> HTTPFeedRead {
        let authorization = try authorizationHeader()
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .milliseconds(Int64(min(pull.timeoutSeconds, 10) * 1000)),
                                                                 read: .milliseconds(Int64(pull.timeoutSeconds * 1000)))
        // Redirects are not followed: the credentials go to the configured origin only (a 3xx
        // fails the read, naming where it pointed).
        configuration.redirectConfiguration = .disallow
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = pull.caFile { tls.trustRoots = .file(caFile) }
        configuration.tlsConfiguration = tls
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let outcome: HTTPFeedRead
        do {
            outcome = try await readPages(client: client, authorization: authorization,
                                          previous: previous?.isConditional == true ? previous : nil, page)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        return outcome
    }

    private func readPages(client: HTTPClient, authorization: String?, previous: HTTPFeedVersion?,
                           _ page: (Int, [UInt8]) throws(HRSourceError) -> (next: String?, records: Int)) async throws(HRSourceError) -> HTTPFeedRead {
        var url = try firstURL()
        var number = 1
        var offset = 0
        // Still asking "changed since?": every page so far answered 304.
        var conditional = previous
        var pages: [HTTPFeedVersion.Page] = []
        while true {
            guard number <= pull.maxPages else {
                throw HRSourceError(source: pull.displayURL, reason: "paging did not end after \(pull.maxPages) pages")
            }
            let known = conditional.flatMap { number <= $0.pages.count && $0.pages[number - 1].url == url ? $0.pages[number - 1] : nil }
            let fetched = try await fetch(url, client: client, authorization: authorization, page: number, validators: known)
            let next: String?
            let records: Int
            if fetched.notModified, let known {
                (next, records) = (known.next, known.records)
                pages.append(known)
            } else if conditional != nil && number > 1 {
                // Changed after unchanged pages the parser has not seen: the whole feed again.
                logger.info("HR feed changed after unchanged pages; reading it whole", metadata: ["hr.source": "\(source)", "hr.page": "\(number)"])
                conditional = nil
                pages = []
                url = try firstURL()
                number = 1
                offset = 0
                continue
            } else {
                conditional = nil
                (next, records) = try page(number, fetched.body)
                pages.append(.init(url: url, etag: fetched.etag, lastModified: fetched.lastModified, next: next, records: records))
            }
            let version = HTTPFeedVersion(pages: pages)
            let done: HTTPFeedRead = conditional != nil ? .unchanged : .read(version.isConditional ? version : nil)
            switch pull.paging {
            case .none:
                return done
            case .nextLink:
                guard let next, !next.isEmpty else { return done }
                guard let resolved = URL(string: next, relativeTo: URL(string: url))?.absoluteURL else {
                    throw HRSourceError(source: pull.displayURL, reason: "page \(number) names a next page that is not a URL")
                }
                // The credentials go to the configured origin only.
                guard Self.origin(resolved) == URL(string: pull.url).flatMap(Self.origin) else {
                    throw HRSourceError(source: pull.displayURL, reason: "page \(number) names a next page on another origin "
                                        + "(\(Self.origin(resolved) ?? "?")): refused, the credentials are sent to \(URL(string: pull.url).flatMap(Self.origin) ?? "?") only")
                }
                url = resolved.absoluteString
            case .offset(let offsetParameter, let limitParameter, let pageSize):
                guard records >= pageSize else { return done }
                offset += pageSize
                url = try Self.url(pull.url, adding: [offsetParameter: "\(offset)", limitParameter: "\(pageSize)"])
            }
            number += 1
        }
    }

    /// A fixed text for a transport failure: the client library's own text is not passed on.
    static func describe(_ error: any Error, timeout: Double) -> String {
        if error is NIOTooManyBytesError { return "a page is larger than \(maxPageBytes / 1024 / 1024) MiB" }
        guard let client = error as? HTTPClientError else { return "the request failed (\(type(of: error)))" }
        switch client {
        case .readTimeout: return "no complete answer within \(Int(timeout)) s (the server stopped sending)"
        case .connectTimeout, .deadlineExceeded: return "no answer within \(Int(timeout)) s"
        case .remoteConnectionClosed, .cancelled: return "the server closed the connection"
        case .bodyLengthMismatch: return "the answer's body is not as long as it said"
        default: return "the request failed (HTTP client error)"
        }
    }

    /// scheme://host:port, the port explicit (80/443 when the URL leaves it out), host lowercased.
    static func origin(_ url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
        let port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host):\(port)"
    }

    private func firstURL() throws(HRSourceError) -> String {
        if case .offset(let offsetParameter, let limitParameter, let pageSize) = pull.paging {
            return try Self.url(pull.url, adding: [offsetParameter: "0", limitParameter: "\(pageSize)"])
        }
        return pull.url
    }

    static func url(_ base: String, adding parameters: [String: String]) throws(HRSourceError) -> String {
        guard var components = URLComponents(string: base) else {
            throw HRSourceError(source: base, reason: "is not a URL")
        }
        var items = (components.queryItems ?? []).filter { parameters[$0.name] == nil }
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) { items.append(URLQueryItem(name: name, value: value)) }
        components.queryItems = items
        guard let url = components.string else { throw HRSourceError(source: base, reason: "is not a URL") }
        return url
    }

    private func authorizationHeader() throws(HRSourceError) -> String? {
        switch pull.auth {
        case .none:
            return nil
        case .bearer(let file):
            return "Bearer " + (try Self.secret(file, what: "bearer token"))
        case .basic(let username, let file):
            let password = try Self.secret(file, what: "password")
            return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
    }

    /// A secret file's content up to a trailing newline; the content never appears in messages.
    static func secret(_ path: String, what: String) throws(HRSourceError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path)
        } catch {
            throw HRSourceError(source: path, reason: "the \(what) file \(error.reason)")
        }
        guard !bytes.isEmpty else { throw HRSourceError(source: path, reason: "the \(what) file is empty") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A page's answer: its body and validators, or 304 Not Modified.
    struct Fetched {
        var body: [UInt8] = []
        var etag: String?
        var lastModified: String?
        var notModified = false
    }

    /// One page, tried again after transient failures.
    private func fetch(_ url: String, client: HTTPClient, authorization: String?, page: Int,
                       validators: HTTPFeedVersion.Page?) async throws(HRSourceError) -> Fetched {
        var attempt = 1
        while true {
            let outcome: Result<Fetched, PageFailure>
            do {
                outcome = .success(try await fetchOnce(url, client: client, authorization: authorization, page: page, validators: validators))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let body):
                return body
            case .failure(let failure):
                guard failure.transient, attempt < pull.retry.attempts else {
                    throw HRSourceError(source: pull.displayURL, reason: failure.text + (attempt > 1 ? " (after \(attempt) tries)" : ""))
                }
                attempt += 1
                let seconds = pull.retry.delay(beforeAttempt: attempt, random: Double.random(in: 0...1))
                logger.notice("HR page failed, trying again", metadata: [
                    "hr.source": "\(source)", "hr.error": "\(failure.text)", "retry.attempt": "\(attempt)",
                    "retry.delay_seconds": "\(String(format: "%.2f", seconds))",
                ])
                try? await Task.sleep(for: .seconds(seconds))
            }
        }
    }

    struct PageFailure: Error {
        var text: String
        var transient: Bool
    }

    private func fetchOnce(_ url: String, client: HTTPClient, authorization: String?, page: Int,
                           validators: HTTPFeedVersion.Page?) async throws(PageFailure) -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "rollcall")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let etag = validators?.etag { request.headers.add(name: "If-None-Match", value: etag) }
        if let modified = validators?.lastModified { request.headers.add(name: "If-Modified-Since", value: modified) }
        do {
            // One deadline for the whole page: connecting, the head and the last byte of the body
            // (a server that trickles its body does not hold the run).
            let seconds = pull.timeoutSeconds
            let prepared = request
            // The client's own deadline (connect and head) comes first and says why (TLS, refused);
            // this one, with a grace of at least 5 s (a loaded machine delays the client's own
            // report), ends a body that never completes.
            let answer = try await Deadline.race(seconds: seconds + max(5, seconds / 2)) { () async throws -> (HTTPClientResponse, ByteBuffer) in
                let response = try await client.execute(prepared, timeout: .milliseconds(Int64(seconds * 1000)))
                return (response, try await response.body.collect(upTo: Self.maxPageBytes))
            }
            guard let (response, body) = answer else {
                throw PageFailure(text: "page \(page): no complete answer within \(Int(seconds)) s", transient: true)
            }
            let code = Int(response.status.code)
            if code == 304, validators != nil { return Fetched(notModified: true) }
            if (300..<400).contains(code) {
                let target = response.headers.first(name: "Location").flatMap { URL(string: $0, relativeTo: URL(string: url)) }.flatMap(Self.origin)
                throw PageFailure(text: "page \(page): HTTP \(code) redirect to \(target ?? "elsewhere") not followed (credentials go to the configured URL only): configure the final URL",
                                  transient: false)
            }
            guard (200..<300).contains(code) else {
                let hint = code == 401 || code == 403 ? "; check the credentials file and the account's rights" : ""
                throw PageFailure(text: "page \(page): HTTP \(code) \(response.status.reasonPhrase)\(hint)",
                                  transient: [429, 500, 502, 503, 504].contains(code))
            }
            return Fetched(body: Array(buffer: body), etag: response.headers.first(name: "ETag"),
                           lastModified: response.headers.first(name: "Last-Modified"))
        } catch let failure as PageFailure {
            throw failure
        } catch let error as NIOSSLError {
            throw PageFailure(text: "page \(page): TLS failed: \(error)", transient: false)
        } catch let error as BoringSSLError {
            throw PageFailure(text: "page \(page): TLS failed: \(error)", transient: false)
        } catch let error as HTTPClientError where error == .invalidURL || error == .emptyHost || error == .emptyScheme
                    || error == .unsupportedScheme(URL(string: url)?.scheme ?? "") {
            throw PageFailure(text: "page \(page): \(error)", transient: false)
        } catch {
            throw PageFailure(text: "page \(page): \(Self.describe(error, timeout: pull.timeoutSeconds))", transient: true)
        }
    }
}
