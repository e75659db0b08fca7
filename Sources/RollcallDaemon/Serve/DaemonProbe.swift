import Foundation
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
