import ArgumentParser
import Foundation
import Logging
import RollcallDaemon
import RollcallStore
import Synchronization

@main
struct Rollcall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcall",
        abstract: "Reconcile HR feeds with LDAP directories and emit identity lifecycle events.",
        subcommands: [ServeCommand.self, StatusCommand.self, ReconcileCommand.self, PlanCommand.self, ExplainCommand.self, EventsCommand.self, IdentityCommand.self,
                      RunsCommand.self, ReportCommand.self, AccessCommand.self, ReviewCommand.self, ApproveCommand.self, RejectCommand.self, LinkCommand.self,
                      DisableCommand.self, EnableCommand.self, AuditCommand.self, BackupCommand.self, ConfigCommand.self,
                      ConsumerCommand.self, WebhookCommand.self]
    )

    /// Every file Rollcall creates (the store, its WAL and lock files, backups, exports written to a
    /// file) is its owner's only, whoever runs it and whatever their umask.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command that touches the store shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $ROLLCALL_CONFIG or /etc/rollcall/rollcall.yaml).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(name: .long, help: "Log format: text, json, or journal (default: journal under systemd, else text).")
    var logFormat: LogFormat?

    /// The configuration file: --config, else $ROLLCALL_CONFIG, else /etc/rollcall/rollcall.yaml.
    var path: String { config ?? ProcessInfo.processInfo.environment["ROLLCALL_CONFIG"] ?? "/etc/rollcall/rollcall.yaml" }

    func load(checkFiles: Bool = true) throws -> ResolvedConfiguration {
        do {
            return try ConfigurationLoader.load(path: path, checkFiles: checkFiles)
        } catch {
            throw CLIFailure(message: error.description)
        }
    }

    /// The configured store, opened (a failure as one line).
    func openStore() throws -> Store {
        let configuration = try load(checkFiles: false)
        do {
            return try Store.open(path: configuration.storePath)
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }

    func logger() -> Logger {
        LoggingBootstrap.once(format: logFormat ?? .automatic)
        var logger = Logger(label: "rollcall")
        logger.logLevel = logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension LogFormat: ExpressibleByArgument {}

/// Logs go to standard error so that standard output stays clean for --json and NDJSON.
enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func once(format: LogFormat) {
        guard done.withLock({ let was = $0; $0 = true; return !was }) else { return }
        switch format {
        case .text: LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        case .json, .journal: LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format) }
        }
    }
}

/// A failure reported as one line on standard error with a non-zero exit.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Where an export goes: standard output, or with `--output FILE` a file Rollcall creates itself,
/// mode 0600, never over an existing one (the export holds personal data; a shell redirect would
/// make the file with the shell's umask).
final class ExportOutput {
    private let handle: FileHandle
    private let path: String?

    init(_ path: String?) throws {
        guard let path else {
            handle = .standardOutput
            self.path = nil
            return
        }
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIFailure(message: errno == EEXIST ? "--output \(path) exists; an export never overwrites a file"
                                                      : "--output \(path) cannot be created (errno \(errno))")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        self.path = path
    }

    func line(_ text: String) throws {
        try handle.write(contentsOf: Data((text + "\n").utf8))
    }

    /// A failed export leaves no partial file.
    func discard() {
        if let path { unlink(path) }
    }
}
