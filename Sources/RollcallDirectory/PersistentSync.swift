import COpenLDAP
import Foundation
import Synchronization

/// One change reported by a refreshAndPersist search.
public enum DirectoryChange: Sendable {
    /// An entry added or modified, with the requested attributes.
    case changed(LDAPEntry)
    /// The entryUUID of a deleted entry.
    case deleted(String)
    /// The entryUUID of an entry that is present and unchanged (refresh phase only).
    case present(String)
    /// The refresh phase is over: what follows are live changes.
    case refreshDone
}

/// RFC 4533 refreshAndPersist: the refresh content, then every change as the server makes it.
extension LDAPConnection {
    /// Starts a persistent search on this connection, which it then occupies until the stream is
    /// cancelled or the connection fails (the stream then ends with the `LDAPError`). Use a
    /// connection of its own for it.
    public func persistentChanges(_ request: SearchRequest, cookie: [UInt8]? = nil) -> AsyncThrowingStream<DirectoryChange, any Error> {
        let (stream, continuation) = AsyncThrowingStream<DirectoryChange, any Error>.makeStream()
        let flag = CancellationFlag()
        continuation.onTermination = { _ in flag.set() }
        queue.async {
            do {
                try self.runPersistent(request, cookie: cookie, flag: flag) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    private func runPersistent(_ request: SearchRequest, cookie: [UInt8]?, flag: CancellationFlag,
                               yield: @escaping (DirectoryChange) -> Void) throws {
        let ld = try requireHandle(step: .search)
        let place = "syncrepl persist on \(request.baseDN), filter \(request.filter)"
        let collector = SyncCollector(connection: self, ld: ld)
        collector.sink = yield
        let session = try makeSyncSession(request, cookie: cookie, ld: ld, collector: collector, place: place)
        defer {
            session.pointee.ls_ld = nil
            ldap_sync_destroy(session, 1)
        }
        // A time limit would end the persistent search; polls wake every 200 ms to notice cancellation.
        session.pointee.ls_timelimit = 0
        session.pointee.ls_timeout = 0
        var rc = ldap_sync_init_refresh_and_persist(session)
        guard rc == LDAP_SUCCESS else {
            throw collector.failure ?? LDAPError(step: .search, code: rc, diagnostic: diagnostic(ld), place: place,
                                                 detail: "the persistent search could not start")
        }
        yield(.refreshDone)
        while !flag.isSet {
            // Wait for input (at most 200 ms, to notice cancellation), then take whatever arrived;
            // libldap may also hold messages it already read, so it is asked either way.
            var ready = pollfd(fd: socketDescriptor(ld), events: Int16(POLLIN), revents: 0)
            _ = poll(&ready, 1, 200)
            rc = ldap_sync_poll(session)
            if let failure = collector.failure { throw failure }
            if rc < 0 || collector.searchEnded {
                throw LDAPError(step: .search, code: rc < 0 ? LDAPConnection.resultCode(ld) : LDAP_UNAVAILABLE,
                                diagnostic: diagnostic(ld), place: place,
                                detail: "the persistent search ended; changes after this point were not seen")
            }
        }
    }

    /// The connection's socket, to wait for input without holding libldap in a blocking call.
    private func socketDescriptor(_ ld: OpaquePointer) -> Int32 {
        var descriptor: Int32 = -1
        _ = ldap_get_option(ld, LDAP_OPT_DESC, &descriptor)
        return descriptor
    }
}

/// Set when the consumer stops listening.
final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)

    func set() { cancelled.store(true, ordering: .relaxed) }
    var isSet: Bool { cancelled.load(ordering: .relaxed) }
}
