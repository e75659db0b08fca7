import Foundation
import RollcallCore
import RollcallStore
import Synchronization

/// The stored state the daemon keeps between live changes, with the audit generation it is the
/// store's state at (`Store.auditGeneration`). A live change takes it (no second copy while it is
/// planned and updated), applies its plan to it in memory (`StoredState.apply`) and puts it back;
/// anything else that changed the store (a scheduled run, a CLI command, another process) moved
/// the generation, and the next live change loads the state again.
public final class LiveState: Sendable {
    private let kept = Mutex<(generation: Int64, state: StoredState)?>(nil)
    private let loadCount = Mutex(0)

    public init() {}

    /// The state at `generation`, taken out of the cache; loaded from `store` when the cache has
    /// none or an older one.
    func take(store: Store) throws -> (state: StoredState, loaded: Bool, generation: Int64) {
        let generation = try store.auditGeneration()
        if let held = kept.withLock({ value -> (generation: Int64, state: StoredState)? in
            defer { value = nil }
            return value
        }), held.generation == generation {
            return (held.state, false, generation)
        }
        loadCount.withLock { $0 += 1 }
        return (try store.loadState(), true, generation)
    }

    /// How often a live change had to load the state (tests, metrics).
    public var loads: Int { loadCount.withLock { $0 } }

    /// After a scheduled run: loads the store's state now unless the one kept is still the
    /// store's (the run kept what it applied), so the next live change does not wait for a load.
    func refresh(storePath: String) throws {
        let store = try Store.open(path: storePath)
        let generation = try store.auditGeneration()
        if kept.withLock({ $0?.generation == generation }) { return }
        kept.withLock { $0 = nil }
        loadCount.withLock { $0 += 1 }
        keep(try store.loadState(), generation: generation)
    }

    /// Keeps `state` as the store's state at `generation`.
    func keep(_ state: consuming StoredState, generation: Int64) {
        kept.withLock { $0 = (generation, state) }
    }

    /// The kept state (tests compare it with the store's).
    public var state: StoredState? { kept.withLock { $0?.state } }
}
