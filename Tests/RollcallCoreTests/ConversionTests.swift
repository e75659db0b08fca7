import RollcallCore
import Testing

/// A worker continuing under a new HR id, found by e-mail: one identity, not a leaver and a joiner.
@Suite struct ConversionTests {
    static func person(_ id: String, email: String = "ada@example.test", type: String, status: EmploymentStatus = .active) -> HRRecord {
        HRRecord(employeeID: id, attributes: PersonAttributes(givenName: "Ada", familyName: "L", email: email, department: "Sales",
                                                             employeeType: type, status: status),
                 origin: SourceLocation(source: "hr", line: 2))
    }

    static let reconciler = Reconciler(conversionKey: .email)

    static func contractorSettled() throws -> StoredState {
        let plan = try reconciler.plan(records: [person("C1", type: "contractor")], accounts: [F.account("a1", key: "C1")],
                                       state: StoredState(), today: F.today)
        return StoredState().applying(plan)
    }

    @Test(arguments: [false, true])
    func aContractorHiredAsAnEmployeeIsConverted(contractorRecordStays: Bool) throws {
        let state = try Self.contractorSettled()
        var records = [Self.person("E1", email: "Ada@Example.test", type: "employee")]
        if contractorRecordStays { records.append(Self.person("C1", type: "contractor", status: .terminated)) }
        let plan = try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        // The e-mail's case changed too: an update besides the mover.
        #expect(F.kinds(plan) == ["identity.converted E1", "identity.mover E1", "identity.updated E1"])
        #expect(plan.personRenames == [PersonRename(from: "C1", to: "E1")])
        let converted = try #require(plan.events.first)
        #expect(converted.data["previous_hr_id"] == .string("C1"))
        #expect(converted.data["accounts"] == .array([.object(["directory": "ldap", "anchor": "a1", "dn": "uid=a1,ou=people,dc=example,dc=test"])]))
        #expect(plan.events.first { $0.kind == .mover }?.data["changes"] == .array([.object(["attribute": "employee_type", "before": "contractor", "after": "employee"])]))
        let after = state.applying(plan)
        #expect(Set(after.persons.keys) == ["E1"])
        #expect(after.formerIDs == ["C1": "E1"])
        #expect(after.links == [Link(employeeID: "E1", directory: "ldap", anchor: "a1")])
        #expect(try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: after, today: F.today).isEmpty)
    }

    @Test func twoNewIDsWithTheSameEMailConvertNothing() throws {
        let state = try Self.contractorSettled()
        let plan = try Self.reconciler.plan(records: [Self.person("E1", type: "employee"), Self.person("E2", type: "employee")],
                                            accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(plan.personRenames.isEmpty)
        // The contractor's record is gone (and converted nobody): missing from HR.
        #expect(F.kinds(plan) == ["identity.missing C1", "identity.joiner E1", "identity.joiner E2"])
    }

    @Test func anOldIDStillActiveIsNotConverted() throws {
        let state = try Self.contractorSettled()
        let plan = try Self.reconciler.plan(records: [Self.person("C1", type: "contractor"), Self.person("E1", type: "employee")],
                                            accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(plan.personRenames.isEmpty)
        #expect(F.kinds(plan) == ["identity.joiner E1"])
    }

    @Test func withoutAConversionKeyItIsALeaverAndAJoiner() throws {
        let state = try Self.contractorSettled()
        let plan = try Reconciler().plan(records: [Self.person("C1", type: "contractor", status: .terminated), Self.person("E1", type: "employee")],
                                         accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(F.kinds(plan) == ["identity.leaver C1", "identity.joiner E1"])
    }

    static func employee(_ id: String, family: String = "L", email: String = "ada@example.test") -> HRRecord {
        var record = person(id, email: email, type: "employee")
        record.attributes.familyName = family
        return record
    }

    /// The contractor ended (terminated in HR, still listed) on `day`.
    static func contractorEnded(on day: String) throws -> StoredState {
        let state = try contractorSettled()
        let plan = try reconciler.plan(records: [person("C1", type: "contractor", status: .terminated)], accounts: [F.account("a1", key: "C1")],
                                       state: state, today: try #require(F.day(day)))
        return state.applying(plan)
    }

    /// A new Jane Doe given a leaver's recycled address long after: a new person, not the old one.
    @Test func aRecycledAddressAfterTheWindowIsAJoiner() throws {
        let state = try Self.contractorEnded(on: "2024-01-10")
        #expect(state.persons["C1"]?.lifecycle == .terminated)
        let plan = try Self.reconciler.plan(records: [Self.person("C1", type: "contractor", status: .terminated), Self.employee("E1")],
                                            accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(plan.personRenames.isEmpty)
        #expect(F.kinds(plan).contains("identity.joiner E1"))
        #expect(!F.kinds(plan).contains { $0.hasPrefix("identity.converted") })
        // Inside the window (30 days by default) the same pair converts.
        let recent = try Self.contractorEnded(on: "2026-03-01")
        let converting = try Self.reconciler.plan(records: [Self.person("C1", type: "contractor", status: .terminated), Self.employee("E1")],
                                                  accounts: [F.account("a1", key: "C1")], state: recent, today: F.today)
        #expect(converting.personRenames == [PersonRename(from: "C1", to: "E1")])
    }

    @Test func aDeprovisionedPersonIsNeverContinued() throws {
        let reconciler = Reconciler(policy: LifecyclePolicy(deprovisionAfterDays: 0), conversion: ConversionPolicy(key: .email, windowDays: 3650))
        var state = try Self.contractorSettled()
        state = state.applying(try reconciler.plan(records: [Self.person("C1", type: "contractor", status: .terminated)],
                                                   accounts: [F.account("a1", key: "C1")], state: state, today: F.today))
        #expect(state.persons["C1"]?.lifecycle == .deprovisioned)
        let plan = try reconciler.plan(records: [Self.employee("E1")], accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(plan.personRenames.isEmpty)
        #expect(F.kinds(plan) == ["identity.joiner E1"])
    }

    /// Inside the window with a different family name: proposed, held (no joiner), once; the
    /// operator decides either way.
    @Test func aPairThatDoesNotConfirmIsProposedUntilAnOperatorDecides() throws {
        let state = try Self.contractorSettled()
        let records = [Self.employee("E1", family: "Doe")]
        let plan = try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: state, today: F.today)
        #expect(plan.personRenames.isEmpty)
        #expect(F.kinds(plan) == ["identity.missing C1", "correlation.proposed E1"])
        let proposal = try #require(plan.events.last)
        #expect(proposal.data["kind"] == "conversion")
        #expect(proposal.data["previous_hr_id"] == "C1")
        #expect(proposal.data["disagreeing"] == .array(["family_name"]))
        #expect(proposal.data["confirm"] == "rollcall link E1 --converts C1")
        #expect(plan.personUpserts.allSatisfy { $0.employeeID != "E1" })
        let proposed = state.applying(plan)
        #expect(try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: proposed, today: F.today).isEmpty)

        // Confirmed: the next run converts, and the proposal is forgotten.
        let decided = proposed.applying(try Conversion.decide(employeeID: "E1", formerID: "C1", convert: true, state: proposed))
        let converted = try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: decided, today: F.today)
        #expect(converted.personRenames == [PersonRename(from: "C1", to: "E1")])
        #expect(F.kinds(converted).first == "identity.converted E1")
        #expect(converted.proposalRemovals.map(\.employeeID) == ["E1"])
        let after = decided.applying(converted)
        #expect(try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: after, today: F.today).isEmpty)

        // Declined: a new person.
        let separate = proposed.applying(try Conversion.decide(employeeID: "E1", formerID: "C1", convert: false, state: proposed))
        let joined = try Self.reconciler.plan(records: records, accounts: [F.account("a1", key: "C1")], state: separate, today: F.today)
        #expect(joined.personRenames.isEmpty)
        #expect(F.kinds(joined) == ["identity.joiner E1"])
        #expect(throws: ReconcileRefusal.self) { try Conversion.decide(employeeID: "C1", formerID: "E1", convert: true, state: proposed) }
    }
}
