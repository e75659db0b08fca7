import RollcallCore
import Testing

/// Closing the loop: a leaver's account still enabled after the window is announced (once while
/// it lasts, again if enabled later); an active person's account disabled in the directory is
/// announced once.
@Suite struct AccountStateTests {
    static func account(_ anchor: String, key: String, enabled: Bool?) -> DirectoryAccount {
        var account = F.account(anchor, key: key)
        account.enabled = enabled
        return account
    }

    /// Runs one plan per (day, hour, HR record of E1, E1's account enabled?) and returns each one's events.
    static func runs(_ steps: [(String, Int, HRRecord, Bool?)], hold: Hold? = nil) throws -> [String] {
        var state = StoredState()
        var seen: [String] = []
        for (day, hour, record, enabled) in steps {
            let today = try #require(F.day(day))
            let clock = RunClock(today: today, now: Int64(today.daysSinceEpoch) * 86_400 + Int64(hour) * 3600)
            if let hold, state.holds.isEmpty, !state.persons.isEmpty { state.holds[hold.employeeID] = hold }
            let plan = try Reconciler().plan(records: [record], directories: [DirectoryInput(name: F.directory, key: .employeeID,
                                                                                             accounts: [account("a1", key: "E1", enabled: enabled)])],
                                             state: state, today: today, clock: clock)
            seen.append("\(day) \(hour)h: " + F.kinds(plan).joined(separator: ", "))
            state = state.applying(plan)
        }
        return seen
    }

    @Test func aLeaversAccountStillEnabledAfterTheWindowIsAnnouncedOnceWhileItLasts() throws {
        let leaver = F.person("E1", end: "2026-03-09")  // gone from 2026-03-10
        let seen = try Self.runs([
            ("2026-03-01", 9, F.person("E1"), true),
            ("2026-03-10", 2, leaver, true),
            ("2026-03-10", 23, leaver, true),
            ("2026-03-11", 1, leaver, true),
            ("2026-03-11", 9, leaver, true),
            ("2026-03-12", 9, leaver, false),
            ("2026-03-20", 9, leaver, true),
        ])
        #expect(seen == ["2026-03-01 9h: account.linked E1", "2026-03-10 2h: identity.leaver E1", "2026-03-10 23h: ",
                         "2026-03-11 1h: account.still_enabled E1", "2026-03-11 9h: ", "2026-03-12 9h: ",
                         "2026-03-20 9h: account.still_enabled E1"])
    }

    @Test func theEventSaysWhichAccountWhyAndSince() throws {
        let state = try F.settled([F.person("E1")], [Self.account("a1", key: "E1", enabled: true)], today: try #require(F.day("2026-03-01")))
        let today = try #require(F.day("2026-03-15"))
        let plan = try Reconciler().plan(records: [F.person("E1", status: .terminated)],
                                         accounts: [Self.account("a1", key: "E1", enabled: true)], state: state, today: today)
        // Seen terminated for the first time today: the window starts today.
        #expect(F.kinds(plan) == ["identity.leaver E1"])
        let next = try Reconciler().plan(records: [F.person("E1", status: .terminated)],
                                         accounts: [Self.account("a1", key: "E1", enabled: true)], state: state.applying(plan),
                                         today: today.adding(days: 1))
        let event = try #require(next.events.first)
        #expect(event.kind == .stillEnabled)
        #expect(event.data["severity"] == "high" && event.data["reason"] == "leaver" && event.data["disable_within_hours"] == .int(24))
        #expect(event.data["enabled_since"] == "2026-03-01")
        #expect(event.data["account"] == .object(["directory": "ldap", "anchor": "a1", "dn": "uid=a1,ou=people,dc=example,dc=test"]))
    }

    @Test func anActivePersonsAccountDisabledInTheDirectoryIsAnnouncedOnce() throws {
        let seen = try Self.runs([
            ("2026-03-01", 9, F.person("E1"), true),
            ("2026-03-02", 9, F.person("E1"), false),
            ("2026-03-03", 9, F.person("E1"), false),
            ("2026-03-04", 9, F.person("E1"), true),
            ("2026-03-05", 9, F.person("E1", status: .suspended), false),
        ])
        #expect(seen == ["2026-03-01 9h: account.linked E1", "2026-03-02 9h: account.disabled_externally E1", "2026-03-03 9h: ",
                         "2026-03-04 9h: ", "2026-03-05 9h: identity.suspended E1"])
    }

    @Test func aHeldPersonsAccountMustBeDisabledToo() throws {
        let hold = Hold(employeeID: "E1", reason: "phish", by: "erin", since: "2026-03-02T14:00:00Z")
        let seen = try Self.runs([
            ("2026-03-01", 9, F.person("E1"), true),
            ("2026-03-03", 13, F.person("E1"), true),
            ("2026-03-03", 15, F.person("E1"), true),
        ], hold: hold)
        #expect(seen == ["2026-03-01 9h: account.linked E1", "2026-03-03 13h: ", "2026-03-03 15h: account.still_enabled E1"])
    }

    @Test func aDirectoryThatSaysNothingAboutStateGetsNothing() throws {
        let seen = try Self.runs([
            ("2026-03-01", 9, F.person("E1"), nil),
            ("2026-03-10", 9, F.person("E1", status: .terminated), nil),
            ("2026-03-20", 9, F.person("E1", status: .terminated), nil),
        ])
        #expect(seen == ["2026-03-01 9h: account.linked E1", "2026-03-10 9h: identity.leaver E1", "2026-03-20 9h: "])
    }

    /// `explain` shows each account's state, since when, and a notice going on.
    @Test func explainShowsTheAccountsState() throws {
        let before = try F.settled([F.person("E1")], [Self.account("a1", key: "E1", enabled: true)], today: try #require(F.day("2026-03-01")))
        let today = try #require(F.day("2026-03-15"))
        let accounts = [Self.account("a1", key: "E1", enabled: false)]
        let directories = [DirectoryInput(name: F.directory, key: .employeeID, accounts: accounts)]
        let plan = try Reconciler().plan(records: [F.person("E1")], directories: directories, state: before, today: today)
        let explained = try #require(Explanation.of("E1", records: [F.person("E1")], directories: directories, state: before, plan: plan,
                                                    entitlements: nil, policy: LifecyclePolicy(), today: today))
        guard case .array(let situations)? = explained["directories"], let first = situations.first else { Issue.record("no directories"); return }
        #expect(first["enabled"] == .bool(false))
        #expect(first["state_since"] == "2026-03-15")
        #expect(first["state_notice"] == "disabled_externally")
    }
}
