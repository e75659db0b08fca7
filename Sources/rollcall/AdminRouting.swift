import ArgumentParser
import Foundation
import RollcallDaemon
import Synchronization

/// `reconcile`, `approve`, `reject`, `disable`, `enable` and `link` go through the running daemon's
/// admin socket when there is one (serialised with its scheduled work, recorded under the
/// kernel's name for the caller), and straight to the store under the run lock when not. Standard
/// error says which.
enum AdminRoute {
    static func perform(_ command: AdminCommand, options: GlobalOptions, json: Bool = false) async throws {
        // Where the daemon listens is all the CLI needs to know to hand it the command; the
        // secrets the configuration names are the daemon's.
        let configuration = try options.load(checkFiles: false)
        let display = ProgressDisplay(quietUnlessTerminal: json || (options.logFormat ?? .automatic) != .text)
        let reply: AdminReply
        switch AdminClient.probe(configuration.serve.adminSocket) {
        case .running:
            let path = configuration.serve.adminSocket ?? ""
            do {
                reply = try await AdminClient.send(command, path: path, progress: { display.show($0) })
            } catch {
                display.finish()
                throw CLIFailure(message: "\(command.name): \(error)")
            }
        case .denied(let reason):
            throw CLIFailure(message: "\(command.name): \(reason)")
        case .absent(let reason):
            var executor = AdminExecutor(configuration: try options.load(), logger: options.logger(), actor: AdminActions.operatorName)
            executor.progress = { display.show($0) }
            executor.via = "this process (\(reason))"
            reply = await executor.execute(command)
        }
        display.finish()
        if !reply.stdout.isEmpty { FileHandle.standardOutput.write(Data(reply.stdout.utf8)) }
        if !reply.stderr.isEmpty { FileHandle.standardError.write(Data(reply.stderr.utf8)) }
        if reply.exitCode != 0 { throw ExitCode(reply.exitCode) }
    }
}

/// A run's progress on standard error: one line rewritten in place on a terminal, a plain
/// `progress:` line per finished phase otherwise (none when not on a terminal with --json or
/// JSON/journal logs, whose standard error is for log records only).
final class ProgressDisplay: Sendable {
    private let terminal = isatty(STDERR_FILENO) == 1
    private let quiet: Bool
    private let open = Mutex(false)

    init(quietUnlessTerminal: Bool) {
        quiet = quietUnlessTerminal && !terminal
    }

    func show(_ progress: RunProgress) {
        guard !quiet else { return }
        if terminal {
            let text = "\r\u{1B}[K" + progress.line + (progress.done ? "\n" : "")
            open.withLock { $0 = !progress.done }
            FileHandle.standardError.write(Data(text.utf8))
        } else if progress.done {
            FileHandle.standardError.write(Data(("progress: " + progress.line + "\n").utf8))
        }
    }

    func finish() {
        if open.withLock({ let was = $0; $0 = false; return was }) {
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }
}
