import Foundation

/// The kinds of events Rollcall emits. The full CloudEvents `type` is `EventKind.prefix + rawValue`.
/// docs/events.md lists each with an example; add a case there when you add one here.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    /// A new person (active, or within the pre-hire window before their start date) with no
    /// account in any directory: downstream should provision one.
    case joiner = "identity.joiner"
    /// A pre-hire reached their start date.
    case started = "identity.started"
    /// An employed person went on leave: suspend their access.
    case suspended = "identity.suspended"
    /// A suspended person is back: restore their access.
    case resumed = "identity.resumed"
    /// The grace period after a termination has passed: delete the accounts.
    case deprovision = "identity.deprovision"
    /// Department, title or manager changed for an active person.
    case mover = "identity.mover"
    /// Name, e-mail, hire date or termination date changed for an active person.
    case updated = "identity.updated"
    /// An employed (or announced) person became terminated (status or termination date reached):
    /// disable the accounts.
    case leaver = "identity.leaver"
    /// A stored person is no longer listed by any HR source that read completely (`action`: report,
    /// or leave: a leaver with `reason: missing_from_hr` follows after `grace_days`). Once per absence.
    case missing = "identity.missing"
    /// A terminated person is active again in HR; same identity, same link.
    case rehire = "identity.rehire"
    /// A worker continues under a new HR id (a contractor hired as an employee), found by the
    /// configured conversion key: same identity, links and history.
    case converted = "identity.converted"
    /// The retention after a termination has passed: the person's personal data is erased from
    /// the store (a pseudonymised tombstone stays); downstream should erase its copies.
    case purged = "identity.purged"
    /// An operator's emergency stop for one person (`rollcall disable`): disable every account now,
    /// whatever HR says. Nothing restores their access until `identity.enabled`.
    case disabled = "identity.disabled"
    /// The operator lifted the stop (`rollcall enable`): `restore` says whether HR has the person
    /// employed, so their access should come back.
    case enabled = "identity.enabled"
    /// A person was correlated with a directory account for the first time.
    case linked = "account.linked"
    /// The directory's value of an HR-owned attribute differs from HR's.
    case drift = "identity.drift"
    /// A person's account was replaced by a new one in the same directory (deleted and
    /// recreated: same name, new anchor): the link moved to the new account.
    case relinked = "account.relinked"
    /// A person's account in one directory cannot be decided: several accounts match, or one
    /// account matches several persons. No automatic action until it is resolved.
    case disputed = "correlation.disputed"
    /// A correlation rule found the person's account in a directory whose `on_unlinked` is
    /// `report`: not linked until an operator confirms it (`rollcall link`). Once per match.
    case proposed = "correlation.proposed"
    /// A directory account has no HR person.
    case orphaned = "account.orphaned"
    /// The account of a leaver, a deprovisioned or a held person is still enabled
    /// `lifecycle.disable_within_hours` after the decision. Severity high; once while it lasts.
    case stillEnabled = "account.still_enabled"
    /// An active person's account is disabled in the directory, not by Rollcall's events. Once.
    case disabledExternally = "account.disabled_externally"
    /// A birthright rule gives the person a group their account is not in: add it.
    case grant = "entitlement.grant"
    /// The person's account is in a birthright-managed group no rule gives them: remove it.
    case revoke = "entitlement.revoke"
    /// The person holds groups a separation-of-duties rule forbids together.
    case violation = "policy.violation"
    /// The effective membership of a privileged group changed (added or removed, directly or
    /// through a nested group), whoever did it. High severity.
    case privilegedChange = "privileged.membership_changed"
    /// A member of a privileged group whom no birthright rule (nor `allowed_members`) grants it.
    /// High severity; once while it lasts.
    case privilegedUnauthorised = "privileged.unauthorised"
    /// A run tripped the mass-change guard: nothing was applied; its plan waits for
    /// `rollcall approve RUN` or `rollcall reject RUN`.
    case quarantined = "run.quarantined"
    /// A stored account is no longer in a complete directory read.
    case removed = "account.removed"
    /// An access review item was not decided by its campaign's due day: its reviewer (and whoever
    /// runs the campaign) should act. Once per item.
    case reviewEscalated = "review.escalated"

    /// One reverse-DNS prefix for every type Rollcall emits.
    public static let prefix = "dev.rollcall."

    public var cloudEventType: String { EventKind.prefix + rawValue }
}

/// An event as planned by Core: what happened and to whom. The store gives it its sequence number,
/// id, source and time when the plan is applied.
///
/// The data is kept as its canonical JSON text, written once when the event is planned (a first
/// load plans a million `account.linked` events: as `JSONValue` trees they were most of its
/// memory and, serialised again at apply, the largest cost of its CPU). `data` reads it back.
public struct EventDraft: Sendable, Hashable, Codable {
    public var kind: EventKind
    /// The CloudEvents `subject`: the HR employee id for identity events, the anchor for account events.
    public var subject: String
    /// `data` as canonical JSON: the outbox's bytes.
    public private(set) var dataJSON: String
    /// `data.hr_id` when it is a string: the person the event is about.
    public private(set) var hrID: String?

    public init(kind: EventKind, subject: String, data: JSONValue) {
        self.kind = kind
        self.subject = subject
        self.dataJSON = CanonicalJSON.text(data)
        self.hrID = data["hr_id"]?.stringValue
    }

    /// From data already written as canonical JSON (`CanonicalJSON.Writer`), with its `hr_id`.
    public init(kind: EventKind, subject: String, canonicalData: String, hrID: String?) {
        self.kind = kind
        self.subject = subject
        self.dataJSON = canonicalData
        self.hrID = hrID
    }

    /// The data as a value (read back from the text; for decisions and tests, not the hot path).
    public var data: JSONValue {
        get {
            CanonicalJSON.value(dataJSON) ?? (try? JSONDecoder().decode(JSONValue.self, from: Data(dataJSON.utf8))) ?? .null
        }
        set {
            dataJSON = CanonicalJSON.text(newValue)
            hrID = newValue["hr_id"]?.stringValue
        }
    }

    enum CodingKeys: String, CodingKey { case kind, subject, data }

    // Encoded as before (`data` a JSON value): quarantined plans stored earlier still decode.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try container.decode(EventKind.self, forKey: .kind), subject: try container.decode(String.self, forKey: .subject),
                  data: try container.decode(JSONValue.self, forKey: .data))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(subject, forKey: .subject)
        try container.encode(data, forKey: .data)
    }
}

/// One attribute's value before and after a change.
public struct AttributeChange: Sendable, Hashable, Codable {
    public var attribute: String
    public var before: String?
    public var after: String?

    public init(attribute: String, before: String?, after: String?) {
        self.attribute = attribute
        self.before = before
        self.after = after
    }

    var json: JSONValue {
        .object(["attribute": .string(attribute), "before": JSONValue(before), "after": JSONValue(after)])
    }
}
