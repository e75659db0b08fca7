import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// The admin socket (`serve.admin.socket`, default /run/rollcall/admin.sock): HTTP over a Unix
/// socket, mode 0660 with group `serve.admin.group`. Each request's peer is identified by the
/// kernel (SO_PEERCRED) and must be root, the daemon's own user, a listed user or a member of a
/// listed group; every request is logged with the peer's uid and name, and a command's run is
/// recorded in the audit log under that name.
///
/// `POST /v1/admin/commands` takes an `AdminCommand` (JSON) and answers NDJSON: `{"progress":…}`
/// lines while it runs, then `{"reply":…}` with what the CLI prints and its exit status.
struct AdminSocket: Service {
    let path: String
    let state: DaemonState
    let logger: Logger

    func run() async throws {
        let settings = state.configuration.serve
        let access = AdminAccess(settings: settings, logger: logger)
        let socketGroup = PeerCredentials.groupID(name: settings.adminSocketGroup)
        if socketGroup == nil {
            logger.warning("serve.admin.group does not exist: the admin socket keeps the daemon's group",
                           metadata: ["admin.group": "\(settings.adminSocketGroup)"])
        }
        let router = Router(context: AdminRequestContext.self)
        router.post("/v1/admin/commands") { request, context in
            try await command(request, context: context, access: access)
        }
        let path = self.path
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path), serverName: "rollcall-admin"),
            onServerRunning: { _ in
                // Bound under the daemon's umask; opened to the admin group only now.
                if let socketGroup, chown(path, uid_t.max, socketGroup) != 0 {
                    logger.warning("cannot give the admin socket its group", metadata: ["admin.socket": "\(path)", "errno": "\(errno)"])
                }
                if chmod(path, 0o660) != 0 {
                    logger.warning("cannot set the admin socket's mode", metadata: ["admin.socket": "\(path)", "errno": "\(errno)"])
                }
                logger.notice("admin socket listening", metadata: ["admin.socket": "\(path)"])
            },
            logger: logger)
        try await application.run()
        unlink(path)
    }

    private func command(_ request: Request, context: AdminRequestContext, access: AdminAccess) async throws -> Response {
        let peer = try await context.peer()
        let body = try await request.body.collect(upTo: 65_536)
        let decoded = try? JSONDecoder().decode(AdminCommand.self, from: Data(buffer: body))
        var logger = self.logger
        logger[metadataKey: "admin.peer"] = "\(peer.actor)"
        logger[metadataKey: "admin.pid"] = "\(peer.pid)"
        guard access.allows(peer) else {
            logger.warning("admin socket: request refused", metadata: ["admin.command": "\(decoded?.name ?? "?")"])
            return Self.problem(.forbidden, "\(peer.actor) may not use the admin socket (serve.admin.users, serve.admin.groups)")
        }
        guard let command = decoded else {
            logger.warning("admin socket: request not understood")
            return Self.problem(.badRequest, "the request is not an admin command")
        }
        var executor = AdminExecutor(configuration: state.configuration, logger: logger, actor: "\(peer.actor) via the admin socket")
        executor.hrFiles = state.hrFiles
        // Queued behind the daemon's own run in progress, however long it takes (up to the run timeout).
        executor.minimumLockWait = .seconds(state.configuration.serve.runTimeout)
        executor.auditRequest = true
        executor.via = "the running daemon (pid \(getpid()), \(path))"
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        executor.progress = { progress in continuation.yield(AdminWire.line(["progress": progress])) }
        executor.onRead = { [state] read in state.hrRead = read }
        let state = self.state
        // The command runs to its end even when the admin's connection drops.
        Task {
            let reply = await executor.execute(command)
            if case .reconcile(let options) = command, !options.dryRun {
                state.manualRunFinished(DaemonState.LastRun(kind: .manual, finishedAt: Date(), outcome: reply.exitCode == 0 ? "applied" : "exit \(reply.exitCode)",
                                                      runID: nil, events: 0, detail: "by \(peer.actor)"))
            }
            continuation.yield(AdminWire.line(["reply": reply]))
            continuation.finish()
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            for await line in lines {
                try? await writer.write(ByteBuffer(string: line))
            }
            try await writer.finish(nil)
        })
    }

    static func problem(_ status: HTTPResponse.Status, _ detail: String) -> Response {
        let body = AdminWire.line(["problem": AdminProblem(status: Int(status.code), detail: detail)])
        return Response(status: status, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Who may use the admin socket.
struct AdminAccess: Sendable {
    var uids: Set<UInt32>
    var gids: Set<UInt32>

    init(settings: ServeSettings, logger: Logger) {
        uids = [0, getuid()]
        gids = []
        for name in settings.adminUsers {
            if let uid = PeerCredentials.userID(name: name) { uids.insert(uid) } else {
                logger.warning("serve.admin.users names a user that does not exist", metadata: ["admin.user": "\(name)"])
            }
        }
        for name in settings.adminGroups {
            if let gid = PeerCredentials.groupID(name: name) { gids.insert(gid) } else {
                logger.warning("serve.admin.groups names a group that does not exist", metadata: ["admin.group": "\(name)"])
            }
        }
    }

    func allows(_ peer: PeerCredentials) -> Bool {
        uids.contains(peer.uid) || !gids.isDisjoint(with: peer.groups)
    }
}

/// The admin socket's request context: the connection's channel, to ask the kernel for the peer.
struct AdminRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    func peer() async throws -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else { throw AdminSocketError.noPeerCredentials }
        return try await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
    }
}

enum AdminSocketError: Error, CustomStringConvertible {
    case noPeerCredentials
    var description: String { "the admin socket cannot tell who is connected" }
}

struct AdminProblem: Codable, Sendable {
    var status: Int
    var detail: String
}

/// One NDJSON line of the admin socket's answers.
enum AdminWire {
    static func line<T: Encodable>(_ value: [String: T]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }
}
