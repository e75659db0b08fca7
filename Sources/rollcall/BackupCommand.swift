import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the store to a new file, while reconciles go on.",
        discussion: """
            The copy is checked (integrity and audit chain) before this succeeds. To restore: stop \
            the timer and any running reconcile, move the store and its -wal and -shm files aside, \
            copy the backup to store.path, run rollcall audit verify, start the timer again. \
            See docs/operations.md.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The file to create (never overwritten).")
    var file: String

    func run() async throws {
        let configuration = try options.load()
        let store = try Store.open(path: configuration.storePath, create: false)
        do {
            let audit = try store.backup(to: file)
            print("backup written to \(file): integrity ok, audit log verifies (\(audit.entries) entries)")
        } catch let error as StoreError {
            throw CLIFailure(message: "backup: \(error)")
        } catch {
            throw CLIFailure(message: "backup to \(file) failed, nothing was written: \(error)")
        }
    }
}
