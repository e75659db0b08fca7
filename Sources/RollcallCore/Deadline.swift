import Dispatch
import Synchronization

/// Runs work against a deadline without waiting for work that is slow to notice its
/// cancellation (a blocked C call, an HTTP body): at the deadline the caller gets nil at once and
/// the work is cancelled and left to finish on its own. No I/O here; the callers decide what a
/// late result may still do (see `RunGate`).
public enum Deadline {
    /// - Parameter mayExpire: asked at the deadline; false lets the work finish after all (a run
    ///   already writing its one transaction), and its result is returned as usual.
    public static func race<T: Sendable>(seconds: Double, mayExpire: @escaping @Sendable () -> Bool = { true },
                                         _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
            let work = Task {
                let result: Result<T?, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                if once.claim() { continuation.resume(with: result) }
            }
            // A dispatch timer, not a sleeping task: a cooperative pool kept busy (blocking calls
            // on its few threads) must not delay the deadline.
            DispatchQueue.global().asyncAfter(deadline: .now() + min(seconds, 1e9)) {
                if mayExpire(), once.claim() {
                    work.cancel()
                    continuation.resume(returning: nil)
                }
            }
        }
    }

    /// True for the first caller only.
    final class Once: Sendable {
        private let claimed = Mutex(false)
        func claim() -> Bool { claimed.withLock { was in defer { was = true }; return !was } }
    }
}

/// A run's last decision point: either it begins to write (and the deadline no longer applies) or
/// its deadline passed (and it never writes). Whichever comes first wins, once.
public final class RunGate: Sendable {
    enum State { case running, writing, timedOut }
    private let state = Mutex(State.running)

    public init() {}

    /// The run may write now; false when its deadline already passed.
    public func beginWriting() -> Bool {
        state.withLock { state in
            guard state == .running else { return state == .writing }
            state = .writing
            return true
        }
    }

    /// The deadline passed; false when the run is already writing (it is let finish).
    public func timeOut() -> Bool {
        state.withLock { state in
            guard state == .running else { return state == .timedOut }
            state = .timedOut
            return true
        }
    }

    public var timedOut: Bool { state.withLock { $0 == .timedOut } }
}
