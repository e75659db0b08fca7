import Foundation
import RollcallStore

/// A review campaign's progress as a table (the CLI's `review status` and the admin page).
public enum ReviewProgress {
    public static func report(campaign: ReviewCampaign, items: [ReviewItem], basis: AccessBasis, detail: Bool) -> TabularReport {
        let title = "Review \(campaign.name) (\(campaign.scope), reviewer \(campaign.reviewer), due \(campaign.due), \(campaign.status)): "
            + "\(items.filter { $0.decision != nil }.count) of \(items.count) decided"
        if detail {
            let rows: [[String?]] = items.map { item in
                [String(item.id), item.employeeID, item.displayName, item.member, item.group, item.how, item.reviewer, item.decision, item.comment,
                 item.decidedBy, item.decidedAt, item.escalatedAt]
            }
            return TabularReport(name: "review", title: title, basis: basis,
                                 columns: ["item", "hr_id", "display_name", "member", "group", "how", "reviewer", "decision", "comment", "decided_by",
                                           "decided_at", "escalated_at"], rows: rows)
        }
        var byReviewer: [String: (items: Int, kept: Int, revoked: Int, escalated: Int)] = [:]
        for item in items {
            var counts = byReviewer[item.reviewer] ?? (0, 0, 0, 0)
            counts.items += 1
            if item.decision == "keep" { counts.kept += 1 }
            if item.decision == "revoke" { counts.revoked += 1 }
            if item.decision == nil && item.escalatedAt != nil { counts.escalated += 1 }
            byReviewer[item.reviewer] = counts
        }
        let rows: [[String?]] = byReviewer.sorted { $0.key < $1.key }.map { reviewer, counts in
            [reviewer, String(counts.items), String(counts.kept), String(counts.revoked), String(counts.items - counts.kept - counts.revoked),
             String(counts.escalated)]
        }
        return TabularReport(name: "review", title: title, basis: basis,
                             columns: ["reviewer", "items", "kept", "revoked", "pending", "escalated"], rows: rows)
    }
}
