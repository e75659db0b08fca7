import Foundation
import RollcallDaemon
import RollcallStore
import RollcallTestSupport
import Testing

/// Admins beside the daemon: the CLI's commands go through its admin socket when it runs, the
/// kernel names the caller (SO_PEERCRED), and they go straight to the store when it does not.
@Suite struct AdminSocketTests {
    /// Runs the CLI as `user`:`group` (numbers or names), through setpriv, as a real admin would.
    static func rollcall(as user: String, group: String, _ arguments: [String]) async throws -> Shell.Result {
        try await Shell.run("/usr/bin/setpriv", ["--reuid=\(user)", "--regid=\(group)", "--clear-groups", CLITests.binary] + arguments)
    }

    @Test func commandsGoThroughTheRunningDaemonUnderTheCallersName() async throws {
        let world = try await ReconcileJobTests.world(people: 2, rows: (1...3).map { ReconcileJobTests.row($0) }.joined())
        let config = world.directory.appendingPathComponent("rollcall.yaml").path
        let socket = world.directory.appendingPathComponent("admin.sock").path
        let notify = try NotifySocket()
        // The socket's group is nogroup; nobody is allowed by name, the group itself is not.
        let (daemon, _) = try ServeTests.startAfterFirstRun(world, notify: notify, serve: """
            admin: {socket: \(socket), group: nogroup, groups: [], users: [nobody]}
            """)
        defer { daemon.signal(SIGKILL); daemon.wait(timeout: 5) }

        // The socket: a socket file, mode 0660, group nogroup.
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect(attributes[.type] as? FileAttributeType == .typeSocket)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o660)
        #expect((attributes[.groupOwnerAccountID] as? NSNumber)?.intValue == 65534)

        let status = try await Shell.run(CLITests.binary, ["status", "--config", config])
        #expect(status.output.contains("admin socket: \(socket) (commands go through the daemon)"), "\(status.output)")

        // root: a manual reconcile through the daemon, its progress streamed back, recorded as root's.
        try world.writeHR((1...4).map { ReconcileJobTests.row($0) }.joined())
        let manual = try await Shell.run(CLITests.binary, ["reconcile", "--config", config])
        #expect(manual.status == 0, "\(manual.error)")
        #expect(manual.output.contains("via: the running daemon (pid \(daemon.pid)"), "\(manual.output)")
        #expect(manual.output.contains("joiners            1"), "\(manual.output)")
        #expect(manual.error.contains("progress: read_hr: 4 records"), "\(manual.error)")
        #expect(manual.error.contains("progress: read_directory: 2 entries"), "\(manual.error)")
        var audit: [String] = []
        try world.store().exportAudit { audit.append("\($0.actor)|\($0.action)") }
        #expect(audit.contains("root (uid 0) via the admin socket|admin.reconcile"), "\(audit)")
        #expect(audit.contains("root (uid 0) via the admin socket|person.applied"))

        // nobody, allowed by name: the emergency stop through the daemon, under the kernel's name
        // for the caller whatever $SUDO_USER or $USER claim.
        let stop = try await Shell.run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", CLITests.binary,
                                                            "disable", "E1", "--reason", "phished", "--config", config],
                                       environment: ["SUDO_USER": "alice", "USER": "alice"])
        #expect(stop.status == 0, "\(stop.error)")
        #expect(stop.output.contains("E1 disabled") && stop.output.contains("via: the running daemon"), "\(stop.output)")
        let disabled = try #require(try world.store().events().last)
        #expect(disabled.type == "dev.rollcall.identity.disabled" && disabled.data["by"] == .string("nobody (uid 65534) via the admin socket"))

        // uid 65533 in group nogroup gets through the socket's mode, but not past SO_PEERCRED.
        let stranger = try await Self.rollcall(as: "65533", group: "nogroup", ["enable", "E1", "--config", config])
        #expect(stranger.status != 0)
        #expect(stranger.error.contains("uid 65533 may not use the admin socket"), "\(stranger.error)")
        // uid 65533 in its own group does not get through the socket's mode at all, and is told why.
        let outsider = try await Self.rollcall(as: "65533", group: "65533", ["enable", "E1", "--config", config])
        #expect(outsider.status != 0)
        #expect(outsider.error.contains("does not let this user in"), "\(outsider.error)")
        #expect(try world.store().events().last?.type == "dev.rollcall.identity.disabled")
        var refused = false
        for _ in 0..<50 where !refused {
            refused = daemon.errorOutput.contains("admin socket: request refused")
            if !refused { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(refused, "the refusal is logged")

        // No daemon: the same command goes straight to the store, and says so.
        notify.drain()
        daemon.signal(SIGTERM)
        #expect(daemon.wait(timeout: 30) == 0, "\(daemon.errorOutput.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: socket))
        let direct = try await Shell.run(CLITests.binary, ["enable", "E1", "--reason", "cleared", "--config", config])
        #expect(direct.status == 0, "\(direct.error)")
        #expect(direct.output.contains("via: this process (no daemon: \(socket) does not exist)"), "\(direct.output)")
        #expect(try world.store().events().last?.type == "dev.rollcall.identity.enabled")
    }
}
