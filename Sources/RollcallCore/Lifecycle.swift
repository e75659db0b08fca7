/// When the lifecycle moves on its own, by the calendar.
public struct LifecyclePolicy: Sendable, Hashable {
    /// The joiner is announced this many days before the start (hire) date.
    public var prehireDays: Int
    /// Accounts of a terminated person are to be deleted (`identity.deprovision`) this many days
    /// after the termination; until then they are only to be disabled (`identity.leaver`).
    public var deprovisionAfterDays: Int
    /// A deprovisioned person's personal data is purged this many days after the termination
    /// (`identity.purged`; a pseudonymised tombstone stays). nil: kept for ever.
    public var purgeAfterDays: Int?
    /// What HR's termination dates mean (default: the last day worked, as Workday and BambooHR).
    public var terminationDateIs: TerminationDateMeaning

    public init(prehireDays: Int = 7, deprovisionAfterDays: Int = 30, purgeAfterDays: Int? = nil,
                terminationDateIs: TerminationDateMeaning = .lastDayWorked) {
        self.prehireDays = max(0, prehireDays)
        self.deprovisionAfterDays = max(0, deprovisionAfterDays)
        self.purgeAfterDays = purgeAfterDays.map { max(deprovisionAfterDays, $0) }
        self.terminationDateIs = terminationDateIs
    }

    /// Whether HR data says the person is gone on `today`.
    public func isTerminated(_ attributes: PersonAttributes, on today: Day) -> Bool {
        attributes.isTerminated(on: today, terminationDateIs)
    }

    /// Whether a stored person is due to be purged on `today`: deprovisioned, and the retention
    /// counted from the first day gone (else from the day they were deprovisioned) has passed.
    public func isPurgeDue(_ person: StoredPerson, on today: Day) -> Bool {
        guard let days = purgeAfterDays, person.lifecycle == .deprovisioned else { return false }
        let ended = person.attributes.firstDayGone(terminationDateIs) ?? person.lifecycleSince ?? today
        return ended.adding(days: days) <= today
    }
}

/// The lifecycle state machine: pending → prehire → active ⇄ suspended → terminated →
/// deprovisioned, with rehire back from the end. `state` says where HR data puts a person today
/// (given where they were); `events` says which announcements a move from one state to another
/// makes. Each announcement is made once: a state, once reached, is not left for an earlier one.
public struct Lifecycle: Sendable {
    public var policy: LifecyclePolicy

    public init(policy: LifecyclePolicy) {
        self.policy = policy
    }

    /// The state as of `today` and the day it began.
    public func state(of attributes: PersonAttributes, on today: Day, stored: StoredPerson?) -> (state: LifecycleState, since: Day) {
        let previous = stored?.lifecycle
        func since(_ state: LifecycleState) -> Day {
            previous == state ? (stored?.lifecycleSince ?? today) : today
        }
        if policy.isTerminated(attributes, on: today) {
            // The grace period counts from the first day gone, else from when it was first seen.
            let ended = attributes.firstDayGone(policy.terminationDateIs).map { min($0, today) }
                ?? (previous?.isEnded == true ? (stored?.lifecycleSince ?? today) : today)
            if previous == .deprovisioned || ended.adding(days: policy.deprovisionAfterDays) <= today {
                return (.deprovisioned, previous == .deprovisioned ? since(.deprovisioned) : today)
            }
            return (.terminated, ended)
        }
        if let start = attributes.hireDate, start > today {
            let announced = start.adding(days: -policy.prehireDays) <= today
            switch previous {
            case .terminated?, .deprovisioned?:
                // A rehire's new start is not announced before its window: the old employment
                // stays ended until then.
                if !announced, let previous { return (previous, since(previous)) }
            case .prehire?:
                return (.prehire, since(.prehire))  // announced once; a later start date does not withdraw it
            case .active?, .suspended?:
                if let previous { return (previous, since(previous)) }  // a start date moved ahead of an employed person
            case .pending?, nil:
                break
            }
            return announced ? (.prehire, since(.prehire)) : (.pending, since(.pending))
        }
        let state: LifecycleState = attributes.status == .suspended ? .suspended : .active
        return (state, since(state))
    }

    /// The announcements of a move from `old` (nil: a person seen for the first time) to `new`.
    /// `hasAccount`: the person has an account in some directory; `disputed`: a correlation of
    /// theirs is undecided (then no joiner: they may well have an account); `needsAccount`: when
    /// given, decides the joiner instead (the caller knows which directories provision).
    public func events(from old: LifecycleState?, to new: LifecycleState, hasAccount: Bool, disputed: Bool,
                       needsAccount: Bool? = nil) -> [EventKind] {
        let joiner: [EventKind] = (needsAccount ?? (!hasAccount && !disputed)) ? [.joiner] : []
        switch (old, new) {
        case (nil, .pending), (.pending?, .pending):
            return []
        case (nil, .prehire), (nil, .active), (.pending?, .prehire), (.pending?, .active):
            return joiner
        case (nil, .suspended), (.pending?, .suspended):
            return joiner + [.suspended]
        case (nil, .terminated):
            return hasAccount ? [.leaver] : []
        case (nil, .deprovisioned):
            return hasAccount ? [.leaver, .deprovision] : []
        case (.pending?, .terminated), (.pending?, .deprovisioned):
            return []  // never announced, nothing to take back
        case (.prehire?, .active):
            return [.started]
        case (.prehire?, .suspended):
            return [.started, .suspended]
        case (.active?, .suspended):
            return [.suspended]
        case (.suspended?, .active):
            return [.resumed]
        case (.prehire?, .terminated), (.active?, .terminated), (.suspended?, .terminated):
            return [.leaver]
        case (.prehire?, .deprovisioned), (.active?, .deprovisioned), (.suspended?, .deprovisioned):
            return [.leaver, .deprovision]
        case (.terminated?, .deprovisioned):
            return [.deprovision]
        case (.terminated?, .prehire), (.terminated?, .active), (.deprovisioned?, .prehire), (.deprovisioned?, .active):
            return [.rehire]
        case (.terminated?, .suspended), (.deprovisioned?, .suspended):
            return [.rehire, .suspended]
        case (.prehire?, .prehire), (.active?, .active), (.suspended?, .suspended),
             (.terminated?, .terminated), (.deprovisioned?, .deprovisioned):
            return []
        case (.prehire?, .pending), (.active?, .pending), (.active?, .prehire), (.suspended?, .pending),
             (.suspended?, .prehire), (.terminated?, .pending), (.deprovisioned?, .pending), (.deprovisioned?, .terminated):
            return []  // `state` never moves back; listed so that every pair is decided here
        }
    }
}

/// What happens to a stored person whom their HR source stops listing (many reports list only
/// active workers, or keep leavers for a few days only).
public struct MissingPolicy: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// `identity.missing` once; nothing else until HR lists them again or ends them.
        case report
        /// `identity.missing` once, and after `graceDays` a leaver (`reason: missing_from_hr`).
        case leave
    }

    public var action: Action
    public var graceDays: Int

    public init(action: Action = .report, graceDays: Int = 7) {
        self.action = action
        self.graceDays = max(0, graceDays)
    }
}
