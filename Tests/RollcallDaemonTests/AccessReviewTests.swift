import Foundation
import Logging
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Access review campaigns against a real slapd and store: items assigned to managers from HR
/// (a fallback for those without one), decisions audited with the reviewer, revokes as
/// entitlement.revoke events a CloudEvents consumer accepts, escalation after the due day.
@Suite struct AccessReviewTests {
    static let groups = "ou=services,dc=example,dc=test"
    static let payments = "cn=payments-approve,\(groups)"
    static let treasury = "cn=treasury,\(groups)"

    static let header = "Employee ID,First Name,Last Name,Department,Job Title,Status,Termination Date,Manager\n"

    /// E1 manages E2 and E3; E4 has no manager; E5 left (a manager who is gone is no reviewer).
    static func hr(_ managerOf3: String = "E1") -> String {
        header + "E1,Ada,One,Finance,CFO,Active,,\nE2,Bo,Two,Finance,Clerk,Active,,E1\nE3,Cy,Three,Finance,Clerk,Active,,\(managerOf3)\n"
            + "E4,Di,Four,Finance,Clerk,Active,,\nE5,Ed,Five,Finance,Clerk,Terminated,2026-01-01,\n"
    }

    /// A world whose HR feed has a manager column, with two privileged groups in slapd.
    static func world(managerOf3: String = "E1") async throws -> ReconcileJobTests.World {
        let base = try await ReconcileJobTests.world(people: 5, rows: "", extra: """
            entitlements:
              groups: {base_dn: "\(groups)", filter: "(objectClass=groupOfNames)"}
              privileged:
                groups: ["\(payments)", "\(treasury)"]
            """)
        let file = base.directory.appendingPathComponent("rollcall.yaml")
        let config = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "termination_date: Termination Date\n", with: "termination_date: Termination Date\n        manager_id: Manager\n")
        try (config.hasSuffix("\n") ? config : config + "\n").write(to: file, atomically: true, encoding: .utf8)
        try hr(managerOf3).write(to: base.csv, atomically: true, encoding: .utf8)
        let p = { (i: Int) in "uid=p\(i),ou=people,dc=example,dc=test" }
        try await base.slapd.modify("""
            dn: \(payments)
            changetype: add
            objectClass: groupOfNames
            cn: payments-approve
            member: \(p(2))
            member: \(p(3))
            member: \(p(4))

            dn: \(treasury)
            changetype: add
            objectClass: groupOfNames
            cn: treasury
            member: \(p(2))

            """)
        let world = ReconcileJobTests.World(slapd: base.slapd, directory: base.directory, configuration: try ConfigurationLoader.load(path: file.path))
        _ = try await world.run()
        return world
    }

    @Test func managersReviewTheirTeamAndRevokesAreEvents() async throws {
        let world = try await Self.world()
        let store = try world.store()
        let due = try #require(Day(iso: "2026-03-31"))
        // E4 has no manager: refused without a fallback, naming them.
        #expect { try store.startReview(name: "q1", scope: .privileged, reviewer: .manager, fallback: nil, due: due, by: "test") } throws: { error in
            "\(error)".contains("E4") && "\(error)".contains("--fallback")
        }
        let (campaign, count) = try store.startReview(name: "q1", scope: .privileged, reviewer: .manager, fallback: "E1", due: due, by: "test")
        #expect(campaign.status == "open" && count == 4)
        let items = try store.reviewItems(campaign: "q1")
        #expect(items.map { "\($0.employeeID ?? "-") \($0.group) \($0.reviewer)" } == [
            "E2 \(Self.payments) E1", "E2 \(Self.treasury) E1", "E3 \(Self.payments) E1", "E4 \(Self.payments) E1",
        ])
        // A second campaign with an owner, and one by department.
        #expect(try store.startReview(name: "t", scope: .group(Self.treasury.uppercased()), reviewer: .owner("sec-team"), fallback: nil,
                                      due: due, by: "test").items == 1)
        #expect(try store.reviewItems(campaign: "t").map(\.reviewer) == ["sec-team"])

        // E2 may not decide E1's items; E1 keeps one and revokes two.
        let e2Item = try #require(items.first { $0.employeeID == "E2" && $0.group == Self.treasury })
        #expect(throws: StoreError.self) { try store.decideReview(campaign: "q1", items: [e2Item.id], decision: .keep, comment: nil, by: "E2", eventSource: "urn:t") }
        let before = try store.events().last?.rollcallseq ?? 0
        _ = try store.decideReview(campaign: "q1", items: [items[0].id], decision: .keep, comment: "needed for month end", by: "E1", eventSource: "urn:rollcall:test")
        let revoked = try store.decideReview(campaign: "q1", items: [items[1].id, items[3].id], decision: .revoke, comment: "moved teams",
                                             by: "E1", eventSource: "urn:rollcall:test")
        #expect(revoked.lastSeq.map { $0 - (revoked.firstSeq ?? 0) + 1 } == 2)
        // Decided once: a second decision on the same item is refused and nothing is applied.
        #expect(throws: StoreError.self) {
            try store.decideReview(campaign: "q1", items: [items[2].id, items[1].id], decision: .keep, comment: nil, by: "E1", eventSource: "urn:t")
        }
        #expect(try store.reviewItems(campaign: "q1").first { $0.id == items[2].id }?.decision == nil)

        let events = try store.events(after: before)
        #expect(events.map { "\($0.type) \($0.subject)" } == ["dev.rollcall.entitlement.revoke E2", "dev.rollcall.entitlement.revoke E4"])
        #expect(events.allSatisfy { $0.data["reason"] == "review" && $0.data["review"]?["reviewer"] == "E1" && $0.data["review"]?["campaign"] == "q1" })
        #expect(events.first?.data["group"] == .string(Self.treasury) && events.first?.data["anchor"]?.stringValue != nil)
        // Review runs change no identity state: the newest applied run is still the reconcile's.
        #expect(try store.newestAppliedRunID() == 1)
        // Every decision is in the audit log with the reviewer, and the chain verifies.
        var decided: [String] = []
        try store.exportAudit { entry in
            if entry.action == "review.decided" { decided.append("\(entry.actor) \(entry.detail?["decision"]?.stringValue ?? "?")") }
        }
        #expect(decided == ["reviewer E1 keep", "reviewer E1 revoke", "reviewer E1 revoke"])
        #expect(try store.verifyAudit().ok)

        // After the due day, the undecided item is escalated once; a closed campaign takes no decisions.
        let overdue = try #require(Day(iso: "2026-04-01"))
        let escalated = try #require(try store.escalateReviews(today: overdue, eventSource: "urn:rollcall:test"))
        let escalations = try store.events(after: revoked.lastSeq ?? 0)
        #expect(escalations.map { "\($0.type) \($0.subject) \($0.data["review"]?["reviewer"]?.stringValue ?? "")" }.sorted()
                == ["dev.rollcall.review.escalated E2 sec-team", "dev.rollcall.review.escalated E3 E1"])
        #expect(escalated.runID > 0)
        #expect(try store.escalateReviews(today: overdue, eventSource: "urn:rollcall:test") == nil)
        try store.closeReview("q1", by: "test")
        #expect(throws: StoreError.self) { try store.decideReview(campaign: "q1", items: [items[2].id], decision: .keep, comment: nil, by: "E1", eventSource: "urn:t") }

        // The revoke and escalation events as a downstream consumer reads them: valid CloudEvents.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let ndjson = world.directory.appendingPathComponent("review-events.ndjson")
        try (events + escalations).map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n")
            .write(to: ndjson, atomically: true, encoding: .utf8)
        let schema = RepositoryRoot.url.appendingPathComponent("../shared/testdata/external/cloudevents-spec/cloudevents.json").standardizedFileURL.path
        let validated = try await Shell.run(RepositoryRoot.url.appendingPathComponent(".venv/bin/python").path,
                                            [RepositoryRoot.url.appendingPathComponent("scripts/validate-events").path, ndjson.path]
                                                + (FileManager.default.fileExists(atPath: schema) ? [schema] : []))
        #expect(validated.status == 0 && validated.output.contains("4 events valid"), "\(validated.output)\(validated.error)")

        // A subject access request includes what history and reviews keep about the person.
        let export = try #require(try store.identityExport("E2"))
        func entries(_ key: String) -> Int { if case .array(let items)? = export[key] { items.count } else { -1 } }
        #expect(entries("person_history") == 1 && entries("link_history") == 1 && entries("membership_history") == 2 && entries("review_items") == 3,
                "\(export)")

        // docs/events.md's example of review.escalated has the shape of the real one.
        let catalogue = try String(contentsOf: RepositoryRoot.url.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let line = try #require(catalogue.split(separator: "\n").first { $0.hasPrefix("{\"data\":") && $0.contains("dev.rollcall.review.escalated") })
        let example = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        #expect(Self.shape(example["data"] ?? .null) == Self.shape(try #require(escalations.first).data))
    }

    @Test func theCommandsRunACampaign() async throws {
        let world = try await Self.world()
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let start = try await Shell.run(CLITests.binary, ["review", "start", "--config", config, "--name", "q2", "--scope", "department:finance",
                                                          "--fallback", "E1", "--due", "2026-06-30"])
        #expect(start.status == 0 && start.output.contains("review q2 started: 4 items"), "\(start.output)\(start.error)")
        let invite = try await Shell.run(CLITests.binary, ["review", "invite", "--config", config, "q2", "--base-url", "https://review.example.test"])
        #expect(invite.status == 0, "\(invite.error)")
        let links = invite.output.split(separator: "\n").map { $0.split(separator: "\t") }
        #expect(links.map { String($0[0]) } == ["E1"])
        let token = try #require(links.first?.last?.split(separator: "=").last.map(String.init))
        #expect(links.first?.last?.hasPrefix("https://review.example.test/review/signin?token=rvt_") == true)
        // The token names its reviewer; its hash only is stored.
        let store = try world.store()
        #expect(try store.reviewSession(token: token) == ReviewSession(campaign: "q2", reviewer: "E1", admin: false))
        #expect(try store.reviewSession(token: token + "x") == nil)
        #expect(try store.reviewSession(token: token, at: Date().addingTimeInterval(15 * 86_400)) == nil)
        let item = try #require(try store.reviewItems(campaign: "q2").first)
        let decide = try await Shell.run(CLITests.binary, ["review", "decide", "--config", config, "q2", "--item", String(item.id), "--revoke",
                                                           "--as", "E1", "--comment", "left the team"])
        #expect(decide.status == 0, "\(decide.error)")
        let status = try await Shell.run(CLITests.binary, ["review", "status", "--config", config, "q2", "--csv"])
        #expect(status.output.contains("\nreviewer,items,kept,revoked,pending,escalated\nE1,4,0,1,3,0\n"), "\(status.output)")
        let bad = try await Shell.run(CLITests.binary, ["review", "start", "--config", config, "--name", "x", "--scope", "everyone", "--due", "2026-06-30"])
        #expect(bad.status != 0 && bad.error.contains("--scope everyone is not privileged, group:DN or department:NAME"), "\(bad.error)")
    }

    /// A service account in a privileged group (no person owns it) is reviewed too: by the owner
    /// or the fallback; its revoke names the account, not a person.
    @Test func serviceAccountsInPrivilegedGroupsAreReviewed() async throws {
        let world = try await Self.world()
        let service = "cn=svc-pay,ou=services,dc=example,dc=test"
        try await world.slapd.modify("""
            dn: \(service)
            changetype: add
            objectClass: inetOrgPerson
            cn: svc-pay
            sn: svc

            dn: \(Self.payments)
            changetype: modify
            add: member
            member: \(service)
            -

            """)
        _ = try await world.run()
        let store = try world.store()
        let due = try #require(Day(iso: "2026-03-31"))
        // Without a fallback the manager rule has nobody for it, and says which account.
        #expect { try store.startReview(name: "p", scope: .privileged, reviewer: .manager, fallback: nil, due: due, by: "test") } throws: { error in
            "\(error)".contains(service)
        }
        #expect(try store.startReview(name: "p", scope: .privileged, reviewer: .manager, fallback: "sec-lead", due: due, by: "test").items == 5)
        let item = try #require(try store.reviewItems(campaign: "p").first { $0.employeeID == nil })
        #expect(item.member == service && item.reviewer == "sec-lead")
        // By department: persons only.
        #expect(try store.startReview(name: "d", scope: .department("Finance"), reviewer: .owner("o"), fallback: nil, due: due, by: "test").items == 4)
        let before = try store.events().last?.rollcallseq ?? 0
        _ = try store.decideReview(campaign: "p", items: [item.id], decision: .revoke, comment: "unused", by: "sec-lead", eventSource: "urn:rollcall:test")
        let revoke = try #require(try store.events(after: before).first)
        #expect(revoke.type == "dev.rollcall.entitlement.revoke" && revoke.data["hr_id"] == .null && revoke.data["dn"] == .string(service))
        // Not a stored account (it is outside the read base): no anchor, the subject is its DN.
        #expect(revoke.subject == service && revoke.data["anchor"] == .null, "\(revoke)")
        #expect(try store.verifyAudit().ok)
    }

    /// A reconcile after the due day escalates what is undecided, once; the run stands either way.
    @Test func aRunAfterTheDueDayEscalates() async throws {
        let world = try await Self.world()
        let store = try world.store()
        _ = try store.startReview(name: "late", scope: .group(Self.treasury), reviewer: .owner("sec-team"), fallback: nil,
                                  due: try #require(Day(iso: "2026-03-10")), by: "test")
        let before = try store.events().last?.rollcallseq ?? 0
        // The world's clock says 2026-03-15: past the due day.
        let outcome = try await world.run()
        #expect(outcome.summary.events == 0)
        let escalated = try store.events(after: before).map { "\($0.type) \($0.subject)" }
        #expect(escalated == ["dev.rollcall.review.escalated E2"], "\(escalated)")
        _ = try await world.run()
        #expect(try store.events(after: before).count == 1)
        #expect(try store.reviewItems(campaign: "late").allSatisfy { $0.escalatedAt != nil })
    }

    static func shape(_ value: JSONValue) -> String {
        switch value {
        case .object(let fields): "{" + fields.keys.sorted().map { "\($0):\(shape(fields[$0] ?? .null))" }.joined(separator: ",") + "}"
        case .array(let items): "[" + (items.first.map(shape) ?? "") + "]"
        case .null, .bool, .int, .string: "_"
        }
    }
}
