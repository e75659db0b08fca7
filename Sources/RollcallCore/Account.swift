/// One directory account as read in this run.
///
/// `anchor` is the directory's immutable identifier (entryUUID on OpenLDAP); a DN can change, the
/// anchor cannot. `correlationValue` is the value of the configured correlation attribute (for
/// example `employeeNumber`), if the entry has one.
///
/// The further attributes kept for display are carried as canonical JSON text (an object of arrays
/// of strings): Core only compares them, and the reader builds the text on its own queue while it
/// waits for the server.
public struct DirectoryAccount: Sendable, Hashable, Codable {
    public var anchor: String
    public var dn: String
    public var correlationValue: String?
    public var attributesJSON: String

    public init(anchor: String, dn: String, correlationValue: String?, attributesJSON: String) {
        self.anchor = anchor
        self.dn = dn
        self.correlationValue = correlationValue
        self.attributesJSON = attributesJSON
    }

    public init(anchor: String, dn: String, correlationValue: String?, attributes: [String: [String]] = [:]) {
        self.init(anchor: anchor, dn: dn, correlationValue: correlationValue, attributesJSON: CanonicalJSON.text(attributes))
    }
}

/// One directory account as stored after the last applied run. The extra attributes are kept as
/// canonical JSON text: compared as text when diffing, decoded only for display.
public struct StoredAccount: Sendable, Hashable, Codable {
    public var anchor: String
    public var dn: String
    public var correlationValue: String?
    /// `CanonicalJSON.text(attributes)` of the account as read.
    public var attributesJSON: String
    /// Whether an `account.orphaned` event was already emitted for this account while it had no person.
    public var orphanReported: Bool

    public init(anchor: String, dn: String, correlationValue: String?, attributesJSON: String, orphanReported: Bool) {
        self.anchor = anchor
        self.dn = dn
        self.correlationValue = correlationValue
        self.attributesJSON = attributesJSON
        self.orphanReported = orphanReported
    }

    public init(account: DirectoryAccount, orphanReported: Bool) {
        self.init(anchor: account.anchor, dn: account.dn, correlationValue: account.correlationValue,
                  attributesJSON: account.attributesJSON, orphanReported: orphanReported)
    }
}

/// A remembered correlation between a person and an account, keyed by the account's anchor.
public struct Link: Sendable, Hashable, Codable {
    public var employeeID: String
    public var anchor: String

    public init(employeeID: String, anchor: String) {
        self.employeeID = employeeID
        self.anchor = anchor
    }
}

/// Everything the store knows before a run: the "actual" side of the diff.
public struct StoredState: Sendable {
    public var persons: [String: StoredPerson]
    public var accounts: [String: StoredAccount]
    public var links: [Link]
    /// The newest applied run this state reflects (0: none). A plan made from it may only be
    /// applied while that is still the newest run, so two overlapping runs cannot both emit the
    /// same transition.
    public var version: Int64 = 0

    public init(persons: [String: StoredPerson] = [:], accounts: [String: StoredAccount] = [:], links: [Link] = []) {
        self.persons = persons
        self.accounts = accounts
        self.links = links
    }
}
