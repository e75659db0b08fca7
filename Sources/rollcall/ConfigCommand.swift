import ArgumentParser
import Foundation
import RollcallDaemon

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file.",
        subcommands: [ConfigCheckCommand.self]
    )
}

struct ConfigCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration file as serve and reconcile would read it; exit 0 when it is valid, 1 with the problem, its key and line.",
        discussion: "Reads nothing but the file and the files it names (secrets are checked for existence, never printed). Run it before systemctl reload."
    )

    @Argument(help: "The file (default: --config, $ROLLCALL_CONFIG, /etc/rollcall/rollcall.yaml).")
    var file: String?

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let path = file ?? options.path
        do {
            let resolved = try ConfigurationLoader.load(path: path)
            let directories = resolved.directories.map { "\($0.name) (\($0.kind.rawValue), delta \($0.delta.rawValue))" }.joined(separator: ", ")
            let sources = resolved.hrSources.map(\.name).joined(separator: ", ")
            print("\(path): valid")
            print("  store: \(resolved.storePath)")
            print("  directories: \(directories)")
            print("  HR sources: \(sources)")
            print("  serve: \(resolved.serve.host):\(resolved.serve.port)")
        } catch {
            throw CLIFailure(message: error.description)
        }
    }
}
