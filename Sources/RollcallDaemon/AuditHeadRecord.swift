import Foundation
import Logging
import RollcallStore

/// The audit head after every run that writes the store (reconciles, live changes, operators'
/// actions, quarantines), written outside it: to the log (the journal under systemd) and, when
/// configured, appended to `audit.checkpoint_file`. `rollcall audit verify --checkpoints FILE` then
/// notices a chain cut short or rewritten. Failing to write it does not undo the run; it is logged
/// as an error.
enum AuditHeadRecord {
    static func write(store: Store, runID: Int64, configuration: ResolvedConfiguration, logger: Logger, at date: Date) {
        do {
            guard let head = try store.auditHead() else { return }
            logger.notice("audit head", metadata: ["audit.head": "\(head)", "run.id": "\(runID)"])
            guard let file = configuration.auditCheckpointFile else { return }
            let line = "\(head) \(ISO8601DateFormatter().string(from: date)) run \(runID)\n"
            let descriptor = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw AdminActionFailure("audit.checkpoint_file \(file) cannot be opened (errno \(errno))") }
            defer { close(descriptor) }
            let bytes = Array(line.utf8)
            guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
                throw AdminActionFailure("audit.checkpoint_file \(file) cannot be written (errno \(errno))")
            }
        } catch {
            logger.error("could not record the audit head outside the store", metadata: ["audit.error": "\(ReconcileJob.oneLine(error))"])
        }
    }
}
