import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import RollcallCore
import RollcallStore

/// The access review pages `rollcall serve` serves under /review (docs/governance.md): a
/// reviewer signs in with the link `rollcall review invite` printed, sees their own items only,
/// filters them and decides in bulk; an admin link shows the campaign's progress. Server-rendered
/// HTML (Mustache, escaped by default), no script; forms carry a per-session CSRF token; every
/// response has a strict Content-Security-Policy and no caching.
public final class ReviewPages: Sendable {
    /// Signed-in sessions, in memory: a restart signs everyone out (the invitation link works
    /// again until it expires).
    actor Sessions {
        struct Entry {
            var session: ReviewSession
            var csrf: String
            var expires: Date
        }
        private var entries: [String: Entry] = [:]

        func create(_ session: ReviewSession, now: Date) -> (id: String, csrf: String) {
            entries = entries.filter { $0.value.expires > now }
            let id = ReviewPages.randomToken()
            let csrf = ReviewPages.randomToken()
            entries[id] = Entry(session: session, csrf: csrf, expires: now.addingTimeInterval(8 * 3600))
            return (id, csrf)
        }

        func find(_ id: String, now: Date) -> Entry? {
            guard let entry = entries[id], entry.expires > now else { return nil }
            return entry
        }

        func remove(_ id: String) { entries[id] = nil }
    }

    let store: Store
    /// The configuration in force (reloads change it): the reports' policy.
    let configuration: @Sendable () -> ResolvedConfiguration
    let eventSource: String
    let secure: Bool
    let logger: Logger
    let sessions = Sessions()
    let library: MustacheLibrary
    /// Called after decisions were applied (the daemon publishes the new events to the feed).
    let published: @Sendable (Int64) -> Void
    static let cookie = "rollcall_review"

    public init(store: Store, configuration: @escaping @Sendable () -> ResolvedConfiguration, eventSource: String, secure: Bool, logger: Logger,
                published: @escaping @Sendable (Int64) -> Void = { _ in }) throws {
        self.store = store
        self.configuration = configuration
        self.eventSource = eventSource
        self.secure = secure
        self.logger = logger
        self.published = published
        var library = MustacheLibrary()
        try library.register(ReviewTemplates.layout, named: "layout")
        try library.register(ReviewTemplates.reviewer, named: "reviewer")
        try library.register(ReviewTemplates.admin, named: "admin")
        try library.register(ReviewTemplates.message, named: "message")
        try library.register(ReviewTemplates.reports, named: "reports")
        try library.register(ReviewTemplates.report, named: "report")
        self.library = library
    }

    public func routes(_ router: Router<BasicRequestContext>) {
        router.get("/review/style.css") { _, _ in
            self.response(.ok, contentType: "text/css; charset=utf-8", body: ReviewTemplates.css)
        }
        router.get("/review/signin") { request, _ in
            guard let token = request.uri.queryParameters["token"].map(String.init),
                  let session = try self.store.reviewSession(token: token) else {
                return self.page(.forbidden, "message", ["title": "Sign-in link not valid",
                                                         "text": "This link is expired, revoked or mistyped. Ask whoever runs the review for a new one."])
            }
            let (id, _) = await self.sessions.create(session, now: Date())
            self.logger.info("review sign-in", metadata: ["review.campaign": "\(session.campaign)", "review.reviewer": "\(session.reviewer)"])
            var headers = self.headers()
            headers[.location] = session.admin ? "/review/admin" : "/review"
            headers[.setCookie] = "\(Self.cookie)=\(id); Path=/review; HttpOnly; SameSite=Strict; Max-Age=28800\(self.secure ? "; Secure" : "")"
            return Response(status: .seeOther, headers: headers)
        }
        router.get("/review") { request, _ in
            guard let (_, entry) = await self.signedIn(request) else { return self.signInFirst() }
            if entry.session.admin { return self.redirect("/review/admin") }
            return try self.reviewerPage(entry, request: request)
        }
        router.get("/review/admin") { request, _ in
            guard let (_, entry) = await self.signedIn(request) else { return self.signInFirst() }
            guard entry.session.admin else {
                return self.page(.forbidden, "message", ["title": "Not allowed", "text": "This page is for whoever runs the review."])
            }
            return try self.adminPage(entry)
        }
        // The compliance reports, for admin links: as a page, and as CSV for the auditor.
        router.get("/review/reports") { request, _ in
            guard let (_, entry) = await self.signedIn(request) else { return self.signInFirst() }
            guard entry.session.admin else { return self.page(.forbidden, "message", ["title": "Not allowed", "text": "Reports are for whoever runs the review."]) }
            let links: [[String: Any]] = ComplianceReports.Name.allCases.map { ["name": $0.rawValue] }
            return self.page(.ok, "reports", ["title": "Compliance reports", "reports": links])
        }
        router.get("/review/reports/:name") { request, context in
            guard let (_, entry) = await self.signedIn(request) else { return self.signInFirst() }
            guard entry.session.admin else { return self.page(.forbidden, "message", ["title": "Not allowed", "text": "Reports are for whoever runs the review."]) }
            var name = context.parameters.get("name") ?? ""
            let csv = name.hasSuffix(".csv")
            if csv { name = String(name.dropLast(4)) }
            guard let report = ComplianceReports.Name(rawValue: name) else {
                return self.page(.notFound, "message", ["title": "No such report", "text": "Choose one from the list of reports."])
            }
            let table = try self.report(report, request: request)
            if csv {
                var headers = self.headers()
                headers[.contentType] = "text/csv; charset=utf-8"
                headers[.contentDisposition] = "attachment; filename=\"rollcall-\(table.name).csv\""
                let lines = [CSVLine.make(["# \(table.title); run \(table.basis.newestRun.map(String.init) ?? "none"); audit head \(table.basis.auditHead ?? "none")"]),
                             CSVLine.make(table.columns)] + table.rows.map(CSVLine.make)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
            }
            let context: [String: Any] = [
                "title": table.title, "name": table.name, "columns": table.columns.map { ["column": $0] },
                "rows": table.rows.map { row in ["cells": row.map { ["value": $0 ?? ""] }] }, "count": table.rows.count,
                "notes": table.notes.map { ["note": $0] },
                "basis": "run \(table.basis.newestRun.map(String.init) ?? "none") at \(table.basis.newestRunAt ?? "?"), audit head \(table.basis.auditHead ?? "none")",
            ]
            return self.page(.ok, "report", context)
        }
        router.post("/review/decide") { request, context in
            guard let (_, entry) = await self.signedIn(request) else { return self.signInFirst() }
            let form = try await Self.form(request, context: context)
            guard let csrf = form["csrf"]?.first, Self.same(csrf, entry.csrf) else {
                self.logger.warning("review form refused: no or wrong CSRF token", metadata: ["review.reviewer": "\(entry.session.reviewer)"])
                return self.page(.forbidden, "message", ["title": "Form refused",
                                                         "text": "This form did not come from your review page. Reload the page and try again."])
            }
            guard let decision = form["decision"]?.first.flatMap(ReviewDecision.init(rawValue:)) else {
                return self.page(.badRequest, "message", ["title": "No decision", "text": "Choose Keep or Revoke."])
            }
            let items = (form["item"] ?? []).compactMap { Int64($0) }
            guard !items.isEmpty else {
                return self.page(.badRequest, "message", ["title": "Nothing chosen", "text": "Tick the items to decide, then choose Keep or Revoke."])
            }
            let comment = form["comment"]?.first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
            do {
                let applied = try self.store.decideReview(campaign: entry.session.campaign, items: items, decision: decision, comment: comment,
                                                          by: entry.session.reviewer, admin: entry.session.admin, eventSource: self.eventSource)
                if let last = applied.lastSeq { self.published(last) }
            } catch let error as StoreError {
                return self.page(.forbidden, "message", ["title": "Not recorded", "text": error.reason])
            }
            self.logger.notice("review decisions recorded", metadata: [
                "review.campaign": "\(entry.session.campaign)", "review.reviewer": "\(entry.session.reviewer)",
                "review.decision": "\(decision.rawValue)", "review.items": "\(items.count)"])
            return self.redirect(entry.session.admin ? "/review/admin" : "/review?done=\(items.count)")
        }
        router.post("/review/signout") { request, context in
            guard let (id, entry) = await self.signedIn(request) else { return self.signInFirst() }
            let form = try await Self.form(request, context: context)
            guard let csrf = form["csrf"]?.first, Self.same(csrf, entry.csrf) else {
                return self.page(.forbidden, "message", ["title": "Form refused", "text": "Reload the page and try again."])
            }
            await self.sessions.remove(id)
            var headers = self.headers()
            headers[.setCookie] = "\(Self.cookie)=; Path=/review; HttpOnly; SameSite=Strict; Max-Age=0\(self.secure ? "; Secure" : "")"
            headers[.contentType] = "text/html; charset=utf-8"
            let html = self.render("message", ["title": "Signed out", "text": "You are signed out. Your decisions are recorded."])
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }

    // MARK: Pages

    private func reviewerPage(_ entry: Sessions.Entry, request: Request) throws -> Response {
        let session = entry.session
        guard let campaign = try store.reviewCampaign(session.campaign) else {
            return page(.notFound, "message", ["title": "No such review", "text": "This review no longer exists."])
        }
        let all = try store.reviewItems(campaign: session.campaign, reviewer: session.reviewer)
        let show = request.uri.queryParameters["show"].map(String.init) ?? "pending"
        let query = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        let shown = all.filter { item in
            let fields: [String] = [item.employeeID ?? item.member, item.displayName ?? "", item.group, item.department ?? ""]
            return (show == "all" || (show == "decided") == (item.decision != nil))
                && (query.isEmpty || fields.contains { $0.localizedCaseInsensitiveContains(query) })
        }
        let rows: [[String: Any]] = shown.map { item in
            // Keys only where there is a value: an absent key is a false section. An account no
            // person owns shows its short name and "service account".
            let name: String = item.displayName ?? item.employeeID ?? Self.shortName(item.member)
            var row: [String: Any] = [
                "id": String(item.id), "hrID": item.employeeID ?? "service account", "name": name,
                "department": item.department ?? "", "group": item.group, "groupName": Self.shortName(item.group),
                "how": item.how, "open": item.decision == nil, "escalated": item.escalatedAt != nil && item.decision == nil,
            ]
            if let lifecycle = item.lifecycle { row["lifecycle"] = lifecycle }
            if let decision = item.decision { row["decision"] = decision }
            if let comment = item.comment { row["comment"] = comment }
            return row
        }
        let pending = all.filter { $0.decision == nil }.count
        var context: [String: Any] = [
            "title": "Access review \(campaign.name)", "campaign": campaign.name, "due": campaign.due, "reviewer": session.reviewer,
            "closed": campaign.status != "open", "open": campaign.status == "open",
            "pending": pending, "total": all.count, "rows": rows, "empty": rows.isEmpty, "csrf": entry.csrf, "query": query,
            "showPending": show == "pending", "showDecided": show == "decided", "showAll": show == "all",
        ]
        if let done = request.uri.queryParameters["done"].flatMap({ Int($0) }) {
            context["done"] = done == 1 ? "1 decision recorded." : "\(done) decisions recorded."
        }
        return page(.ok, "reviewer", context)
    }

    private func adminPage(_ entry: Sessions.Entry) throws -> Response {
        guard let campaign = try store.reviewCampaign(entry.session.campaign) else {
            return page(.notFound, "message", ["title": "No such review", "text": "This review no longer exists."])
        }
        let items = try store.reviewItems(campaign: campaign.name)
        let progress = ReviewProgress.report(campaign: campaign, items: items, basis: try store.currentBasis(), detail: false)
        let rows: [[String: Any]] = progress.rows.map { row in
            ["reviewer": row[0] ?? "", "items": row[1] ?? "", "kept": row[2] ?? "", "revoked": row[3] ?? "", "pending": row[4] ?? "",
             "escalated": row[5] ?? ""]
        }
        let decided = items.filter { $0.decision != nil }.count
        let context: [String: Any] = [
            "title": "Access review \(campaign.name): progress", "campaign": campaign.name, "scope": campaign.scope, "due": campaign.due,
            "status": campaign.status, "decided": decided, "total": items.count,
            "percent": items.isEmpty ? 100 : decided * 100 / items.count, "rows": rows, "csrf": entry.csrf,
            "basis": "run \(progress.basis.newestRun.map(String.init) ?? "none"), audit head \(progress.basis.auditHead ?? "none")",
        ]
        return page(.ok, "admin", context)
    }

    private func report(_ name: ComplianceReports.Name, request: Request) throws -> TabularReport {
        let reports = ComplianceReports(configuration: configuration(), store: store)
        switch name {
        case .orphans: return try reports.orphans()
        case .dormant: return try reports.dormant(days: request.uri.queryParameters["days"].flatMap { Int($0) }.flatMap { (1...36_500).contains($0) ? $0 : nil })
        case .leavers: return try reports.leavers()
        case .privileged: return try reports.privileged()
        case .violations:
            if let from = request.uri.queryParameters["from"].flatMap({ AccessWindow(String($0)) }),
               let to = request.uri.queryParameters["to"].flatMap({ AccessWindow(String($0)) }), from.start < to.end {
                return try reports.violations(during: (from, to))
            }
            return try reports.violations()
        case .hygiene: return try reports.hygiene()
        }
    }

    // MARK: Helpers

    private func signedIn(_ request: Request) async -> (String, Sessions.Entry)? {
        guard let id = request.cookies[Self.cookie]?.value, !id.isEmpty, let entry = await sessions.find(id, now: Date()) else { return nil }
        return (id, entry)
    }

    private func signInFirst() -> Response {
        page(.unauthorized, "message", ["title": "Sign in", "text": "Open the sign-in link you were sent for this review."])
    }

    private func redirect(_ location: String) -> Response {
        var headers = self.headers()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    private func render(_ template: String, _ context: [String: Any]) -> String {
        let body = library.render(context, withTemplate: template) ?? ""
        var page = context
        page["body"] = body
        return library.render(page, withTemplate: "layout") ?? body
    }

    private func page(_ status: HTTPResponse.Status, _ template: String, _ context: [String: Any]) -> Response {
        response(status, contentType: "text/html; charset=utf-8", body: render(template, context))
    }

    private func response(_ status: HTTPResponse.Status, contentType: String, body: String) -> Response {
        var headers = self.headers()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The security headers of every review response.
    private func headers() -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "no-store"
        for (name, value) in [("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")] {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        if secure { headers[.strictTransportSecurity] = "max-age=31536000" }
        return headers
    }

    /// `application/x-www-form-urlencoded` fields (repeated names kept), at most 256 KiB.
    static func form(_ request: Request, context: BasicRequestContext) async throws -> [String: [String]] {
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        let text = String(buffer: buffer)
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first, !name.isEmpty else { continue }
            fields[name, default: []].append(parts.count > 1 ? parts[1] : "")
        }
        return fields
    }

    /// Constant-time comparison of two tokens.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func randomToken() -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The first RDN's value of a DN, for a short label (`cn=payments-approve,...` → payments-approve).
    /// (`cn=Smith\, Jo,ou=x` → `Smith, Jo`: an escaped comma does not end the RDN.)
    static func shortName(_ dn: String) -> String {
        var value = ""
        var inValue = false
        var escaped = false
        for character in dn {
            if escaped {
                if inValue { value.append(character) }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                break
            } else if character == "=" && !inValue {
                inValue = true
            } else if inValue {
                value.append(character)
            }
        }
        return value.isEmpty ? dn : value
    }
}
