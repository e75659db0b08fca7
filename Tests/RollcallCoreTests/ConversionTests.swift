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
        #expect(F.kinds(plan) == ["identity.joiner E1", "identity.joiner E2"])
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
}
