/// One directory account as read in this run (which directory: the `DirectoryInput` it is in).
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
    /// The value of the first correlation rule's attribute.
    public var correlationValue: String?
    /// The values of the further rules' attributes, in rule order (empty with one rule).
    public var moreCorrelationValues: [String?]
    public var attributesJSON: String
    /// Whether the account can be used (Active Directory: not ACCOUNTDISABLE and not expired;
    /// OpenLDAP: not matching the directory's `disabled_when`); nil when the directory says nothing.
    public var enabled: Bool?

    public init(anchor: String, dn: String, correlationValue: String?, moreCorrelationValues: [String?] = [], attributesJSON: String,
                enabled: Bool? = nil) {
        self.anchor = anchor
        self.dn = dn
        self.correlationValue = correlationValue
        self.moreCorrelationValues = moreCorrelationValues
        self.attributesJSON = attributesJSON
        self.enabled = enabled
    }

    public init(anchor: String, dn: String, correlationValue: String?, moreCorrelationValues: [String?] = [],
                attributes: [String: [String]] = [:]) {
        self.init(anchor: anchor, dn: dn, correlationValue: correlationValue, moreCorrelationValues: moreCorrelationValues,
                  attributesJSON: CanonicalJSON.text(attributes))
    }

    /// The value for correlation rule `index`.
    public func correlationValue(rule index: Int) -> String? {
        index == 0 ? correlationValue : (index - 1 < moreCorrelationValues.count ? moreCorrelationValues[index - 1] : nil)
    }
}

/// One directory account as stored after the last applied run, in the directory it was read from.
/// The extra attributes are kept as canonical JSON text: compared as text when diffing, decoded
/// only for display.
public struct StoredAccount: Sendable, Hashable, Codable {
    /// The configured name of the directory (`directories[].name`).
    public var directory: String
    public var anchor: String
    public var dn: String
    public var correlationValue: String?
    public var moreCorrelationValues: [String?]
    /// `CanonicalJSON.text(attributes)` of the account as read.
    public var attributesJSON: String
    /// Whether an `account.orphaned` event was already emitted for this account while it had no person.
    public var orphanReported: Bool
    /// Enabled or disabled as last read (nil: the directory says nothing), and the day that state
    /// was first seen.
    public var enabled: Bool?
    public var enabledSince: Day?
    /// A state announced and still going on (`account.still_enabled`, `account.disabled_externally`).
    public var stateNotice: AccountStateNotice?

    public init(directory: String, anchor: String, dn: String, correlationValue: String?, moreCorrelationValues: [String?] = [],
                attributesJSON: String, orphanReported: Bool, enabled: Bool? = nil, enabledSince: Day? = nil,
                stateNotice: AccountStateNotice? = nil) {
        self.directory = directory
        self.anchor = anchor
        self.dn = dn
        self.correlationValue = correlationValue
        self.moreCorrelationValues = moreCorrelationValues
        self.attributesJSON = attributesJSON
        self.orphanReported = orphanReported
        self.enabled = enabled
        self.enabledSince = enabledSince
        self.stateNotice = stateNotice
    }

    public init(directory: String, account: DirectoryAccount, orphanReported: Bool, enabledSince: Day? = nil,
                stateNotice: AccountStateNotice? = nil) {
        self.init(directory: directory, anchor: account.anchor, dn: account.dn, correlationValue: account.correlationValue,
                  moreCorrelationValues: account.moreCorrelationValues, attributesJSON: account.attributesJSON,
                  orphanReported: orphanReported, enabled: account.enabled, enabledSince: account.enabled == nil ? nil : enabledSince,
                  stateNotice: stateNotice)
    }

    /// The account as a read would return it.
    public var asRead: DirectoryAccount {
        DirectoryAccount(anchor: anchor, dn: dn, correlationValue: correlationValue, moreCorrelationValues: moreCorrelationValues,
                         attributesJSON: attributesJSON, enabled: enabled)
    }

    public var key: AccountKey { AccountKey(directory: directory, anchor: anchor) }
}

/// An account state announced once while it lasts.
public enum AccountStateNotice: String, Sendable, Hashable, Codable, CaseIterable {
    /// The account of a leaver, a deprovisioned or a held person is still enabled after the
    /// disable window (`account.still_enabled`).
    case stillEnabled = "still_enabled"
    /// An active person's account is disabled in the directory (`account.disabled_externally`).
    case disabledExternally = "disabled_externally"
}

/// An account's identity across directories: anchors are unique within one directory only.
public struct AccountKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var directory: String
    public var anchor: String

    public init(directory: String, anchor: String) {
        self.directory = directory
        self.anchor = anchor
    }

    public static func < (a: AccountKey, b: AccountKey) -> Bool {
        (a.directory, a.anchor) < (b.directory, b.anchor)
    }

    public var description: String { "\(directory) \(anchor)" }
}

/// A remembered correlation between a person and their account in one directory, keyed by the
/// account's anchor. A person has at most one link per directory.
public struct Link: Sendable, Hashable, Codable {
    public var employeeID: String
    public var directory: String
    public var anchor: String

    public init(employeeID: String, directory: String, anchor: String) {
        self.employeeID = employeeID
        self.directory = directory
        self.anchor = anchor
    }

    public var account: AccountKey { AccountKey(directory: directory, anchor: anchor) }
}

/// The configured reaction to an account without an HR person (`account.orphaned`'s `action`).
public enum OrphanAction: String, Sendable, CaseIterable, Codable {
    /// Report it; downstream decides (service accounts are typical orphans).
    case report
    /// Disable it like a leaver's account.
    case disable
}

/// What a match found by a correlation rule (an unlinked account) gets.
public enum UnlinkedAction: String, Sendable, CaseIterable, Codable {
    /// Link it (`account.linked`).
    case link
    /// Propose it (`correlation.proposed`, once) and wait for `rollcall link` to confirm it.
    case report
}

/// What a person without an account in a directory means.
public enum UnmatchedAction: String, Sendable, CaseIterable, Codable {
    /// They need one: a new person without an account in any such directory is a joiner.
    case joiner
    /// Nothing: accounts there are made by hand (a lab, a legacy system); it never asks for a joiner.
    case ignore
}

/// A correlation match waiting for an operator (the directory's `on_unlinked: report`).
public struct LinkProposal: Sendable, Hashable, Codable {
    public var employeeID: String
    public var directory: String
    public var anchor: String

    public init(employeeID: String, directory: String, anchor: String) {
        self.employeeID = employeeID
        self.directory = directory
        self.anchor = anchor
    }
}

/// One rule that finds a person's account: this HR value equals the account's value of this
/// directory attribute.
public struct CorrelationRule: Sendable, Hashable {
    public var hrField: CorrelationKey
    public var attribute: String

    public init(hrField: CorrelationKey, attribute: String) {
        self.hrField = hrField
        self.attribute = attribute
    }

    public var description: String { "\(hrField.rawValue) = \(attribute)" }
}

/// One directory's accounts as read in this run (completely, or completed from a delta), with
/// the ordered rules that correlate them with HR persons.
public struct DirectoryInput: Sendable {
    /// The configured name; stored with every account and link of this directory.
    public var name: String
    /// Tried in order for a person without a link (after the stored link): the first rule that
    /// finds exactly one account links it; one that finds several is a dispute and stops there.
    public var rules: [CorrelationRule]
    public var accounts: [DirectoryAccount]
    /// HR-owned attributes and the directory attribute that should hold each (kept among the
    /// account's attributes): a different value is an `identity.drift`.
    public var hrOwned: [(attribute: PersonAttribute, directoryAttribute: String)]
    /// What an account without a person should get: reported, or disabled like a leaver's.
    public var orphanAction: OrphanAction
    /// What an account found by a rule (not yet linked) gets.
    public var unlinkedAction: UnlinkedAction
    /// Whether a person without an account here needs one (a joiner).
    public var unmatchedAction: UnmatchedAction
    /// Whether a read with no entries is believable while no account of this directory is stored
    /// (a first run, a newly added directory). Off, such a read is refused: a wrong base DN or
    /// filter would make every person a joiner.
    public var allowEmpty: Bool

    public init(name: String, rules: [CorrelationRule], accounts: [DirectoryAccount],
                hrOwned: [(attribute: PersonAttribute, directoryAttribute: String)] = [], orphanAction: OrphanAction = .report,
                unlinkedAction: UnlinkedAction = .link, unmatchedAction: UnmatchedAction = .joiner, allowEmpty: Bool = true) {
        self.allowEmpty = allowEmpty
        self.name = name
        self.rules = rules
        self.accounts = accounts
        self.hrOwned = hrOwned
        self.orphanAction = orphanAction
        self.unlinkedAction = unlinkedAction
        self.unmatchedAction = unmatchedAction
    }

}

/// Everything the store knows before a run: the "actual" side of the diff.
public struct StoredState: Sendable {
    public var persons: [String: StoredPerson]
    /// Directory name → anchor → account.
    public var accounts: [String: [String: StoredAccount]]
    public var links: [Link]
    /// Undecided correlations already announced (`correlation.disputed`): person → directory → anchors.
    public var disputes: [String: [String: [String]]] = [:]
    /// Matches proposed and waiting for confirmation: person → directory → anchor.
    public var proposals: [String: [String: String]] = [:]
    /// Former HR ids of converted persons → their current id. A record still carrying a former id
    /// (the contractor row left in its old source) is that person's past, not a new person.
    public var formerIDs: [String: String] = [:]
    /// Entitlement changes announced and not yet seen done: person → lower-cased group DN → action.
    public var entitlementNotices: [String: [String: EntitlementNotice.Action]] = [:]
    /// Separation-of-duties violations announced and still going on: person → rule names.
    public var violationNotices: [String: Set<String>] = [:]
    /// Drifts announced and still going on: person → "directory attribute" → the directory's value.
    public var driftNotices: [String: [String: String]] = [:]
    /// Watched privileged groups' effective members at the last run: directory → lower-cased group DN → state.
    public var privileged: [String: [String: PrivilegedGroupState]] = [:]
    /// Unauthorised privileged memberships announced and still going on.
    public var privilegedNotices: Set<PrivilegedMembership> = []
    /// Memberships of the groups read in entitlement directories as last applied (the open
    /// intervals of access history).
    public var memberships: [MembershipKey: Membership] = [:]
    /// Persons an operator disabled (`rollcall disable`): nothing restores their access until enabled.
    public var holds: [String: Hold] = [:]
    /// Pseudonyms of purged persons (see `Tombstone`).
    public var tombstones: Set<String> = []
    /// Operators' decisions on proposed conversions, by the new HR id.
    public var conversionDecisions: [String: ConversionDecision] = [:]
    /// Decisions the guard holds back, pending approval.
    public var held: [HeldDecision] = []
    /// The newest applied run this state reflects (0: none). A plan made from it may only be
    /// applied while that is still the newest run, so two overlapping runs cannot both emit the
    /// same transition.
    public var version: Int64 = 0

    public init(persons: [String: StoredPerson] = [:], accounts: [String: [String: StoredAccount]] = [:], links: [Link] = []) {
        self.persons = persons
        self.accounts = accounts
        self.links = links
    }

    /// The number of stored accounts in all directories.
    public var accountCount: Int { accounts.values.reduce(0) { $0 + $1.count } }
}
