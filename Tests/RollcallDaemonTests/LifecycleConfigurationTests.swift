import Foundation
import RollcallCore
import RollcallDaemon
import Testing

/// Issue 9's keys: time zone and termination meaning, missing workers per source, conversion
/// safeguards, Active Directory's protected groups watched by default.
@Suite struct LifecycleConfigurationTests {
    let base = ConfigurationTests.valid

    func load(_ text: String) throws -> ResolvedConfiguration { try ConfigurationTests().load(text) }
    func error(_ text: String) throws -> ConfigurationError? { try ConfigurationTests().error(text) }

    @Test func defaultsAreUTCLastDayWorkedAndReport() throws {
        let resolved = try load(base)
        #expect(resolved.timeZone.secondsFromGMT(for: Date()) == 0)
        #expect(resolved.lifecycle.terminationDateIs == .lastDayWorked)
        #expect(resolved.missing == ["hr": MissingPolicy(action: .report, graceDays: 7)])
        #expect(resolved.conversion == nil)
        #expect(resolved.entitlements == nil)  // OpenLDAP: nothing watched unless configured
    }

    @Test func theDayIsTheDateInTheConfiguredZone() throws {
        let resolved = try load(base + "lifecycle: {time_zone: America/New_York, termination_date_is: first_day_gone}\n")
        #expect(resolved.lifecycle.terminationDateIs == .firstDayGone)
        // 2026-03-15 23:30 UTC is 19:30 in New York, still the 15th there (not the UTC 16th at 00:30).
        let evening = Date(timeIntervalSince1970: 1_773_617_400)
        #expect(ReconcileJob.day(of: evening, in: resolved.timeZone) == Day(iso: "2026-03-15"))
        #expect(ReconcileJob.day(of: evening.addingTimeInterval(3600), in: TimeZone(identifier: "UTC") ?? .current) == Day(iso: "2026-03-16"))
        // Tokyo is ahead: 2026-03-15 20:00 UTC is already the 16th there.
        let tokyo = try #require(TimeZone(identifier: "Asia/Tokyo"))
        #expect(ReconcileJob.day(of: Date(timeIntervalSince1970: 1_773_604_800), in: tokyo) == Day(iso: "2026-03-16"))
    }

    @Test func directoryStateAndFirstRunSettings() throws {
        let resolved = try load(base)
        #expect(resolved.directories.first?.disabledWhen == DisabledRule.none)
        #expect(resolved.directories.first?.allowEmpty == false)
        #expect(resolved.guardPolicy.firstRun == .quarantine && resolved.guardPolicy.maxJoiners == 200)
        let locked = try load(base.replacingOccurrences(of: "    filter: (objectClass=inetOrgPerson)\n",
                                                        with: "    filter: (objectClass=inetOrgPerson)\n    disabled_when: (pwdAccountLockedTime=*)\n    allow_empty: true\n")
                              + "guard: {first_run: apply, max_joiners: 5}\n")
        #expect(locked.directories.first?.disabledWhen == .filter("(pwdAccountLockedTime=*)"))
        #expect(locked.directories.first?.allowEmpty == true)
        #expect(locked.guardPolicy.firstRun == .apply && locked.guardPolicy.maxJoiners == 5)
        let ad = try load(Self.activeDirectory)
        #expect(ad.directories.first?.disabledWhen == .activeDirectory)
        let filter = try #require(DisabledRule.activeDirectory.filter(at: Date(timeIntervalSince1970: 0)))
        #expect(filter == "(|(userAccountControl:1.2.840.113556.1.4.803:=2)(&(accountExpires>=1)(accountExpires<=116444736000000000)))")
    }

    @Test func missingAndConversionSettings() throws {
        let text = base
            .replacingOccurrences(of: "    - path: hr.csv\n", with: "    - path: hr.csv\n      on_missing: leave\n      missing_grace_days: 3\n")
            .replacingOccurrences(of: "hr:\n", with: "hr:\n  conversion_key: email\n  conversion_window_days: 10\n  conversion_confirm: []\n")
        let resolved = try load(text)
        #expect(resolved.missing == ["hr": MissingPolicy(action: .leave, graceDays: 3)])
        #expect(resolved.conversion == ConversionPolicy(key: .email, windowDays: 10, confirm: []))
    }

    @Test(arguments: [
        ("lifecycle: {time_zone: Mars/Olympus}\n", "lifecycle.time_zone", "not an IANA time zone"),
        ("lifecycle: {termination_date_is: last_day}\n", "lifecycle.termination_date_is", "last_day_worked, first_day_gone"),
        ("hr:\n  conversion_window_days: 5\n", "hr.conversion_window_days", "only used with hr.conversion_key"),
        ("hr:\n  conversion_key: email\n", "hr.conversion_confirm", "family_name (the default) is not mapped by HR source hr"),
        ("hr:\n  conversion_key: email\n  conversion_confirm: [status]\n", "hr.conversion_confirm", "that can confirm a conversion"),
        ("    - path: hr.csv\n      on_missing: vanish\n", "hr.sources[0].on_missing", "report, leave"),
        ("    - path: hr.csv\n      missing_grace_days: 3\n", "hr.sources[0].missing_grace_days", "only used with on_missing: leave"),
        ("    - path: hr.csv\n      on_missing: leave\n      missing_grace_days: -1\n", "hr.sources[0].missing_grace_days", "between 0 and 3650"),
        ("guard: {first_run: later}\n", "guard.first_run", "quarantine, apply"),
        ("serve: {listen: localhost}\n", "serve.listen", "ADDRESS:PORT"),
        ("serve: {schedule: {full: {every_hours: 1, at: [\"02:00\"]}}}\n", "serve.schedule.full", "not both"),
        ("serve: {schedule: {full: {at: [\"25:00\"]}}}\n", "serve.schedule.full.at", "not a time of day"),
        ("serve: {schedule: {delta: {every_seconds: 0}}}\n", "serve.schedule.delta.every_seconds", "at least 1"),
        ("guard: {max_joiner_percent: 120}\n", "guard.max_joiner_percent", "between 0 and 100"),
        ("lifecycle: {disable_within_hours: -2}\n", "lifecycle.disable_within_hours", "between 0 and 8760"),
        ("    filter: (objectClass=inetOrgPerson)\n    disabled_when: pwdLocked\n", "directories[0].disabled_when", "LDAP filter in parentheses"),
    ] as [(String, String, String)])
    func badValuesNameTheirKey(change: String, key: String, reason: String) throws {
        let text: String
        if change.hasPrefix("hr:\n") {
            text = base.replacingOccurrences(of: "hr:\n", with: change)
        } else if change.hasPrefix("    - path") {
            text = base.replacingOccurrences(of: "    - path: hr.csv\n", with: change)
        } else if change.hasPrefix("    filter") {
            text = base.replacingOccurrences(of: "    filter: (objectClass=inetOrgPerson)\n", with: change)
        } else {
            text = base + change
        }
        let problem = try #require(try error(text))
        #expect(problem.key == key, "\(problem)")
        #expect(problem.description.contains(reason), "\(problem)")
    }

    static let activeDirectory = ConfigurationTests.valid
        .replacingOccurrences(of: "  security: starttls", with: "  security: starttls\n    kind: active_directory")
        .replacingOccurrences(of: "base_dn: ou=people,dc=example,dc=test", with: "base_dn: OU=People,DC=corp,DC=example,DC=com")

    /// With an Active Directory and no entitlements section, its protected groups are watched;
    /// `active_directory_protected: false` turns that off.
    @Test func activeDirectoryProtectedGroupsAreWatchedByDefault() throws {
        let watched = try #require(try load(Self.activeDirectory).entitlements)
        #expect(watched.policy.directory == "default")
        #expect(watched.policy.privileged == PrivilegedPolicy(groups: [], allowedMembers: []))
        #expect(watched.protectedGroupsBaseDN == "DC=corp,DC=example,DC=com")
        #expect(watched.groupsBaseDN == nil)
        #expect(watched.policy.birthright.isEmpty)
        let off = try load(Self.activeDirectory + "entitlements: {privileged: {active_directory_protected: false}}\n")
        #expect(off.entitlements == nil)
        let allowed = try load(Self.activeDirectory + "entitlements: {privileged: {allowed_members: [\"CN=breakglass,CN=Users,DC=corp,DC=example,DC=com\"]}}\n")
        #expect(allowed.entitlements?.policy.privileged?.allowedMembers == ["CN=breakglass,CN=Users,DC=corp,DC=example,DC=com"])
        // Birthright rules still need the groups' base.
        let problem = try #require(try error(Self.activeDirectory + "entitlements: {birthright: [{name: x, group: \"CN=x,DC=corp,DC=example,DC=com\"}]}\n"))
        #expect(problem.key == "entitlements.groups")
    }
}
