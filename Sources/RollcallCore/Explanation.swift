import Foundation

/// `rollcall explain ID`: one person traced through a plan — the HR record read (and where), what
/// is stored, each directory's situation and the rule that decided it, the lifecycle state and
/// why, HR-owned attributes against the directory, desired against held groups, and the events
/// the plan holds for them. Pure: it reads the same inputs the plan was made from.
public enum Explanation {
    public static func of(_ requested: String, records: [HRRecord], directories: [DirectoryInput], state: StoredState,
                          plan: Plan, entitlements: EntitlementInput?, policy: LifecyclePolicy, today: Day) -> JSONValue? {
        let employeeID = plan.personRenames.first { $0.from == requested }?.to ?? state.formerIDs[requested] ?? requested
        let record = records.first { $0.employeeID == employeeID }
        let stored = state.persons[employeeID]
        guard record != nil || stored != nil else { return nil }
        let lifecycle = Lifecycle(policy: policy)
        var out: [String: JSONValue] = ["hr_id": .string(employeeID), "today": .string(today.description)]
        if requested != employeeID { out["requested_as"] = .string(requested) }

        if let record {
            out["hr"] = .object(["source": .string(record.origin.description), "person": personJSON(record.attributes)])
        } else if let missing = plan.personUpserts.first(where: { $0.employeeID == employeeID })?.missingSince ?? stored?.missingSince {
            out["hr"] = .string("not in this HR read: missing since \(missing) (the source's on_missing decides what follows; a known termination keeps its calendar)")
        } else {
            out["hr"] = .string("not in this HR read")
        }
        if let stored {
            out["stored"] = .object(["lifecycle": .string(stored.lifecycle.rawValue), "since": JSONValue(stored.lifecycleSince?.description),
                                     "person": personJSON(stored.attributes)])
        }
        if let hold = state.holds[employeeID] ?? plan.holdUpserts.first(where: { $0.employeeID == employeeID }) {
            out["hold"] = .object(["reason": .string(hold.reason), "by": .string(hold.by), "since": .string(hold.since),
                                   "effect": "no joiner, start, resume, rehire or grant until rollcall enable"])
        }

        // Lifecycle: the state this plan gives, and why.
        let planned = plan.personUpserts.first { $0.employeeID == employeeID } ?? stored
        if let record {
            let (next, since) = lifecycle.state(of: record.attributes, on: today, stored: stored)
            out["lifecycle"] = .object(["before": JSONValue(stored?.lifecycle.rawValue), "after": .string(next.rawValue),
                                        "since": .string(since.description), "why": .string(reason(record.attributes, state: next, policy: policy, today: today))])
        } else if plan.personPurges.contains(where: { $0.employeeID == employeeID }) {
            out["lifecycle"] = .object(["before": JSONValue(stored?.lifecycle.rawValue), "after": "purged",
                                        "why": .string("deprovisioned and past lifecycle.purge_after_days (\(policy.purgeAfterDays ?? 0))")])
        } else if let planned {
            out["lifecycle"] = .object(["before": JSONValue(stored?.lifecycle.rawValue), "after": .string(planned.lifecycle.rawValue),
                                        "why": planned == stored ? "not in this HR read: nothing changes today"
                                            : "not in this HR read: the stored termination's calendar, or on_missing: leave after its grace"])
        }

        // Each directory's situation.
        var situations: [JSONValue] = []
        var accountIn: [String: DirectoryAccount] = [:]
        for directory in directories.sorted(by: { $0.name < $1.name }) {
            var entry: [String: JSONValue] = ["directory": .string(directory.name)]
            let byAnchor = Dictionary(directory.accounts.map { ($0.anchor, $0) }, uniquingKeysWith: { first, _ in first })
            let storedLink = state.links.first { $0.employeeID == employeeID && $0.directory == directory.name }
            let newLink = plan.linkUpserts.first { $0.employeeID == employeeID && $0.directory == directory.name }
            let linkedEvent = plan.events.first { ($0.kind == .linked || $0.kind == .relinked) && $0.subject == employeeID
                && $0.data["account"]?["directory"] == .string(directory.name) }
            if let newLink, let account = byAnchor[newLink.anchor] {
                accountIn[directory.name] = account
                entry["situation"] = .string(storedLink == nil ? "unlinked: found now and linked" : "relinked: the stored account is gone, this one replaces it")
                entry["account"] = EventPayload.accountRef(directory.name, account.anchor, account.dn)
                entry["matched_by"] = linkedEvent?.data["matched_by"] ?? .null
            } else if let storedLink, let account = byAnchor[storedLink.anchor] {
                accountIn[directory.name] = account
                entry["situation"] = "linked: the stored link's account is there"
                entry["account"] = EventPayload.accountRef(directory.name, account.anchor, account.dn)
            } else if let proposal = plan.proposalUpserts.first(where: { $0.employeeID == employeeID && $0.directory == directory.name })
                        .map(\.anchor) ?? state.proposals[employeeID]?[directory.name] {
                entry["situation"] = "proposed: a rule found an account; on_unlinked is report, so it waits for rollcall link"
                entry["anchor"] = .string(proposal)
            } else if let dispute = plan.ambiguities.first(where: { $0.employeeID == employeeID && $0.directory == directory.name }) {
                entry["situation"] = "disputed: several candidates, or the account is claimed by several persons; nothing is done automatically"
                entry["anchors"] = .array(dispute.anchors.map(JSONValue.string))
            } else if storedLink != nil {
                entry["situation"] = "linked account gone from this read: the link is dropped (account.removed)"
            } else {
                entry["situation"] = .string(directory.unmatchedAction == .joiner
                    ? "unmatched: no account found; this directory provisions (on_unmatched: joiner)"
                    : "unmatched: no account found; this directory does not ask for one (on_unmatched: ignore)")
            }
            entry["rules"] = .array(directory.rules.map { rule in
                .object(["rule": .string(rule.description), "hr_value": JSONValue(record.flatMap { rule.hrField.value(of: $0) })])
            })
            // HR-owned attributes against the directory's values.
            if let account = accountIn[directory.name], !directory.hrOwned.isEmpty, let record {
                let values = DriftPlanner.decode(account.attributesJSON)
                entry["hr_owned"] = .array(directory.hrOwned.map { owned in
                    .object(["attribute": .string(owned.attribute.rawValue), "directory_attribute": .string(owned.directoryAttribute),
                             "hr": JSONValue(owned.attribute.value(of: record.attributes)),
                             "directory": JSONValue(values.first { $0.key.lowercased() == owned.directoryAttribute.lowercased() }?.value.first)])
                })
            }
            // The account's state as read, and since when.
            if let account = accountIn[directory.name], let enabled = account.enabled {
                let previous = state.accounts[directory.name]?[account.anchor]
                let since = previous?.enabled == enabled ? previous?.enabledSince ?? today : today
                entry["enabled"] = .bool(enabled)
                entry["state_since"] = .string(since.description)
                if let notice = plan.accountUpserts.first(where: { $0.directory == directory.name && $0.anchor == account.anchor })?.stateNotice
                    ?? previous?.stateNotice {
                    entry["state_notice"] = .string(notice.rawValue)
                }
            }
            situations.append(.object(entry))
        }
        out["directories"] = .array(situations)

        // Entitlements: what the rules want against what the account holds.
        if let entitlements, let record {
            let policy = entitlements.policy
            let entitled = (planned?.lifecycle.isEmployed ?? false) && state.holds[employeeID] == nil
            var desired: [JSONValue] = []
            for rule in policy.birthright where entitled && rule.condition.matches(record.attributes) {
                desired.append(.object(["group": .string(rule.group), "rule": .string(rule.name)]))
            }
            var held: [JSONValue] = []
            if let account = accountIn[policy.directory] {
                let dn = account.dn.lowercased()
                let effective = GroupExpansion.effectiveMembers(entitlements.groups)
                for group in entitlements.groups.sorted(by: { $0.dn < $1.dn }) where effective[group.dn.lowercased()]?.contains(dn) == true {
                    let direct = group.members.contains { $0.lowercased() == dn }
                    held.append(.object(["group": .string(group.dn), "direct": .bool(direct)]))
                }
            }
            out["entitlements"] = .object(["directory": .string(policy.directory), "desired": .array(desired), "held": .array(held),
                                           "entitled": .bool(entitled)])
        }

        out["events"] = .array(plan.restricted(to: employeeID, state: state).events.map { event in
            .object(["type": .string(event.kind.cloudEventType), "subject": .string(event.subject), "data": event.data])
        })
        return .object(out)
    }

    /// Why HR data puts a person in `state` today.
    static func reason(_ a: PersonAttributes, state: LifecycleState, policy: LifecyclePolicy, today: Day) -> String {
        switch state {
        case .pending:
            return "the start date \(a.hireDate?.description ?? "?") is more than prehire_days (\(policy.prehireDays)) away"
        case .prehire:
            return "the start date \(a.hireDate?.description ?? "?") is within prehire_days (\(policy.prehireDays))"
        case .active:
            return "HR status \(a.status.rawValue), started\(a.hireDate.map { " \($0)" } ?? ""), no termination reached"
        case .suspended:
            return "HR status suspended (leave of absence)"
        case .terminated, .deprovisioned:
            let how = a.status == .terminated ? "HR status terminated" : "termination date \(a.terminationDate?.description ?? "?") reached"
            if state == .terminated {
                return "\(how); accounts are disabled, deleted deprovision_after_days (\(policy.deprovisionAfterDays)) after the termination"
            }
            return "\(how), and deprovision_after_days (\(policy.deprovisionAfterDays)) have passed: accounts are to be deleted"
        }
    }

    static func personJSON(_ a: PersonAttributes) -> JSONValue {
        .object([
            "given_name": JSONValue(a.givenName), "family_name": JSONValue(a.familyName), "email": JSONValue(a.email),
            "department": JSONValue(a.department), "title": JSONValue(a.title), "manager_id": JSONValue(a.managerID),
            "employee_type": JSONValue(a.employeeType), "location": JSONValue(a.location), "status": .string(a.status.rawValue),
            "hire_date": JSONValue(a.hireDate?.description), "termination_date": JSONValue(a.terminationDate?.description),
        ])
    }
}
