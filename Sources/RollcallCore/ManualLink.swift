/// An operator's decision that a person's account in a directory is this one (`rollcall link`):
/// it confirms a proposed match, settles a dispute, or links what no rule finds. The plan links
/// them with `account.linked` (`matched_by: manual`) and forgets the person's proposal and dispute
/// in that directory; from then on the stored link decides, as for any link.
public enum ManualLink {
    public static func plan(employeeID requested: String, directory: String, anchor: String,
                            state: StoredState) throws(ReconcileRefusal) -> Plan {
        let person = try state.person(named: requested)
        let employeeID = person.employeeID
        guard let accounts = state.accounts[directory] else {
            throw ReconcileRefusal("no accounts of a directory named \(directory) are stored")
        }
        guard let account = accounts[anchor] else {
            throw ReconcileRefusal("directory \(directory) has no stored account with anchor \(anchor)")
        }
        if let owner = state.links.first(where: { $0.directory == directory && $0.anchor == anchor }) {
            throw ReconcileRefusal("the account \(account.dn) is already linked to \(owner.employeeID)")
        }
        if let current = state.links.first(where: { $0.directory == directory && $0.employeeID == employeeID }) {
            let dn = accounts[current.anchor]?.dn ?? current.anchor
            throw ReconcileRefusal("\(employeeID) is already linked to \(dn) in directory \(directory); a person has one account per directory")
        }
        var plan = Plan()
        plan.linkUpserts = [Link(employeeID: employeeID, directory: directory, anchor: anchor)]
        if let proposed = state.proposals[employeeID]?[directory] {
            plan.proposalRemovals = [LinkProposal(employeeID: employeeID, directory: directory, anchor: proposed)]
        }
        if let anchors = state.disputes[employeeID]?[directory] {
            plan.disputeRemovals = [AmbiguousMatch(employeeID: employeeID, directory: directory, anchors: anchors)]
        }
        var owned: [(directory: String, account: DirectoryAccount)] = state.links.filter { $0.employeeID == employeeID }.compactMap { link in
            state.accounts[link.directory]?[link.anchor].map { (link.directory, DirectoryAccount(stored: $0)) }
        }
        let linked = DirectoryAccount(stored: account)
        owned.append((directory, linked))
        owned.sort { $0.directory < $1.directory }
        let record = HRRecord(employeeID: employeeID, attributes: person.attributes, origin: SourceLocation(source: "store", line: 0))
        let payload = EventPayload(record: record, accounts: owned, lifecycle: person.lifecycle)
        plan.events = [EventDraft(kind: .linked, subject: employeeID,
                                  data: payload.json(linked: (directory, linked), rule: "manual"))]
        plan.summary.linked = 1
        plan.summary.events = 1
        return plan
    }
}

extension DirectoryAccount {
    /// The account as stored (DN, anchor, correlation values, attributes).
    init(stored: StoredAccount) {
        self.init(anchor: stored.anchor, dn: stored.dn, correlationValue: stored.correlationValue,
                  moreCorrelationValues: stored.moreCorrelationValues, attributesJSON: stored.attributesJSON)
    }
}
