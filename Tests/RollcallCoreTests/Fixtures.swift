import RollcallCore

/// Small builders so each table row reads as the situation it describes.
enum F {
    static let today = Day(year: 2026, month: 3, day: 15) ?? Day(epochSeconds: 0)

    static func day(_ text: String) -> Day? { Day(iso: text) }

    /// The directory of the single-directory tables.
    static let directory = "ldap"

    static func person(_ id: String, department: String? = "Sales", title: String? = "Analyst", manager: String? = nil,
                       status: EmploymentStatus = .active, end: String? = nil, email: String? = nil,
                       given: String = "Ada") -> HRRecord {
        HRRecord(employeeID: id,
                 attributes: PersonAttributes(givenName: given, familyName: "Lovelace", email: email ?? "\(id.lowercased())@example.test",
                                              department: department, title: title, managerID: manager, status: status,
                                              terminationDate: end.flatMap(day)),
                 origin: SourceLocation(source: "hr.csv", line: 2))
    }

    static func account(_ anchor: String, key: String?, dn: String? = nil) -> DirectoryAccount {
        DirectoryAccount(anchor: anchor, dn: dn ?? "uid=\(anchor),ou=people,dc=example,dc=test", correlationValue: key)
    }

    /// The state after planning and applying `records`/`accounts` once.
    static func settled(_ records: [HRRecord], _ accounts: [DirectoryAccount], key: CorrelationKey = .employeeID,
                        today: Day = F.today) throws -> StoredState {
        let plan = try Reconciler().plan(records: records, accounts: accounts, key: key, state: StoredState(), today: today)
        return StoredState().applying(plan)
    }

    static func kinds(_ plan: Plan) -> [String] {
        plan.events.map { "\($0.kind.rawValue) \($0.subject)" }
    }
}

extension Reconciler {
    /// Most tables need one directory: `accounts` are the read of directory `F.directory`.
    func plan(records: [HRRecord], accounts: [DirectoryAccount], key: CorrelationKey = .employeeID, state: StoredState,
              today: Day, entitlements: EntitlementInput? = nil) throws -> Plan {
        try plan(records: records, directories: [DirectoryInput(name: F.directory, key: key, accounts: accounts)],
                 state: state, today: today, entitlements: entitlements)
    }
}

extension DirectoryInput {
    /// One rule comparing `key` with the accounts' `correlationValue`.
    init(name: String, key: CorrelationKey, accounts: [DirectoryAccount]) {
        self.init(name: name, rules: [CorrelationRule(hrField: key, attribute: "correlation")], accounts: accounts)
    }
}
