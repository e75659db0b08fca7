/// Persons no HR source listed, and the state of each person's accounts.
extension Reconciler {
    /// `account.still_enabled` and `account.disabled_externally` for one person's accounts, once
    /// each while they last; the notices to remember go to the views.
    func checkAccountStates(person: StoredPerson, accounts: [(directory: String, account: DirectoryAccount)], state: StoredState,
                                    views: inout [DirectoryView], index: [String: Int], clock: RunClock, plan: inout Plan) {
        for (directory, account) in accounts where account.enabled != nil {
            guard let v = index[directory] else { continue }
            let stored = state.accounts[directory]?[account.anchor]
            let (notice, event) = AccountStatePlanner.check(account: account, directory: directory, person: person,
                                                            hold: state.holds[person.employeeID], stored: stored,
                                                            windowHours: disableWithinHours, clock: clock)
            if notice != stored?.stateNotice { views[v].stateNotices[account.anchor] = .some(notice) }
            if let event { plan.events.append(event) }
        }
    }

    /// Stored persons that no HR source listed in this read (`present`: every id listed, usable or
    /// not, under the person's current id). A person with a known end (terminated status or a
    /// termination date) keeps advancing on the calendar: leaver, deprovision. Anyone else still
    /// announced is missing: `identity.missing` once; with `on_missing: leave`, after the grace
    /// period a leaver (`reason: missing_from_hr`), then the normal path.
    func planAbsent(present: Set<String>, purging: Set<String>, views: inout [DirectoryView], index: [String: Int],
                            state: StoredState, clock: RunClock, only: Set<String>?, plan: inout Plan) {
        let today = clock.today
        var absent: [StoredPerson] = []
        if let only {
            for id in only where !present.contains(id) && !purging.contains(id) { if let person = state.persons[id] { absent.append(person) } }
        } else {
            for (id, person) in state.persons where !present.contains(id) && !purging.contains(id) { absent.append(person) }
        }
        plan.summary.missingFromHR = absent.count
        guard !absent.isEmpty else { return }
        absent.sort { $0.employeeID < $1.employeeID }
        for person in absent {
            var next = person
            var kinds: [EventKind] = []
            var extra: [String: JSONValue] = [:]
            let accounts = views.compactMap { view -> (directory: String, account: DirectoryAccount)? in
                guard let anchor = view.anchorByPerson[person.employeeID], let account = view.accountByAnchor[anchor] else { return nil }
                return (view.name, account)
            }
            let (calendar, since) = lifecycle.state(of: person.attributes, on: today, stored: person)
            if calendar.isEnded {
                if calendar != person.lifecycle {
                    kinds = lifecycle.events(from: person.lifecycle, to: calendar, hasAccount: !accounts.isEmpty, disputed: false)
                    next.lifecycle = calendar
                    next.lifecycleSince = since
                }
            } else if person.lifecycle != .pending {
                let policy = missing[person.source ?? ""] ?? MissingPolicy()
                let first = person.missingSince ?? today
                extra = ["missing_since": .string(first.description), "source": JSONValue(person.source),
                         "action": .string(policy.action.rawValue)]
                extra["leave_on"] = policy.action == .leave ? .string(first.adding(days: policy.graceDays).description) : .null
                if person.missingSince == nil {
                    next.missingSince = today
                    kinds.append(.missing)
                }
                if policy.action == .leave && first.adding(days: policy.graceDays) <= today {
                    next.attributes.status = .terminated
                    next.lifecycle = .terminated
                    next.lifecycleSince = today
                    kinds += lifecycle.events(from: person.lifecycle, to: .terminated, hasAccount: !accounts.isEmpty, disputed: false)
                    extra["reason"] = .string("missing_from_hr")
                }
            }
            if views.contains(where: \.tracksState) {
                checkAccountStates(person: next, accounts: accounts, state: state, views: &views, index: index, clock: clock, plan: &plan)
            }
            guard next != person else { continue }
            plan.personUpserts.append(next)
            let record = HRRecord(employeeID: person.employeeID, attributes: next.attributes, origin: SourceLocation(source: "store", line: 0))
            let payload = EventPayload(record: record, accounts: accounts, lifecycle: next.lifecycle)
            for kind in kinds {
                var data = payload.json()
                if case .object(var fields) = data, !extra.isEmpty {
                    for (key, value) in extra where kind == .missing || key != "action" && key != "leave_on" { fields[key] = value }
                    data = .object(fields)
                }
                plan.events.append(EventDraft(kind: kind, subject: person.employeeID, data: data))
                plan.summary.count(kind)
            }
        }
    }
}
