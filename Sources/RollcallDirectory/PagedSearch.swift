import COpenLDAP
import Foundation
import Synchronization

/// RFC 2696 paged search. Each page is decoded into `LDAPEntry` values and handed to the caller
/// before the next page is asked for, so memory stays bounded by one page of raw messages.
///
/// Any error, including a size limit (result 4) or a dropped connection mid-read, ends the search
/// with an `LDAPError`: a partial read is never returned as if it were complete.
extension LDAPConnection {
    static let pagedResultsOID = "1.2.840.113556.1.4.319"

    /// Reads every entry under `request`, calling `onPage` once per page on the connection's queue.
    /// Returns the number of entries read.
    @discardableResult
    public func pagedSearch(_ request: SearchRequest,
                            onPage: @escaping @Sendable ([LDAPEntry]) throws -> Void) async throws -> Int {
        try await perform { connection in try connection.runPagedSearch(request, onPage: onPage) }
    }

    /// The first entry a search returns (for base-scope reads of one object), or nil when the
    /// object does not exist (result 32).
    public func firstEntry(_ request: SearchRequest) async throws -> LDAPEntry? {
        let found = Mutex<LDAPEntry?>(nil)
        do {
            try await pagedSearch(request) { page in
                if let entry = page.first { found.withLock { if $0 == nil { $0 = entry } } }
            }
        } catch let error as LDAPError where error.code == 32 {
            return nil
        }
        return found.withLock { $0 }
    }

    private func runPagedSearch(_ request: SearchRequest, onPage: ([LDAPEntry]) throws -> Void) throws -> Int {
        let ld = try requireHandle(step: .search)
        let place = "base \(request.baseDN), filter \(request.filter)"
        var attributes = request.attributes.map { strdup($0) }
        attributes.append(nil)
        defer { attributes.forEach { free($0) } }
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { if cookie.bv_val != nil { ber_memfree(cookie.bv_val) } }
        // Value-less controls (Show Deleted, domainScope), allocated once for all pages.
        let extras: [UnsafeMutablePointer<LDAPControl>] = request.controls.map { oid in
            let control = UnsafeMutablePointer<LDAPControl>.allocate(capacity: 1)
            control.initialize(to: LDAPControl(ldctl_oid: strdup(oid), ldctl_value: berval(bv_len: 0, bv_val: nil), ldctl_iscritical: 1))
            return control
        }
        defer {
            for control in extras {
                free(control.pointee.ldctl_oid)
                control.deallocate()
            }
        }
        var total = 0
        var pages = 0
        repeat {
            var control: UnsafeMutablePointer<LDAPControl>?
            var rc = ldap_create_page_control(ld, ber_int_t(request.pageSize), &cookie, 1, &control)
            guard rc == LDAP_SUCCESS, let control else {
                throw LDAPError(step: .search, code: rc, place: place, detail: "could not build the paged results control")
            }
            defer { ldap_control_free(control) }
            var serverControls: [UnsafeMutablePointer<LDAPControl>?] = [control] + extras + [nil]
            var timeout = timeval(tv_sec: settings.operationTimeoutSeconds, tv_usec: 0)
            var messageID: Int32 = 0
            rc = attributes.withUnsafeMutableBufferPointer { attrs in
                serverControls.withUnsafeMutableBufferPointer { controls in
                    ldap_search_ext(ld, request.baseDN, LDAPConnection.scope(request.scope), request.filter,
                                    attrs.baseAddress, 0, controls.baseAddress, nil, &timeout, 0, &messageID)
                }
            }
            guard rc == LDAP_SUCCESS else {
                throw LDAPError(step: .search, code: rc, diagnostic: diagnostic(ld), place: place,
                                detail: LDAPConnection.partialReadDetail(total: total, pages: pages))
            }
            // Entries are decoded as they arrive, so the server produces the page while we decode it.
            var entries: [LDAPEntry] = []
            entries.reserveCapacity(request.pageSize)
            while true {
                var message: OpaquePointer?
                var wait = timeval(tv_sec: settings.operationTimeoutSeconds, tv_usec: 0)
                let kind = ldap_result(ld, messageID, LDAP_MSG_ONE, &wait, &message)
                guard kind > 0, let message else {
                    if let message { ldap_msgfree(message) }
                    let code = kind == 0 ? LDAP_TIMEOUT : LDAPConnection.resultCode(ld)
                    throw LDAPError(step: .search, code: code, diagnostic: diagnostic(ld), place: place,
                                    detail: (kind == 0 ? "no answer within \(settings.operationTimeoutSeconds) s; " : "")
                                        + LDAPConnection.partialReadDetail(total: total + entries.count, pages: pages))
                }
                defer { ldap_msgfree(message) }
                if kind == 0x64 {
                    entries.append(try decodeEntry(ld, message))
                } else if kind == 0x65 {
                    try finishPage(ld, message, place: place, total: total + entries.count, pages: pages, cookie: &cookie,
                                   baseScope: request.scope == .base)
                    break
                }
                // 0x73 (continuation reference): referrals are off and are not followed.
            }
            total += entries.count
            pages += 1
            try onPage(entries)
        } while cookie.bv_len > 0
        return total
    }

    /// Checks the page's result code and takes the server's cookie for the next page.
    private func finishPage(_ ld: OpaquePointer, _ result: OpaquePointer, place: String, total: Int, pages: Int,
                            cookie: inout berval, baseScope: Bool) throws {
        var code: Int32 = 0
        var diagnosticText: UnsafeMutablePointer<CChar>?
        var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        let rc = ldap_parse_result(ld, result, &code, nil, &diagnosticText, nil, &controls, 0)
        defer {
            if let diagnosticText { ldap_memfree(diagnosticText) }
            if let controls { ldap_controls_free(controls) }
        }
        let serverText = diagnosticText.map { String(cString: $0) }
        guard rc == LDAP_SUCCESS else {
            throw LDAPError(step: .search, code: rc, diagnostic: serverText, place: place,
                            detail: LDAPConnection.partialReadDetail(total: total, pages: pages))
        }
        guard code == LDAP_SUCCESS else {
            var detail = LDAPConnection.partialReadDetail(total: total, pages: pages)
            if code == 4 { detail = "the server's size limit cut the read short; " + detail }
            throw LDAPError(step: .search, code: code, diagnostic: serverText, place: place, detail: detail)
        }
        guard let response = ldap_control_find(LDAPConnection.pagedResultsOID, controls, nil) else {
            // A base-scope search returns at most one entry; some servers (Active Directory's
            // rootDSE) answer it without paging, which is complete.
            if baseScope {
                if cookie.bv_val != nil { ber_memfree(cookie.bv_val) }
                cookie = berval(bv_len: 0, bv_val: nil)
                return
            }
            throw LDAPError(step: .search, code: LDAP_PROTOCOL_ERROR, place: place,
                            detail: "the server answered a paged search without a paged results control")
        }
        if cookie.bv_val != nil { ber_memfree(cookie.bv_val) }
        cookie = berval(bv_len: 0, bv_val: nil)
        var estimate: ber_int_t = 0
        let parsed = ldap_parse_pageresponse_control(ld, response, &estimate, &cookie)
        guard parsed == LDAP_SUCCESS else {
            throw LDAPError(step: .search, code: parsed, place: place, detail: "could not parse the paged results control")
        }
    }

    func decodeEntry(_ ld: OpaquePointer, _ entry: OpaquePointer) throws -> LDAPEntry {
        var ber: OpaquePointer?
        var dnValue = berval(bv_len: 0, bv_val: nil)
        let rc = ldap_get_dn_ber(ld, entry, &ber, &dnValue)
        defer { if let ber { ber_free(ber, 0) } }
        guard rc == LDAP_SUCCESS, let ber else {
            throw LDAPError(step: .decode, code: rc, detail: "an entry without a readable DN")
        }
        let dn = LDAPConnection.string(dnValue)
        var attributes: [(name: String, values: [[UInt8]])] = []
        attributes.reserveCapacity(8)
        while true {
            var name = berval(bv_len: 0, bv_val: nil)
            var values: UnsafeMutablePointer<berval>?
            let status = ldap_get_attribute_ber(ld, entry, ber, &name, &values)
            guard status == LDAP_SUCCESS else {
                throw LDAPError(step: .decode, code: status, place: dn, detail: "malformed attribute list")
            }
            guard name.bv_val != nil else { break }
            var list: [[UInt8]] = []
            if let values {
                var index = 0
                while let pointer = values[index].bv_val {
                    list.append(Array(UnsafeRawBufferPointer(start: pointer, count: Int(values[index].bv_len))))
                    index += 1
                }
                ber_memfree(values)
            }
            attributes.append((name: LDAPConnection.string(name), values: list))
        }
        return LDAPEntry(dn: dn, attributes: attributes)
    }

    /// The handle's last result code (a negative API code when the connection was lost).
    static func resultCode(_ ld: OpaquePointer) -> Int32 {
        var code: Int32 = 0
        _ = ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code)
        return code == 0 ? LDAP_OTHER : code
    }

    static func string(_ value: berval) -> String {
        guard let pointer = value.bv_val else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(value.bv_len)), as: UTF8.self)
    }

    static func scope(_ scope: SearchRequest.Scope) -> Int32 {
        switch scope {
        case .base: return rollcall_ldap_scope_base()
        case .one: return rollcall_ldap_scope_onelevel()
        case .sub: return rollcall_ldap_scope_subtree()
        }
    }

    static func partialReadDetail(total: Int, pages: Int) -> String {
        "the read stopped after \(total) entries in \(pages) complete pages and is incomplete; nothing is treated as deleted"
    }
}
