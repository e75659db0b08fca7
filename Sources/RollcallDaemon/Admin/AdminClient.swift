import AsyncHTTPClient
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's side of the admin socket: is a daemon there, and send it a command.
public enum AdminClient {
    public enum Availability: Sendable, Equatable {
        /// No daemon: the CLI applies the command itself (why, for its note).
        case absent(String)
        /// A daemon answers on the socket.
        case running
        /// A daemon runs, but this user may not connect (the socket's mode and group).
        case denied(String)
    }

    /// Connects once to see whether a daemon listens on `path`.
    public static func probe(_ path: String?) -> Availability {
        guard let path else { return .absent("serve.admin.socket is off") }
        guard FileManager.default.fileExists(atPath: path) else { return .absent("no daemon: \(path) does not exist") }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return .absent("no socket") }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .absent("\(path) is too long for a socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result == 0 { return .running }
        switch errno {
        case EACCES, EPERM:
            return .denied("the daemon's admin socket \(path) does not let this user in: run as a member of its group (serve.admin.group, default rollcall-admin) or as root")
        default:
            return .absent("no daemon answers on \(path)")
        }
    }

    /// Sends `command` to the daemon, telling `progress` what it reports while it runs; the reply
    /// is what the CLI prints and its exit status.
    public static func send(_ command: AdminCommand, path: String,
                            progress: @Sendable (RunProgress) -> Void) async throws -> AdminReply {
        guard let url = URL(httpURLWithSocketPath: path, uri: "/v1/admin/commands") else { throw AdminClientError("bad socket path \(path)") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(command)))
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(24))
        var pending: [UInt8] = []
        var reply: AdminReply?
        var problem: AdminProblem?
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                let message = try? JSONDecoder().decode(AdminMessage.self, from: line)
                if let step = message?.progress { progress(step) }
                if let answer = message?.reply { reply = answer }
                if let refused = message?.problem { problem = refused }
            }
        }
        if let problem { throw AdminClientError("the daemon refused: \(problem.detail)") }
        guard let reply else { throw AdminClientError("the daemon ended the answer without a result (HTTP \(response.status.code))") }
        return reply
    }

    struct AdminMessage: Decodable {
        var progress: RunProgress?
        var reply: AdminReply?
        var problem: AdminProblem?
    }
}

public struct AdminClientError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
