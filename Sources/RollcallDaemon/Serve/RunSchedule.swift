import Foundation

/// When the daemon's next run is due (`serve.schedule`).
public enum RunSchedule {
    /// Which run is due now: a full one when none was applied yet or its schedule says so, else a
    /// delta when `deltaEvery` has passed since the last attempt (a failed run waits as long).
    public static func due(now: Date, lastFull: Date?, lastAttempt: Date?, settings: ServeSettings, zone: TimeZone) -> DaemonState.RunKind? {
        if let lastAttempt, now.timeIntervalSince(lastAttempt) < settings.deltaEvery { return nil }
        guard let lastFull else { return .full }
        if let every = settings.fullEvery, now.timeIntervalSince(lastFull) >= every { return .full }
        if !settings.fullAt.isEmpty, let scheduled = latestScheduled(before: now, minutes: settings.fullAt, zone: zone), scheduled > lastFull {
            return .full
        }
        return .delta
    }

    /// When the next run of each kind is due, for `rollcall status`.
    public static func next(now: Date, lastFull: Date?, lastAttempt: Date?, settings: ServeSettings,
                            zone: TimeZone) -> (full: Date, delta: Date) {
        let delta = lastAttempt.map { max(now, $0.addingTimeInterval(settings.deltaEvery)) } ?? now
        guard let lastFull else { return (now, delta) }
        if let every = settings.fullEvery { return (max(now, lastFull.addingTimeInterval(every)), delta) }
        return (earliestScheduled(after: now, minutes: settings.fullAt, zone: zone) ?? now, delta)
    }

    /// The earliest instant after `now` that is one of `minutes` after midnight in `zone`.
    public static func earliestScheduled(after now: Date, minutes: [Int], zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let today = calendar.startOfDay(for: now)
        var candidates: [Date] = []
        for dayOffset in [0, 1] {
            guard let day = calendar.date(byAdding: .day, value: dayOffset, to: today) else { continue }
            for minute in minutes {
                if let instant = calendar.date(byAdding: .minute, value: minute, to: day), instant > now { candidates.append(instant) }
            }
        }
        return candidates.min()
    }

    /// The latest instant at or before `now` that is one of `minutes` after midnight in `zone`.
    public static func latestScheduled(before now: Date, minutes: [Int], zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let today = calendar.startOfDay(for: now)
        var candidates: [Date] = []
        for dayOffset in [0, -1] {
            guard let day = calendar.date(byAdding: .day, value: dayOffset, to: today) else { continue }
            for minute in minutes {
                if let instant = calendar.date(byAdding: .minute, value: minute, to: day), instant <= now { candidates.append(instant) }
            }
        }
        return candidates.max()
    }

}
