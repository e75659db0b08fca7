import Foundation
import Synchronization

/// The newest sequence number in the outbox, as the daemon knows it, and the long-polls waiting
/// for it to move. The daemon publishes after each of its own applies (a waiter wakes at once) and
/// an `OutboxWatcher` publishes what other processes committed (GRDB observes only its own
/// process's commits).
public final class OutboxSignal: Sendable {
    private struct Inner {
        var newest: Int64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let inner = Mutex(Inner())

    public init() {}

    public var newest: Int64 { inner.withLock { $0.newest } }

    /// The outbox's newest sequence is at least `sequence`: wakes every waiter when it moved.
    public func publish(_ sequence: Int64) {
        let woken = inner.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard sequence > state.newest else { return [] }
            state.newest = sequence
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once an event after `after` is known, or when `timeout` has passed.
    public func wait(after: Int64, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while newest <= after, ContinuousClock.now < deadline, !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.change(after: after) }
                group.addTask { try? await Task.sleep(until: deadline) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func change(after: Int64) async {
        let id = inner.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = inner.withLock { state -> Bool in
                    if state.newest > after || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = inner.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
        inner.withLock { _ = $0.cancelled.remove(id) }
    }
}
