import Foundation
import Logging
import RollcallDaemon
import RollcallStore
import RollcallTestSupport

/// An Active Directory deployment for a test against a Samba AD DC, configured the way
/// etc/rollcall.yaml recommends: a non-admin bind (read-only, or the least-privilege delta account
/// where deltas need it) and the recommended filter, narrowed to the test users.
struct ADWorld {
    enum Account {
        case administrator
        /// Read rights only (no "Replicating Directory Changes").
        case readOnly
        /// "Replicating Directory Changes" and List Contents / Read Property on CN=Deleted Objects.
        case deltaSync
    }

    static let recommendedFilter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=u0000*))"

    let folder: URL
    let configuration: ResolvedConfiguration

    var csv: URL { folder.appendingPathComponent("hr.csv") }
    var job: ReconcileJob { ReconcileJob(configuration: configuration, logger: Logger(label: "test")) }
    func store() throws -> Store { try Store.open(path: configuration.storePath) }
    func writeHR(_ text: String) throws { try text.write(to: csv, atomically: true, encoding: .utf8) }

    /// - Parameters:
    ///   - directory: further keys of the directory, one `key: value` each.
    ///   - top: further top-level sections (entitlements, lifecycle …), as YAML.
    ///   - hr: the HR CSV, header included; `fields` maps its columns.
    static func make(_ dc: SambaFixture, account: Account = .readOnly, base: String = SambaFixture.people,
                     filter: String = recommendedFilter, directory: [String] = [], top: String = "",
                     fields: String = "{employee_id: id, status: status}", hr: String) throws -> ADWorld {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try hr.write(to: folder.appendingPathComponent("hr.csv"), atomically: true, encoding: .utf8)
        let (user, password) = switch account {
        case .administrator: (SambaFixture.adminUser, dc.adminPasswordFile)
        case .readOnly: (SambaFixture.syncUser, dc.syncPasswordFile)
        case .deltaSync: (SambaFixture.leastPrivilegeUser, dc.leastPrivilegePasswordFile)
        }
        let lines = [
            "store: {path: rollcall.sqlite}",
            "events: {source: \"urn:rollcall:ad\"}",
            "guard: {first_run: apply}  # the first run applies as planned (its hold is GuardRunTests' subject)",
            "directories:",
            "  - kind: active_directory",
            "    uri: \(dc.uri)",
            "    security: none",
            "    allow_insecure: true",
            "    bind_dn: \(user)",
            "    bind_password_file: \(password)",
            "    base_dn: \"\(base)\"",
            "    filter: \"\(filter)\"",
            "    correlation: {hr_field: employee_id, directory_attribute: employeeID}",
        ] + directory.map { "    " + $0 } + [
            top,
            "hr:",
            "  sources:",
            "    - path: hr.csv",
            "      fields: \(fields)",
        ]
        let file = folder.appendingPathComponent("rollcall.yaml")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return ADWorld(folder: folder, configuration: try ConfigurationLoader.load(path: file.path))
    }

    /// The HR CSV of E00001…E00009 (the Samba sample's u00001…u00009), all active unless listed.
    static func staff(terminated: Set<Int> = []) -> String {
        "id,status\n" + (1...9).map { String(format: "E%05d,%@\n", $0, terminated.contains($0) ? "Terminated" : "Active") }.joined()
    }
}
