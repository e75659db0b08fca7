import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
#if canImport(Glibc)
import Glibc
#endif

/// Asks a running `rollcall serve` how it is (`GET /readyz` on its listener), for `rollcall status`.
public enum DaemonProbe {
    public struct Answer: Sendable, Codable {
        public var running: Bool
        public var ready: Bool
        /// The body of /readyz (the last run, the start time), or why nothing answered.
        public var detail: String
    }

    /// The daemon's listener as configured: HTTPS when `serve.tls` is set, else plain HTTP.
    public static func ask(_ serve: ServeSettings, timeout: Double = 2) async -> Answer {
        guard serve.tls != nil else { return ask(host: serve.host, port: serve.port, timeout: timeout) }
        return await askTLS(host: serve.host, port: serve.port, timeout: timeout)
    }

    /// GET /readyz over TLS. The certificate is not verified: the probe sends nothing (no token)
    /// and reads only what /readyz tells anyone, and the configured name need not be the address
    /// dialled here.
    static func askTLS(host: String, port: Int, timeout: Double) async -> Answer {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let dialled = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        let bracketed = dialled.contains(":") ? "[\(dialled)]" : dialled
        let answer: Answer
        do {
            let response = try await client.execute(HTTPClientRequest(url: "https://\(bracketed):\(port)/readyz"),
                                                    timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 65_536)
            answer = Answer(running: true, ready: response.status.code == 200,
                            detail: String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            answer = Answer(running: false, ready: false, detail: "nothing answers HTTPS on \(host):\(port)")
        }
        try? await client.shutdown()
        return answer
    }

    /// A plain HTTP/1.0 GET over a loopback TCP socket, with a timeout: no client library needed
    /// for one line of status.
    public static func ask(host: String, port: Int, timeout: Double = 2) -> Answer {
        var hints = addrinfo(ai_flags: 0, ai_family: AF_UNSPEC, ai_socktype: Int32(SOCK_STREAM.rawValue), ai_protocol: 0,
                             ai_addrlen: 0, ai_addr: nil, ai_canonname: nil, ai_next: nil)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            return Answer(running: false, ready: false, detail: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard descriptor >= 0 else { return Answer(running: false, ready: false, detail: "no socket") }
        defer { close(descriptor) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            return Answer(running: false, ready: false, detail: "nothing listens on \(host):\(port)")
        }
        let request = Array("GET /readyz HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            return Answer(running: false, ready: false, detail: "the listener on \(host):\(port) did not take the request")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
            if response.count > 65_536 { break }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.") else { return Answer(running: false, ready: false, detail: "no HTTP answer on \(host):\(port)") }
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Answer(running: true, ready: status == "200", detail: body.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
