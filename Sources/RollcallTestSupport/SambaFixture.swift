import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private Samba AD DC for one test: real Active Directory LDAP on 389 at a loopback address of
/// its own (127.0.0.N), restored from a cached, populated provisioning (scripts/samba-start),
/// stopped by its pid.
public final class SambaFixture: Sendable {
    public let directory: URL
    public let address: String

    public static let base = "DC=example,DC=test"
    public static let people = "OU=People,DC=example,DC=test"
    public static let groups = "OU=Groups,DC=example,DC=test"
    /// A non-admin account without "Replicating Directory Changes".
    public static let syncUser = "rollcall@example.test"
    public static let adminUser = "Administrator@example.test"
    /// The least-privilege delta account the documentation recommends: "Replicating Directory
    /// Changes" on the domain, List Contents and Read Property on CN=Deleted Objects.
    public static let leastPrivilegeUser = "rollcall-sync@example.test"

    public var uri: String { "ldap://\(address)" }
    public var syncPasswordFile: String { directory.appendingPathComponent("rollcall.pw").path }
    public var adminPasswordFile: String { directory.appendingPathComponent("admin.pw").path }
    public var leastPrivilegePasswordFile: String { directory.appendingPathComponent("rollcall-sync.pw").path }

    public static func start() async throws -> SambaFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-samba-\(UUID().uuidString)")
        var lastError = ""
        for _ in 0..<5 {
            let address = try freeLoopbackAddress()
            let result = try await Shell.run(RepositoryPaths.script("samba-start"), [directory.path, address])
            if result.status == 0 {
                return SambaFixture(directory: directory, address: address)
            }
            lastError = result.error
        }
        throw FixtureError("samba did not start: \(lastError)")
    }

    init(directory: URL, address: String) {
        self.directory = directory
        self.address = address
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func stop() {
        _ = try? Shell.runBlocking(RepositoryPaths.script("samba-stop"), [directory.path])
    }

    /// Applies an LDIF change as Administrator with ldapmodify.
    public func modify(_ ldif: String) async throws {
        try await Shell.ldapmodify(ldif, uri: uri, bindDN: Self.adminUser, passwordFile: adminPasswordFile, scratch: directory)
    }

    /// A 127.0.0.N (N in 10…250) whose port 389 is free.
    static func freeLoopbackAddress() throws -> String {
        for _ in 0..<50 {
            let candidate = "127.0.0.\(Int.random(in: 10...250))"
            if Loopback.bind(address: candidate, port: 389) != nil { return candidate }
        }
        throw FixtureError("no free loopback address for port 389")
    }
}
