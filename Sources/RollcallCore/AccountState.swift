/// Closing the loop on deprovisioning: Rollcall announces a leaver, then looks whether the
/// accounts were actually disabled (`account.still_enabled`, severity high, once while it lasts),
/// and notices an active person's account disabled in the directory (`account.disabled_externally`).
///
/// The clock of a run: the day, the instant and the organisation's offset from UTC (a decision
/// taken on a day counts from that day's midnight in the organisation's zone).
public struct RunClock: Sendable, Hashable {
    public var today: Day
    /// Seconds since 1970-01-01T00:00:00Z.
    public var now: Int64
    /// The organisation's zone's offset from UTC at `now`, in seconds.
    public var utcOffset: Int

    public init(today: Day, now: Int64, utcOffset: Int = 0) {
        self.today = today
        self.now = now
        self.utcOffset = utcOffset
    }

    /// Noon of `today` in UTC: the clock of plans made without a clock.
    public init(today: Day) {
        self.init(today: today, now: Int64(today.daysSinceEpoch) * 86_400 + 43_200)
    }

    /// The first instant of `day` in the organisation's zone.
    func start(of day: Day) -> Int64 { Int64(day.daysSinceEpoch) * 86_400 - Int64(utcOffset) }
}

enum AccountStatePlanner {
    /// The notice one account of a person should carry now (nil: none), and the event that
    /// announces it when it is new.
    static func check(account: DirectoryAccount, directory: String, person: StoredPerson, hold: Hold?, stored: StoredAccount?,
                      windowHours: Int, clock: RunClock) -> (notice: AccountStateNotice?, event: EventDraft?) {
        guard let enabled = account.enabled else { return (nil, nil) }
        var notice: AccountStateNotice?
        var data: [String: JSONValue] = [
            "hr_id": .string(person.employeeID),
            "account": EventPayload.accountRef(directory, account.anchor, account.dn),
            "lifecycle": .string(person.lifecycle.rawValue),
            "severity": .string("high"),
        ]
        let since = stored?.enabled == enabled ? (stored?.enabledSince ?? clock.today) : clock.today
        if enabled, person.lifecycle.isEnded || hold != nil {
            // When access was to be taken away: the first day gone, or when the hold was set.
            let decided: Int64
            if let hold, let held = Self.instant(hold.since) {
                decided = held
                data["reason"] = .string("held")
            } else {
                decided = clock.start(of: person.lifecycleSince ?? clock.today)
                data["reason"] = .string(person.lifecycle == .deprovisioned ? "deprovisioned" : "leaver")
            }
            guard clock.now >= decided + Int64(windowHours) * 3600 else { return (nil, nil) }
            notice = .stillEnabled
            data["disable_within_hours"] = .int(windowHours)
            data["enabled_since"] = .string(since.description)
        } else if !enabled, person.lifecycle == .active, hold == nil {
            notice = .disabledExternally
            data["severity"] = .string("medium")
            data["disabled_since"] = .string(since.description)
        }
        guard let notice, stored?.stateNotice != notice else { return (notice, nil) }
        let kind: EventKind = notice == .stillEnabled ? .stillEnabled : .disabledExternally
        return (notice, EventDraft(kind: kind, subject: person.employeeID, data: .object(data)))
    }

    /// Seconds since the epoch of an RFC 3339 UTC time as Rollcall writes them (`2026-03-12T14:03:00Z`).
    static func instant(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, let day = Day(iso: String(decoding: bytes[0..<10], as: UTF8.self)),
              bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let hours = number(11..<13), let minutes = number(14..<16), let seconds = number(17..<19) else { return nil }
        return Int64(day.daysSinceEpoch) * 86_400 + Int64(hours * 3600 + minutes * 60 + seconds)
    }
}
