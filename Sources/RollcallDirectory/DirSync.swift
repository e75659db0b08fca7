import COpenLDAP
import Foundation

/// What one DirSync exchange returned.
public struct DirSyncResult: Sendable {
    /// Objects changed since the cookie (all objects when there was none), with the changed attributes.
    public var entries: [LDAPEntry]
    /// The cookie to store with the run that applies these changes.
    public var cookie: [UInt8]
}

/// Active Directory's DirSync control (MS-ADTS 3.1.1.3.4.1.3): changes since a cookie, deletes
/// included (as isDeleted objects). The caller needs the "Replicating Directory Changes" right on
/// the naming context, and the search must start at the naming context's root.
extension LDAPConnection {
    static let dirSyncOID = "1.2.840.113556.1.4.841"

    public func dirSync(baseDN: String, filter: String, attributes: [String], cookie: [UInt8]?) async throws -> DirSyncResult {
        try await perform { connection in
            try connection.runDirSync(baseDN: baseDN, filter: filter, attributes: attributes, cookie: cookie)
        }
    }

    private func runDirSync(baseDN: String, filter: String, attributes: [String], cookie start: [UInt8]?) throws -> DirSyncResult {
        let ld = try requireHandle(step: .search)
        let place = "DirSync of \(baseDN)"
        var names = attributes.map { strdup($0) }
        names.append(nil)
        defer { names.forEach { free($0) } }
        var cookie = start ?? []
        var entries: [LDAPEntry] = []
        var rounds = 0
        while true {
            rounds += 1
            guard var requestBytes = DirSyncControl.request(flags: 0, maxBytes: 0x100000, cookie: cookie) else {
                throw LDAPError(step: .search, code: LDAP_ENCODING_ERROR, place: place)
            }
            var result: OpaquePointer?
            let rc: Int32 = LDAPConnection.dirSyncOID.withCString { oid in
                requestBytes.withUnsafeMutableBytes { request in
                    let value = berval(bv_len: ber_len_t(request.count), bv_val: request.baseAddress?.assumingMemoryBound(to: CChar.self))
                    var control = LDAPControl(ldctl_oid: UnsafeMutablePointer(mutating: oid), ldctl_value: value, ldctl_iscritical: 1)
                    return withUnsafeMutablePointer(to: &control) { pointer in
                        var controls: [UnsafeMutablePointer<LDAPControl>?] = [pointer, nil]
                        var timeout = timeval(tv_sec: settings.operationTimeoutSeconds, tv_usec: 0)
                        return names.withUnsafeMutableBufferPointer { attrs in
                            controls.withUnsafeMutableBufferPointer { list in
                                ldap_search_ext_s(ld, baseDN, LDAPConnection.scope(.sub), filter, attrs.baseAddress, 0, list.baseAddress,
                                                  nil, &timeout, 0, &result)
                            }
                        }
                    }
                }
            }
            defer { if let result { ldap_msgfree(result) } }
            guard rc == LDAP_SUCCESS, let result else {
                let detail = rc == 50 || rc == 8
                    ? "DirSync needs the \"Replicating Directory Changes\" right on \(baseDN) for \(settings.bindDN ?? "this account"); grant it, or use the uSNChanged delta"
                    : "the DirSync read is incomplete; nothing is treated as deleted"
                throw LDAPError(step: .search, code: rc, diagnostic: diagnostic(ld), place: place, detail: detail)
            }
            var message = ldap_first_entry(ld, result)
            while let entry = message {
                entries.append(try decodeEntry(ld, entry))
                message = ldap_next_entry(ld, entry)
            }
            var more: Int32 = 0
            cookie = try responseCookie(ld, result, place: place, more: &more)
            if more == 0 || rounds > 10_000 { break }
        }
        return DirSyncResult(entries: entries, cookie: cookie)
    }

    private func responseCookie(_ ld: OpaquePointer, _ result: OpaquePointer, place: String, more: inout Int32) throws -> [UInt8] {
        var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        var code: Int32 = 0
        let rc = ldap_parse_result(ld, result, &code, nil, nil, nil, &controls, 0)
        defer { if let controls { ldap_controls_free(controls) } }
        guard rc == LDAP_SUCCESS, code == LDAP_SUCCESS else {
            throw LDAPError(step: .search, code: code != 0 ? code : rc, diagnostic: diagnostic(ld), place: place,
                            detail: "the DirSync read is incomplete; nothing is treated as deleted")
        }
        guard let control = ldap_control_find(LDAPConnection.dirSyncOID, controls, nil) else {
            throw LDAPError(step: .search, code: LDAP_PROTOCOL_ERROR, place: place, detail: "the server sent no DirSync response control")
        }
        let value = control.pointee.ldctl_value
        let bytes = value.bv_val.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(value.bv_len))) } ?? []
        guard let response = DirSyncControl.response(bytes) else {
            throw LDAPError(step: .decode, code: LDAP_DECODING_ERROR, place: place, detail: "unreadable DirSync response control")
        }
        more = response.more
        return response.cookie
    }
}

/// The BER values of the DirSync control (MS-ADTS 3.1.1.3.4.1.3), encoded and decoded by liblber.
/// Both are `SEQUENCE { INTEGER, INTEGER, OCTET STRING }`: the request's flags, maximum bytes and
/// cookie; the response's "more results" flag, an unused integer and the next cookie.
public enum DirSyncControl {
    /// The request value; nil only when liblber cannot allocate.
    public static func request(flags: Int32, maxBytes: Int32, cookie: [UInt8]) -> [UInt8]? {
        var out = berval(bv_len: 0, bv_val: nil)
        var cookie = cookie
        let rc = cookie.withUnsafeMutableBytes { buffer -> Int32 in
            var value = berval(bv_len: ber_len_t(buffer.count), bv_val: buffer.baseAddress?.assumingMemoryBound(to: CChar.self))
            return rollcall_dirsync_request(flags, maxBytes, &value, &out)
        }
        guard rc == 0 else { return nil }
        defer { if out.bv_val != nil { ber_memfree(out.bv_val) } }
        return out.bv_val.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(out.bv_len))) } ?? []
    }

    /// The response value's "more results" flag and cookie; nil when the bytes are not that
    /// sequence (whatever a server sends: this is the BER a hostile DC controls).
    public static func response(_ value: [UInt8]) -> (more: Int32, cookie: [UInt8])? {
        var value = value
        var more: Int32 = 0
        var cookie = berval(bv_len: 0, bv_val: nil)
        let rc = value.withUnsafeMutableBytes { buffer -> Int32 in
            var input = berval(bv_len: ber_len_t(buffer.count), bv_val: buffer.baseAddress?.assumingMemoryBound(to: CChar.self))
            return rollcall_dirsync_response(&input, &more, &cookie)
        }
        defer { if cookie.bv_val != nil { ber_memfree(cookie.bv_val) } }
        guard rc == 0 else { return nil }
        return (more, cookie.bv_val.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(cookie.bv_len))) } ?? [])
    }
}
