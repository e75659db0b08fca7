import Logging
import RollcallCore
import Synchronization

/// Which attributes of an entry become the Core `DirectoryAccount`.
public struct AccountMapping: Sendable {
    /// The immutable identifier (entryUUID on OpenLDAP). An entry without it fails the read.
    public var anchorAttribute: String
    /// The attribute of the first correlation rule (e.g. employeeNumber).
    public var correlationAttribute: String
    /// The attributes of the further rules, in order (e.g. mail).
    public var moreCorrelationAttributes: [String]
    /// Further attributes kept with the account for display (`rollcall identity show`).
    public var extraAttributes: [String]

    /// `extraAttributes` in canonical JSON key order, computed once.
    private let sortedExtras: [String]

    public init(anchorAttribute: String, correlationAttribute: String, moreCorrelationAttributes: [String] = [],
                extraAttributes: [String] = []) {
        self.anchorAttribute = anchorAttribute
        self.correlationAttribute = correlationAttribute
        self.moreCorrelationAttributes = moreCorrelationAttributes
        self.extraAttributes = extraAttributes
        self.sortedExtras = CanonicalJSON.sortedKeys(Array(Set(extraAttributes)))
    }

    /// Values as text: Active Directory's binary objectGUID and objectSid in their text forms
    /// (a GUID that is not 16 bytes is left out), everything else as UTF-8.
    static func text(_ entry: LDAPEntry, _ name: String) -> [String]? {
        switch name.lowercased() {
        case "objectguid": return entry.values(name)?.compactMap(ADValues.guid)
        case "objectsid": return entry.values(name)?.compactMap(ADValues.sid)
        default: return entry.strings(name)
        }
    }

    /// What a search of this mapping asks for, as a stable text (for a search's fingerprint).
    public var definition: String {
        "anchor=\(anchorAttribute.lowercased())\nattributes=\(requestedAttributes.map { $0.lowercased() }.sorted().joined(separator: ","))"
    }

    var requestedAttributes: [String] {
        var seen = Set<String>()
        return ([anchorAttribute, correlationAttribute] + moreCorrelationAttributes + extraAttributes)
            .filter { seen.insert($0.lowercased()).inserted }
    }

    /// Maps one entry; throws naming the DN when the anchor is missing or not single-valued.
    public func account(from entry: LDAPEntry) throws -> DirectoryAccount {
        guard let anchors = AccountMapping.text(entry, anchorAttribute), anchors.count == 1, let anchor = anchors.first,
              !anchor.isEmpty else {
            throw LDAPError(step: .decode, code: 0, place: entry.dn,
                            detail: "the entry has no single \(anchorAttribute) value to use as its anchor")
        }
        let json = CanonicalJSON.attributes(sortedNames: sortedExtras, values: sortedExtras.map { AccountMapping.text(entry, $0) })
        return DirectoryAccount(anchor: anchor, dn: entry.dn, correlationValue: entry.strings(correlationAttribute)?.first,
                                moreCorrelationValues: moreCorrelationAttributes.map { entry.strings($0)?.first },
                                attributesJSON: json)
    }
}

/// Reads all accounts of one directory: connect, bind, paged search, map to Core types.
public struct DirectoryReader: Sendable {
    public var settings: LDAPSettings
    public var request: SearchRequest
    public var mapping: AccountMapping
    public var retry: RetryPolicy
    /// Told the running count of entries after each page of a whole read (a progress display).
    public var onEntries: (@Sendable (Int) -> Void)?

    public init(settings: LDAPSettings, request: SearchRequest, mapping: AccountMapping, retry: RetryPolicy = .none) {
        self.settings = settings
        self.retry = retry
        var request = request
        request.attributes = mapping.requestedAttributes
        self.request = request
        self.mapping = mapping
    }

    /// A complete read, or an error. Never a partial list. Transient failures are retried from the
    /// start as the retry policy says.
    public func readAccounts(logger: Logger) async throws -> [DirectoryAccount] {
        try await retry.run(logger: logger, what: "directory read") { try await readAccountsOnce(logger: logger) }
    }

    /// Every group under `baseDN` matching `filter` with all its direct members (range retrieval on
    /// Active Directory), complete or an error; retried like `readAccounts`.
    public func readGroups(baseDN: String, filter: String, memberAttribute: String, logger: Logger) async throws -> [DirectoryGroup] {
        try await retry.run(logger: logger, what: "group read") {
            let connection = try await LDAPConnection.connect(settings)
            var controls = request.controls
            controls.removeAll { $0 != SearchRequest.domainScope }
            let groups = try await connection.readGroups(baseDN: baseDN, filter: filter, anchorAttribute: mapping.anchorAttribute,
                                                         memberAttribute: memberAttribute, pageSize: request.pageSize)
            await connection.close()
            logger.info("groups read", metadata: ["ldap.groups": "\(groups.count)",
                                                  "ldap.memberships": "\(groups.reduce(0) { $0 + $1.members.count })"])
            return groups
        }
    }

    /// The anchors of the accounts under the base that match the search filter and `disabled`
    /// too: the directory's own evaluation of "this account cannot be used" (Active Directory's
    /// userAccountControl bit and accountExpires, an OpenLDAP `disabled_when` such as
    /// `(pwdAccountLockedTime=*)`). Complete or an error, retried like `readAccounts`.
    public func readDisabledAnchors(disabled: String, logger: Logger) async throws -> Set<String> {
        try await retry.run(logger: logger, what: "disabled accounts read") {
            let connection = try await LDAPConnection.connect(settings)
            var search = request
            search.filter = "(&\(request.filter)\(disabled))"
            search.attributes = [mapping.anchorAttribute]
            let anchor = mapping.anchorAttribute
            let found = Mutex(Set<String>())
            _ = try await connection.pagedSearch(search) { page in
                let anchors = page.compactMap { AccountMapping.text($0, anchor)?.first }
                found.withLock { $0.formUnion(anchors) }
            }
            await connection.close()
            let anchors = found.withLock { $0 }
            logger.debug("disabled accounts read", metadata: ["ldap.disabled": "\(anchors.count)"])
            return anchors
        }
    }

    private func readAccountsOnce(logger: Logger) async throws -> [DirectoryAccount] {
        let connection = try await LDAPConnection.connect(settings)
        logger.debug("directory connected", metadata: ["ldap.uri": "\(settings.uri)", "ldap.base": "\(request.baseDN)"])
        let collected = Mutex<[DirectoryAccount]>([])
        let mapping = self.mapping
        let onEntries = self.onEntries
        let total = try await connection.pagedSearch(request) { page in
            let accounts = try page.map { try mapping.account(from: $0) }
            let count = collected.withLock { $0.append(contentsOf: accounts); return $0.count }
            onEntries?(count)
        }
        await connection.close()
        logger.info("directory read complete", metadata: ["ldap.entries": "\(total)"])
        return collected.withLock { $0 }
    }
}
