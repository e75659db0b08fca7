import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RollcallCore

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
    func read(_ page: (Int, [UInt8]) throws(HRSourceError) -> (next: String?, records: Int)) async throws(HRSourceError) {
        let authorization = try authorizationHeader()
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .milliseconds(Int64(min(pull.timeoutSeconds, 10) * 1000)),
                                                                 read: .milliseconds(Int64(pull.timeoutSeconds * 1000)))
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        if let caFile = pull.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await readPages(client: client, authorization: authorization, page)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
    }

    private func readPages(client: HTTPClient, authorization: String?,
                           _ page: (Int, [UInt8]) throws(HRSourceError) -> (next: String?, records: Int)) async throws(HRSourceError) {
        var url = try firstURL()
        var number = 1
        var offset = 0
        while true {
            guard number <= pull.maxPages else {
                throw HRSourceError(source: pull.displayURL, reason: "paging did not end after \(pull.maxPages) pages")
            }
            let body = try await fetch(url, client: client, authorization: authorization, page: number)
            let (next, records) = try page(number, body)
            switch pull.paging {
            case .none:
                return
            case .nextLink:
                guard let next, !next.isEmpty else { return }
                guard let resolved = URL(string: next, relativeTo: URL(string: url))?.absoluteString else {
                    throw HRSourceError(source: pull.displayURL, reason: "page \(number) names a next page that is not a URL")
                }
                url = resolved
            case .offset(let offsetParameter, let limitParameter, let pageSize):
                guard records >= pageSize else { return }
                offset += pageSize
                url = try Self.url(pull.url, adding: [offsetParameter: "\(offset)", limitParameter: "\(pageSize)"])
            }
            number += 1
        }
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
        guard let bytes = SecretFile.contents(path) else {
            throw HRSourceError(source: path, reason: "the \(what) file cannot be read")
        }
        guard !bytes.isEmpty else { throw HRSourceError(source: path, reason: "the \(what) file is empty") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One page, tried again after transient failures.
    private func fetch(_ url: String, client: HTTPClient, authorization: String?, page: Int) async throws(HRSourceError) -> [UInt8] {
        var attempt = 1
        while true {
            let outcome: Result<[UInt8], PageFailure>
            do {
                outcome = .success(try await fetchOnce(url, client: client, authorization: authorization, page: page))
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

    private func fetchOnce(_ url: String, client: HTTPClient, authorization: String?, page: Int) async throws(PageFailure) -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "rollcall")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(pull.timeoutSeconds * 1000)))
            let body = try await response.body.collect(upTo: Self.maxPageBytes)
            let code = Int(response.status.code)
            guard (200..<300).contains(code) else {
                let hint = code == 401 || code == 403 ? "; check the credentials file and the account's rights" : ""
                throw PageFailure(text: "page \(page): HTTP \(code) \(response.status.reasonPhrase)\(hint)",
                                  transient: [429, 500, 502, 503, 504].contains(code))
            }
            return Array(buffer: body)
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
            throw PageFailure(text: "page \(page): \(error)", transient: true)
        }
    }
}
