import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// The access review page of `rollcall serve` in a real browser: headless Chromium from Debian's
/// packages driven by Selenium (tests/browser/review_page.py). Screenshots go to
/// $ROLLCALL_SCREENSHOTS (docs/images with `make screenshots`), else to the test's folder.
@Suite struct ReviewPageTests {
    @Test func reviewersDecideOnThePageInARealBrowser() async throws {
        let world = try await AccessReviewTests.world()
        let store = try world.store()
        _ = try store.startReview(name: "q1", scope: .privileged, reviewer: .manager, fallback: "sec-lead",
                                  due: try #require(Day(iso: "2026-12-31")), by: "test")
        let links = try store.inviteReviewers(campaign: "q1", reviewers: nil, admin: false, days: 1, by: "test")
        let admin = try #require(try store.inviteReviewers(campaign: "q1", reviewers: nil, admin: true, days: 1, by: "test").first)
        let notify = try NotifySocket()
        let (daemon, port) = try ServeTests.startAfterFirstRun(world, notify: notify)
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(timeout: 30)
        }
        let base = "http://127.0.0.1:\(port)"
        func link(_ token: String) -> String { "\(base)/review/signin?token=\(token)" }
        let e1 = try #require(links.first { $0.reviewer == "E1" }).token
        let lead = try #require(links.first { $0.reviewer == "sec-lead" }).token
        let shots = ProcessInfo.processInfo.environment["ROLLCALL_SCREENSHOTS"] ?? world.directory.path
        let seq = try store.events().last?.rollcallseq ?? 0

        let browser = try await Shell.run(RepositoryRoot.url.appendingPathComponent(".venv/bin/python").path, [
            RepositoryRoot.url.appendingPathComponent("tests/browser/review_page.py").path, base, link(e1), link(lead), link(admin.token), shots,
        ])
        #expect(browser.status == 0, "\(browser.output)\(browser.error.suffix(3000))\(daemon.errorOutput.suffix(2000))")
        let seen = try JSONSerialization.jsonObject(with: Data((browser.output.split(separator: "\n").last ?? "{}").utf8)) as? [String: Any]
        #expect(seen?["reviewer_rows"] as? Int == 3 && seen?["filtered_rows"] as? Int == 1 && seen?["other_rows"] as? Int == 1, "\(browser.output)")
        #expect(seen?["forged_status"] as? Int == 403)
        #expect(seen?["privileged_csv_rows"] as? Int == 4, "\(browser.output)")
        #expect(FileManager.default.fileExists(atPath: shots + "/review-reviewer.png") && FileManager.default.fileExists(atPath: shots + "/review-admin.png"))

        // What the page recorded: two revokes as entitlement.revoke events by E1, one keep, the
        // other reviewer's item untouched; each decision in the audit log with its reviewer.
        let revoked = (seen?["revoked"] as? [String] ?? []).compactMap(Int64.init)
        let items = try store.reviewItems(campaign: "q1")
        #expect(items.filter { $0.decision == "revoke" }.map(\.id).sorted() == revoked.sorted())
        #expect(items.filter { $0.decision == "revoke" }.allSatisfy { $0.comment == "moved to another team" && $0.decidedBy == "E1" })
        #expect(items.filter { $0.decision == "keep" }.count == 1)
        #expect(items.first { $0.reviewer == "sec-lead" }?.decision == nil)
        let events = try store.events(after: seq).filter { $0.type == "dev.rollcall.entitlement.revoke" }
        #expect(events.count == 2 && events.allSatisfy { $0.data["review"]?["reviewer"] == "E1" }, "\(events)")
        var decided = 0
        try store.exportAudit { if $0.action == "review.decided" && $0.actor == "reviewer E1" { decided += 1 } }
        #expect(decided == 3)
        #expect(try store.verifyAudit().ok)
        // The page's revokes reach feed consumers at once: the daemon published them.
        let served = try await ServeTests.curl("\(base)/healthz")
        #expect(served.status == 200)
    }
}
