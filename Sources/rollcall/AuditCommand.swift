import ArgumentParser
import Foundation
import RollcallDaemon
import RollcallStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check and export the tamper-evident audit log.",
        subcommands: [Verify.self, Export.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole hash chain; exit non-zero naming the first entry that does not verify."
        )

        @OptionGroup var options: GlobalOptions

        @Option(help: "A file of audit heads recorded outside the store (audit.checkpoint_file): each must still be in the chain.")
        var checkpoints: String?

        @Option(help: "An audit head SEQ:HASH recorded elsewhere (the journal's \"audit head\" line): it must still be in the chain.")
        var expectHead: [String] = []

        func run() async throws {
            let configuration = try options.load()
            var heads: [AuditHead] = []
            for text in expectHead {
                guard let head = AuditHead(text) else { throw CLIFailure(message: "--expect-head \(text) is not SEQ:HASH (a sequence number and 64 hex digits)") }
                heads.append(head)
            }
            if let checkpoints {
                guard let text = try? String(contentsOfFile: checkpoints, encoding: .utf8) else {
                    throw CLIFailure(message: "--checkpoints \(checkpoints) cannot be read")
                }
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
                    guard let head = AuditHead(line) else { throw CLIFailure(message: "\(checkpoints):\(number + 1): not an audit head (SEQ:HASH ...)") }
                    heads.append(head)
                }
            }
            let store = try Store.open(path: configuration.storePath, create: false)
            let result = try store.verifyAudit()
            if let bad = result.firstBad {
                throw CLIFailure(message: "audit entry \(bad) does not verify: \(result.problem ?? "unknown"); \(result.entries) entries before it verify")
            }
            if let (head, problem) = try store.checkHeads(heads) {
                throw CLIFailure(message: "audit head \(head) recorded outside the store: \(problem)")
            }
            let checked = heads.isEmpty ? "" : "; \(heads.count) recorded heads are in it"
            print("audit log verifies: \(result.entries) entries, \(result.redacted) redacted by purges\(checked)")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write audit entries as NDJSON, oldest first.")

        @OptionGroup var options: GlobalOptions

        @Option(help: "Only entries at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).")
        var since: String?

        @Option(help: "Write to this new file (mode 0600) instead of standard output.")
        var output: String?

        func run() async throws {
            let configuration = try options.load()
            var from: Date?
            if let since {
                let formatter = ISO8601DateFormatter()
                guard let date = formatter.date(from: since) else {
                    throw CLIFailure(message: "--since \(since) is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
                }
                from = date
            }
            let store = try Store.open(path: configuration.storePath, create: false)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let out = try ExportOutput(output)
            do {
                try store.exportAudit(since: from) { record in
                    try out.line(String(decoding: try encoder.encode(record), as: UTF8.self))
                }
            } catch {
                out.discard()
                throw error
            }
        }
    }
}
