extension StoredState {
    /// The state after `plan` is applied: what the store holds once the run's transaction commits.
    /// Core uses it to reason about plans (a plan applied and planned again is empty); the store
    /// does the same thing in SQL.
    public func applying(_ plan: Plan) -> StoredState {
        var next = self
        for person in plan.personUpserts { next.persons[person.employeeID] = person }
        for account in plan.accountUpserts { next.accounts[account.anchor] = account }
        for anchor in plan.accountRemovals { next.accounts[anchor] = nil }
        let removed = Set(plan.linkRemovals)
        next.links.removeAll { removed.contains($0.employeeID) }
        next.links.append(contentsOf: plan.linkUpserts)
        return next
    }
}
