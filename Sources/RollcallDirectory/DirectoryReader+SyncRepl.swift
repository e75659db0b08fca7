import COpenLDAP
import Logging
import RollcallCore

/// What a syncrepl read of the accounts yielded.
public struct SyncRead: Sendable {
    /// Accounts added or changed since the cookie; everything, when `isFull`.
    public var changed: [DirectoryAccount]
    /// Anchors reported deleted.
    public var deleted: Set<String>
    /// When the server listed every entry still present: those anchors. nil otherwise.
    public var present: Set<String>?
    /// No cookie was used (none stored, or the server rejected it): `changed` is the whole content.
    public var isFull: Bool
    /// The stored cookie was rejected (stale or unknown) and a full read was done instead.
    public var cookieRejected: Bool
    /// The cookie to store with the run that applies this read.
    public var cookie: [UInt8]
}

extension DirectoryReader {
    /// Reads the accounts with RFC 4533 refreshOnly from `cookie` (nil: everything). A cookie the
    /// server no longer accepts falls back to a full refresh, with a log line that says so.
    public func syncRead(cookie: [UInt8]?, logger: Logger) async throws -> SyncRead {
        try await retry.run(logger: logger, what: "syncrepl read") { try await syncReadOnce(cookie: cookie, logger: logger) }
    }

    private func syncReadOnce(cookie: [UInt8]?, logger: Logger) async throws -> SyncRead {
        guard mapping.anchorAttribute.lowercased() == "entryuuid" else {
            throw LDAPError(step: .configure, code: LDAP_PARAM_ERROR, place: settings.uri,
                            detail: "syncrepl reports entries by entryUUID; directory.anchor_attribute must be entryUUID")
        }
        let connection = try await LDAPConnection.connect(settings)
        var outcome = try await connection.syncReplRefresh(request, cookie: cookie)
        var rejected = false
        if case .refreshRequired = outcome {
            logger.notice("syncrepl cookie rejected by the server: full read instead", metadata: ["ldap.uri": "\(settings.uri)"])
            rejected = true
            outcome = try await connection.syncReplRefresh(request, cookie: nil)
        }
        await connection.close()
        guard case .refreshed(let refresh) = outcome else {
            throw LDAPError(step: .search, code: 0x1000, place: settings.uri, detail: "the server asked for a full refresh twice")
        }
        let changed = try refresh.changed.map { try mapping.account(from: $0) }
        let isFull = cookie == nil || rejected
        let present: Set<String>? = isFull || refresh.completeness == .changesOnly ? nil : refresh.present
        if !isFull && refresh.completeness == .presentsListed {
            logger.notice("syncrepl answered with a present list (session log did not cover the cookie)",
                          metadata: ["ldap.present": "\(refresh.present.count)"])
        }
        logger.info("syncrepl read complete", metadata: ["ldap.changed": "\(changed.count)", "ldap.deleted": "\(refresh.deleted.count)",
                                                          "ldap.full": "\(isFull)"])
        return SyncRead(changed: changed, deleted: refresh.deleted, present: present, isFull: isFull,
                        cookieRejected: rejected, cookie: refresh.cookie)
    }
}

