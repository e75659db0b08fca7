import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Issue 9 end to end against a real slapd: workers who drop out of an active-only export, the
/// organisation's time zone and what a termination date means.
@Suite struct LifecycleRunTests {
    typealias J = ReconcileJobTests
    static func at(_ iso: String) -> @Sendable () -> Date {
        let date = ISO8601DateFormatter().date(from: iso) ?? Date(timeIntervalSince1970: 0)
        return { date }
    }

    /// An export of active workers only (`on_missing: leave`, 2 days): a worker who vanishes is
    /// missing once, a leaver after the grace (their account is to be disabled), deprovisioned
    /// after the deprovision grace. A record the run could not use (skipped) is not missing.
    @Test func aWorkerWhoVanishesFromAnActiveOnlyExportBecomesALeaver() async throws {
        let world = try await J.world(people: 6, rows: (1...6).map { J.row($0) }.joined(), onBadRows: "skip",
                                      sourceExtra: ["on_missing: leave", "missing_grace_days: 2"],
                                      extra: "lifecycle: {deprovision_after_days: 10}")
        _ = try await world.run(now: Self.at("2026-03-01T09:00:00Z"))
        // E4 is gone; E5's row is unusable today (a bad date) and skipped.
        try world.writeHR(J.row(1) + J.row(2) + J.row(3) + "E5,X,Y,Sales,T,Active,31/02/2026\n" + J.row(6))
        let first = try await world.run(now: Self.at("2026-03-02T09:00:00Z"))
        #expect(try world.events(after: 6) == ["identity.missing E4"])
        #expect(first.summary.missingFromHR == 1)
        let missing = try #require(try world.store().events(after: 6).first)
        #expect(missing.data["action"] == "leave" && missing.data["leave_on"] == "2026-03-04" && missing.data["source"] == "hr")
        _ = try await world.run(now: Self.at("2026-03-03T09:00:00Z"))
        #expect(try world.events(after: 7).isEmpty)
        _ = try await world.run(now: Self.at("2026-03-04T09:00:00Z"))
        #expect(try world.events(after: 7) == ["identity.leaver E4"])
        let leaver = try #require(try world.store().events(after: 7).first)
        #expect(leaver.data["reason"] == "missing_from_hr")
        guard case .array(let accounts)? = leaver.data["accounts"] else { Issue.record("no accounts"); return }
        #expect(accounts.count == 1)
        #expect(try world.store().identity("E4")?.person.lifecycle == .terminated)
        _ = try await world.run(now: Self.at("2026-03-14T09:00:00Z"))
        #expect(try world.events(after: 8) == ["identity.deprovision E4"])
        // Listed again later: a rehire, not a new person.
        try world.writeHR((1...6).map { J.row($0) }.joined())
        _ = try await world.run(now: Self.at("2026-03-20T09:00:00Z"))
        #expect(try world.events(after: 9) == ["identity.rehire E4"])
    }

    /// A source that lost 40 % of its people: its missing persons and their leavers are held back
    /// by the guard, not 40 % leavers.
    @Test func aSourceThatLostManyPeopleIsQuarantinedNotLeavers() async throws {
        let world = try await J.world(people: 20, rows: (1...20).map { J.row($0) }.joined(),
                                      sourceExtra: ["on_missing: leave", "missing_grace_days: 0"])
        _ = try await world.run(now: Self.at("2026-03-01T09:00:00Z"))
        try world.writeHR((1...12).map { J.row($0) }.joined())
        let cut = try await world.run(now: Self.at("2026-03-02T09:00:00Z"))
        #expect(cut.held == 16 && cut.runID != nil)  // 8 missing, 8 leavers (grace 0)
        #expect(cut.guardVerdict?.actions["dev.rollcall.identity.missing"] == 8)
        #expect(try world.store().events(after: 20).map(\.type) == ["dev.rollcall.run.quarantined"])
        #expect(try world.store().loadState().persons.values.allSatisfy { $0.lifecycle == .active && $0.missingSince == nil })
    }

    /// Workday states the last day worked; the organisation is in New York. At 19:30 New York
    /// time on the last day worked (already the next day in UTC), nobody has left yet; the next
    /// New York morning the leaver comes. With UTC as the zone it would have come hours early.
    @Test func theLeaverComesTheDayAfterTheLastDayWorkedInTheOrganisationsZone() async throws {
        let rows = J.row(1) + J.row(2, end: "2026-03-15")
        let newYork = try await J.world(people: 2, rows: rows, extra: "lifecycle: {time_zone: America/New_York}")
        _ = try await newYork.run(now: Self.at("2026-03-14T12:00:00Z"))
        _ = try await newYork.run(now: Self.at("2026-03-15T23:30:00Z"))  // 19:30 in New York on the 15th
        #expect(try newYork.events(after: 2).isEmpty)
        _ = try await newYork.run(now: Self.at("2026-03-16T13:00:00Z"))  // 09:00 in New York on the 16th
        #expect(try newYork.events(after: 2) == ["identity.leaver E2"])

        let utc = try await J.world(people: 2, rows: rows)
        _ = try await utc.run(now: Self.at("2026-03-14T12:00:00Z"))
        _ = try await utc.run(now: Self.at("2026-03-15T23:30:00Z"))
        #expect(try utc.events(after: 2).isEmpty)
        _ = try await utc.run(now: Self.at("2026-03-16T00:30:00Z"))  // the 16th in UTC
        #expect(try utc.events(after: 2) == ["identity.leaver E2"])

        // first_day_gone: the date itself is the first day without access.
        let gone = try await J.world(people: 2, rows: rows, extra: "lifecycle: {termination_date_is: first_day_gone}")
        _ = try await gone.run(now: Self.at("2026-03-14T12:00:00Z"))
        _ = try await gone.run(now: Self.at("2026-03-15T08:00:00Z"))
        #expect(try gone.events(after: 2) == ["identity.leaver E2"])
    }

    /// A recycled address: the contractor left inside the window, the new hire with the same
    /// e-mail has another family name. Proposed, held; `rollcall link --converts` decides, and the
    /// next reconcile converts.
    @Test func aConversionThatDoesNotConfirmWaitsForTheOperator() async throws {
        let slapd = try await SlapdFixture.start(ldif: J.entry(1) + J.entry(2))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let csv = folder.appendingPathComponent("hr.csv")
        func write(_ rows: String) throws { try ("id,mail,family,status\n" + rows).write(to: csv, atomically: true, encoding: .utf8) }
        try write("E1,ada@example.test,Lovelace,Active\nE2,grace@example.test,Hopper,Active\n")
        let config = folder.appendingPathComponent("rollcall.yaml")
        try """
            store: {path: rollcall.sqlite}
            events: {source: "urn:rollcall:test"}
            guard: {first_run: apply}  # the first run applies as planned (its hold is GuardRunTests' subject)
            directories:
              - uri: \(slapd.uri)
                ca_file: \(slapd.caFile)
                bind_dn: \(SlapdFixture.syncDN)
                bind_password_file: \(slapd.syncPasswordFile)
                base_dn: \(SlapdFixture.peopleBase)
                filter: (objectClass=inetOrgPerson)
                correlation: {hr_field: employee_id, directory_attribute: employeeNumber}
            hr:
              conversion_key: email
              sources:
                - path: hr.csv
                  fields: {employee_id: id, email: mail, family_name: family, status: status}
            """.write(to: config, atomically: true, encoding: .utf8)
        let binary = CLITests.binary
        #expect(try await Shell.run(binary, ["reconcile", "--config", config.path]).status == 0)
        // E2 leaves; a new id N7 arrives with E2's address and another family name.
        try write("E1,ada@example.test,Lovelace,Active\nE2,grace@example.test,Hopper,Terminated\nN7,grace@example.test,Doe,Active\n")
        let held = try await Shell.run(binary, ["reconcile", "--config", config.path])
        #expect(held.status == 0, "\(held.error)")
        let store = try Store.open(path: folder.appendingPathComponent("rollcall.sqlite").path)
        let proposed = try store.events(after: 2).map { "\($0.type) \($0.subject)" }
        #expect(proposed == ["dev.rollcall.identity.leaver E2", "dev.rollcall.correlation.proposed N7"])
        #expect(try store.identity("N7") == nil)
        #expect(try await Shell.run(binary, ["reconcile", "--config", config.path]).status == 0)
        #expect(try store.events(after: 4).isEmpty)

        let wrong = try await Shell.run(binary, ["link", "N7", "--converts", "E1", "--directory", "default", "--config", config.path])
        #expect(wrong.status != 0)
        let decide = try await Shell.run(binary, ["link", "N7", "--converts", "E2", "--config", config.path], environment: ["SUDO_USER": "carol"])
        #expect(decide.status == 0, "\(decide.error)")
        #expect(decide.output.contains("N7 continues E2"))
        let convertRun = try await Shell.run(binary, ["reconcile", "--config", config.path])
        #expect(convertRun.status == 0, "\(convertRun.error)")
        let converted = try store.events(after: 4).map { "\($0.type) \($0.subject)" }
        #expect(converted.first == "dev.rollcall.identity.converted N7")
        #expect(try store.identity("E2")?.person.employeeID == "N7")
        var decided: [String] = []
        try store.exportAudit { if $0.action == "admin.convert" { decided.append($0.actor) } }
        #expect(decided == [CLITests.operatorName(sudoFrom: "carol")])
    }
}
