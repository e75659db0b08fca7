/// A plan of some persons only: what a live directory change touches. The daemon plans it with
/// the cached HR read and the state it holds in memory, and applies it like any plan (same guard,
/// same transaction, same audit). Everything outside the scope is left exactly as stored: no
/// absence, purge, conversion, orphan or removal is decided for it.
public struct PlanScope: Sendable, Hashable {
    /// HR ids of the persons to plan.
    public var persons: Set<String>
    /// Per directory, the anchors of the accounts that changed, appeared or were deleted.
    public var accounts: [String: Set<String>]

    public init(persons: Set<String>, accounts: [String: Set<String>]) {
        self.persons = persons
        self.accounts = accounts
    }

    /// The persons a change of `directory` touches: those linked to a changed or deleted account,
    /// those disputing or proposed for one, and every person whose value for one of the
    /// directory's rules matches a changed account's (the account may now be theirs).
    public static func of(changed: [DirectoryAccount], deleted: Set<String>, directory: DirectoryInput,
                          records: [HRRecord], state: StoredState) -> PlanScope {
        var anchors = deleted
        for account in changed { anchors.insert(account.anchor) }
        var persons = Set<String>()
        for link in state.links where link.directory == directory.name && anchors.contains(link.anchor) { persons.insert(link.employeeID) }
        for (id, disputes) in state.disputes where disputes[directory.name]?.contains(where: anchors.contains) == true { persons.insert(id) }
        for (id, proposals) in state.proposals where proposals[directory.name].map(anchors.contains) == true { persons.insert(id) }
        for (index, rule) in directory.rules.enumerated() {
            var values = Set<String>()
            for account in changed {
                if let value = account.correlationValue(rule: index).flatMap(rule.hrField.normalize) { values.insert(value) }
                if let before = state.accounts[directory.name]?[account.anchor]?.asRead.correlationValue(rule: index).flatMap(rule.hrField.normalize) {
                    values.insert(before)
                }
            }
            guard !values.isEmpty else { continue }
            for record in records { if let value = rule.hrField.value(of: record), values.contains(value) { persons.insert(record.employeeID) } }
        }
        return PlanScope(persons: persons, accounts: [directory.name: anchors])
    }
}
