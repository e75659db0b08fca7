import COpenLDAP
import Foundation

/// What one RFC 4533 refreshOnly exchange returned.
public struct SyncReplRefresh: Sendable {
    /// How to treat a stored entry that the refresh does not mention.
    public enum Completeness: Sendable, Equatable {
        /// Present phase: every entry that still exists was sent (changed) or named (present);
        /// anything else is gone. A refresh without a cookie is always this.
        case presentsListed
        /// Delete phase: only changes and deletions were sent; unmentioned entries are unchanged.
        case changesOnly
    }

    /// Entries added or modified since the cookie, with all requested attributes.
    public var changed: [LDAPEntry]
    /// entryUUIDs the server says are present and unchanged.
    public var present: Set<String>
    /// entryUUIDs the server says are deleted.
    public var deleted: Set<String>
    public var completeness: Completeness
    /// The cookie to store with the run that applies this refresh.
    public var cookie: [UInt8]
}

/// The outcome of a refresh: the changes, or the server saying the cookie is no longer usable.
public enum SyncReplOutcome: Sendable {
    case refreshed(SyncReplRefresh)
    /// e-syncRefreshRequired (4096): the cookie is stale or unknown; do a full read.
    case refreshRequired
}

/// RFC 4533 content synchronisation in refreshOnly mode through libldap's `ldap_sync_*` API.
extension LDAPConnection {
    static let refreshRequiredCode: Int32 = 0x1000

    /// One refresh from `cookie` (nil: the whole content). The request's attributes must include
    /// the anchor (entryUUID), since changed entries are mapped like a full read.
    public func syncReplRefresh(_ request: SearchRequest, cookie: [UInt8]?) async throws -> SyncReplOutcome {
        try await perform { connection in try connection.runSyncRefresh(request, cookie: cookie) }
    }

    private func runSyncRefresh(_ request: SearchRequest, cookie: [UInt8]?) throws -> SyncReplOutcome {
        let ld = try requireHandle(step: .search)
        let place = "syncrepl refresh of \(request.baseDN), filter \(request.filter)"
        let collector = SyncCollector(connection: self, ld: ld)
        let session = try makeSyncSession(request, cookie: cookie, ld: ld, collector: collector, place: place)
        defer {
            // The handle is ours: keep ldap_sync_destroy from unbinding it.
            session.pointee.ls_ld = nil
            ldap_sync_destroy(session, 1)
        }
        // libldap's refresh waits for the server for ever: a watchdog ends it after
        // operation_timeout_seconds without anything arriving.
        let watchdog = OperationWatchdog(ld: ld, idleSeconds: settings.operationTimeoutSeconds)
        collector.watchdog = watchdog
        let rc = ldap_sync_init_refresh_only(session)
        watchdog?.stop()
        if watchdog?.fired == true {
            discardHandle()
            throw LDAPError(step: .search, code: LDAP_TIMEOUT, place: place,
                            detail: "nothing arrived for \(settings.operationTimeoutSeconds) s (operation_timeout_seconds) after \(collector.changed.count) entries; "
                                + "the connection was closed and nothing is treated as deleted")
        }
        if rc == LDAPConnection.refreshRequiredCode { return .refreshRequired }
        if let failure = collector.failure { throw failure }
        guard rc == LDAP_SUCCESS else {
            throw LDAPError(step: .search, code: rc, diagnostic: diagnostic(ld), place: place,
                            detail: "the refresh is incomplete after \(collector.changed.count) entries; nothing is treated as deleted")
        }
        let stored = session.pointee.ls_cookie
        let newCookie = stored.bv_val.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(stored.bv_len))) } ?? []
        // The final sync done control says which phase ended the refresh. Without it we cannot tell
        // "unmentioned means unchanged" from "unmentioned means deleted": refuse rather than guess.
        guard collector.refreshDeletes >= 0 else {
            throw LDAPError(step: .search, code: LDAP_PROTOCOL_ERROR, place: place,
                            detail: "the refresh ended without a sync done control; nothing is treated as deleted")
        }
        let completeness: SyncReplRefresh.Completeness = collector.refreshDeletes == 1 && cookie != nil ? .changesOnly : .presentsListed
        return .refreshed(SyncReplRefresh(changed: collector.changed, present: collector.present, deleted: collector.deleted,
                                          completeness: completeness, cookie: newCookie))
    }

    /// An `ldap_sync_t` for `request` on `ld`, its callbacks reporting to `collector`. The caller
    /// destroys it with `ls_ld` set to nil first (the handle belongs to the connection).
    func makeSyncSession(_ request: SearchRequest, cookie: [UInt8]?, ld: OpaquePointer, collector: SyncCollector,
                         place: String) throws -> UnsafeMutablePointer<ldap_sync_t> {
        guard let session = ldap_sync_initialize(nil) else {
            throw LDAPError(step: .search, code: LDAP_NO_MEMORY, place: place)
        }
        session.pointee.ls_base = ber_strdup(request.baseDN)
        session.pointee.ls_filter = ber_strdup(request.filter)
        session.pointee.ls_scope = LDAPConnection.scope(request.scope)
        let attributes = ber_memcalloc(ber_len_t(request.attributes.count + 1), ber_len_t(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride))
            .assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)
        for (index, name) in request.attributes.enumerated() { attributes[index] = ber_strdup(name) }
        session.pointee.ls_attrs = attributes
        session.pointee.ls_timelimit = Int32(settings.operationTimeoutSeconds)
        session.pointee.ls_ld = ld
        if let cookie, !cookie.isEmpty {
            // libldap frees the cookie with its allocator and reads it as a C string: copy with a NUL.
            let buffer = ber_memalloc(ber_len_t(cookie.count + 1)).assumingMemoryBound(to: CChar.self)
            cookie.withUnsafeBytes { raw in
                for (index, byte) in raw.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            }
            buffer[cookie.count] = 0
            session.pointee.ls_cookie = berval(bv_len: ber_len_t(cookie.count), bv_val: buffer)
        }
        session.pointee.ls_private = Unmanaged.passUnretained(collector).toOpaque()
        session.pointee.ls_search_entry = { session, message, uuid, phase in
            guard let session, let message, let context = session.pointee.ls_private else { return LDAP_OTHER }
            let collector = Unmanaged<SyncCollector>.fromOpaque(context).takeUnretainedValue()
            return collector.entry(message, uuid: uuid.map { LDAPConnection.uuidString($0.pointee) }, phase: phase)
        }
        session.pointee.ls_intermediate = { session, _, uuids, phase in
            guard let session, let context = session.pointee.ls_private else { return LDAP_OTHER }
            let collector = Unmanaged<SyncCollector>.fromOpaque(context).takeUnretainedValue()
            collector.idSet(uuids, phase: phase)
            return LDAP_SUCCESS
        }
        session.pointee.ls_search_result = { session, _, refreshDeletes in
            guard let session, let context = session.pointee.ls_private else { return LDAP_OTHER }
            let collector = Unmanaged<SyncCollector>.fromOpaque(context).takeUnretainedValue()
            collector.refreshDeletes = refreshDeletes
            collector.searchEnded = true
            return LDAP_SUCCESS
        }

        return session
    }

    /// entryUUID in RFC 4122 text form from the 16 bytes syncrepl sends.
    static func uuidString(_ value: berval) -> String {
        guard let pointer = value.bv_val, value.bv_len == 16 else { return LDAPConnection.string(value) }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: 16)
        let hex = bytes.map { byte -> String in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }
}

/// Gathers what the sync callbacks report. Only used on the connection's queue, inside one
/// `ldap_sync_init_refresh_only` call.
final class SyncCollector {
    let connection: LDAPConnection
    let ld: OpaquePointer
    var changed: [LDAPEntry] = []
    var present = Set<String>()
    var deleted = Set<String>()
    var refreshDeletes: Int32 = -1
    var searchEnded = false
    var failure: LDAPError?
    /// When set (refreshAndPersist), changes are handed over as they arrive instead of collected.
    var sink: ((DirectoryChange) -> Void)?
    /// Told of each message, so that a refresh that keeps receiving is not cut off.
    var watchdog: OperationWatchdog?

    init(connection: LDAPConnection, ld: OpaquePointer) {
        self.connection = connection
        self.ld = ld
    }

    func entry(_ message: OpaquePointer, uuid: String?, phase: ldap_sync_refresh_t) -> Int32 {
        watchdog?.progress()
        switch phase {
        case LDAP_SYNC_CAPI_ADD, LDAP_SYNC_CAPI_MODIFY:
            do {
                let entry = try connection.decodeEntry(ld, message)
                if let sink { sink(.changed(entry)) } else { changed.append(entry) }
            } catch let error as LDAPError {
                failure = error
                return LDAP_OTHER
            } catch {
                return LDAP_OTHER
            }
        case LDAP_SYNC_CAPI_PRESENT:
            if let uuid { if let sink { sink(.present(uuid)) } else { present.insert(uuid) } }
        case LDAP_SYNC_CAPI_DELETE:
            if let uuid { if let sink { sink(.deleted(uuid)) } else { deleted.insert(uuid) } }
        default:
            break
        }
        return LDAP_SUCCESS
    }

    func idSet(_ uuids: BerVarray?, phase: ldap_sync_refresh_t) {
        watchdog?.progress()
        guard let uuids else { return }
        var index = 0
        while uuids[index].bv_val != nil {
            let uuid = LDAPConnection.uuidString(uuids[index])
            let isDelete = phase == LDAP_SYNC_CAPI_DELETES_IDSET
            if let sink {
                sink(isDelete ? .deleted(uuid) : .present(uuid))
            } else if isDelete {
                deleted.insert(uuid)
            } else {
                present.insert(uuid)
            }
            index += 1
        }
    }
}
