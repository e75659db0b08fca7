import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs never overlap, in one process or across processes: every command that applies anything
/// (a reconcile, an approval, an operator's action, the daemon's scheduled runs) holds an exclusive
/// advisory lock (flock) on `STORE.run-lock` while it reads, plans and applies. The holder's pid is
/// written into the file so that a waiting command can say who has it.
///
/// Invariant for `@unchecked Sendable`: the descriptor is only touched by `release()`, which is
/// guarded by the lock-protected `released` flag, and by `deinit`.
public final class RunLock: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private let released = NSLock()
    private var isReleased = false

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// The lock file beside a store.
    public static func path(forStore store: String) -> String { store + ".run-lock" }

    /// Takes the lock, waiting up to `wait` for another holder to finish (polling every 100 ms);
    /// throws `RunLockBusy` naming the holder if it is still held then.
    public static func acquire(storePath: String, wait: Duration = .zero) throws -> RunLock {
        let file = path(forStore: storePath)
        let descriptor = Glibc.open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError(path: file, reason: "cannot create the run lock file (errno \(errno))") }
        let deadline = ContinuousClock.now + wait
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            guard error == EWOULDBLOCK || error == EINTR else {
                Glibc.close(descriptor)
                throw StoreError(path: file, reason: "cannot take the run lock (errno \(error))")
            }
            guard ContinuousClock.now < deadline else {
                let holder = holderPID(descriptor)
                Glibc.close(descriptor)
                throw RunLockBusy(path: file, holder: holder)
            }
            usleep(100_000)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return RunLock(path: file, descriptor: descriptor)
    }

    /// Lets the next run in. Idempotent.
    public func release() {
        released.lock()
        defer { released.unlock() }
        guard !isReleased else { return }
        isReleased = true
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
    }

    private static func holderPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Another run holds the run lock.
public struct RunLockBusy: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var holder: Int32?

    public var description: String {
        "busy: another run holds the run lock \(path)\(holder.map { " (pid \($0))" } ?? ""); nothing was done"
    }
}
