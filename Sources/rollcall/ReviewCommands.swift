import ArgumentParser
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallStore

/// `rollcall review`: access review campaigns (docs/governance.md). Reviewers decide on the
/// review page of `rollcall serve`; these commands start, invite, follow and close a campaign.
struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Access review campaigns: start, invite reviewers, follow progress, decide, escalate, close.",
        subcommands: [Start.self, Invite.self, Status.self, Decide.self, Escalate.self, Close.self]
    )

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a campaign: one item per (person, group membership) in scope, assigned to a reviewer.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The campaign's name (letters, digits, . _ -).")
        var name: String
        @Option(help: "privileged, group:DN or department:NAME.")
        var scope: String
        @Option(help: "manager (the person's manager in HR) or owner:ID.")
        var reviewer = "manager"
        @Option(help: "Reviewer for persons without an employed manager.")
        var fallback: String?
        @Option(help: "The due day (YYYY-MM-DD): undecided items are escalated after it.")
        var due: String

        func run() async throws {
            guard let scope = ReviewScope(scope) else { throw ValidationError("--scope \(self.scope) is not privileged, group:DN or department:NAME") }
            guard let rule = ReviewerRule(reviewer) else { throw ValidationError("--reviewer \(reviewer) is not manager or owner:ID") }
            guard let day = Day(iso: due), due.count == 10 else { throw ValidationError("--due \(due) is not a date (YYYY-MM-DD)") }
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let (campaign, items) = try store.startReview(name: name, scope: scope, reviewer: rule, fallback: fallback, due: day,
                                                          by: AdminActions.operatorName)
            print("review \(campaign.name) started: \(items) items, due \(campaign.due); invite its reviewers with: rollcall review invite \(campaign.name)")
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a sign-in link per reviewer (or one admin link) for the review page; send each to its reviewer only.",
            discussion: "The token in a link is shown once and stored only as its SHA-256. Anyone with the link acts as that reviewer until it expires.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The campaign.")
        var name: String
        @Option(help: "Only these reviewers (repeat); default: every reviewer of the campaign.")
        var reviewer: [String] = []
        @Flag(help: "One link for the admin page (campaign progress; may decide any item).")
        var admin = false
        @Option(help: "Days the links stay valid (1 to 90).")
        var validDays = 14
        @Option(help: "The review page's address as reviewers reach it (default: serve.listen).")
        var baseURL: String?

        func validate() throws {
            if !(1...90).contains(validDays) { throw ValidationError("--valid-days must be from 1 to 90") }
            if admin && !reviewer.isEmpty { throw ValidationError("--admin and --reviewer exclude each other") }
        }

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let tokens = try store.inviteReviewers(campaign: name, reviewers: reviewer.isEmpty ? nil : reviewer, admin: admin,
                                                   days: validDays, by: AdminActions.operatorName)
            let serve = configuration.serve
            let base = baseURL ?? "\(serve.tls == nil ? "http" : "https")://\(serve.host.contains(":") ? "[\(serve.host)]" : serve.host):\(serve.port)"
            for (reviewer, token) in tokens {
                print("\(reviewer)\t\(base.hasSuffix("/") ? String(base.dropLast()) : base)/review/signin?token=\(token)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A campaign's progress by reviewer, or (--items) every item.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The campaign.")
        var name: String
        @Flag(help: "Every item with its decision.")
        var items = false
        @OptionGroup var output: AccessCommand.Output

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            guard let campaign = try store.reviewCampaign(name) else { throw CLIFailure(message: "no review campaign \(name)") }
            let report = ReviewProgress.report(campaign: campaign, items: try store.reviewItems(campaign: name), basis: try store.currentBasis(),
                                                   detail: items)
            try ReportDocument.write(report, output, title: report.title)
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a reviewer's decision on items (as the review page does): a revoke is an entitlement.revoke event.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The campaign.")
        var name: String
        @Option(help: "An item id (repeat).")
        var item: [Int64]
        @Flag(help: "Keep the access.")
        var keep = false
        @Flag(help: "Revoke the access.")
        var revoke = false
        @Option(name: .customLong("as"), help: "The reviewer the items are assigned to.")
        var reviewer: String
        @Option(help: "Why (at most 2000 characters).")
        var comment: String?

        func validate() throws {
            if keep == revoke { throw ValidationError("give one of --keep and --revoke") }
        }

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let applied = try store.decideReview(campaign: name, items: item, decision: keep ? .keep : .revoke, comment: comment, by: reviewer,
                                                 eventSource: configuration.eventSource)
            print("\(item.count) items decided (\(keep ? "keep" : "revoke")) in run \(applied.runID)"
                  + (applied.firstSeq.map { ", events \($0)...\(applied.lastSeq ?? $0)" } ?? ""))
        }
    }

    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Escalate now the undecided items of campaigns past their due day (each run does it too).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            let today = ReconcileJob.day(of: Date(), in: configuration.timeZone)
            guard let applied = try store.escalateReviews(today: today, eventSource: configuration.eventSource) else {
                print("nothing to escalate")
                return
            }
            print("escalated in run \(applied.runID): events \(applied.firstSeq ?? 0)...\(applied.lastSeq ?? 0)")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a campaign: no more decisions; undecided items stay in its report.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The campaign.")
        var name: String

        func run() async throws {
            let configuration = try options.load()
            let store = try Store.open(path: configuration.storePath, create: false)
            try store.closeReview(name, by: AdminActions.operatorName)
            print("review \(name) closed")
        }
    }
}
