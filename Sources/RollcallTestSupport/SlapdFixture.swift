import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A private slapd for one test: own temporary directory, cn=config loaded with slapadd, mdb with
/// syncprov, free high ports on 127.0.0.1, foreground mode, stopped by its pid. The set-up is
/// scripts/slapd-start, the same script the demo and the benchmark use.
public final class SlapdFixture: Sendable {
    public let directory: URL
    public let port: Int
    public let ldapsPort: Int
    private let currentPID: Mutex<Int32>
    /// The running slapd's pid (changes after `restart()`).
    public var pid: Int32 { currentPID.withLock { $0 } }
    public let suffix: String
    /// cn=rollcall under this instance's suffix (unlimited, read-only).
    public var syncBindDN: String { "cn=rollcall,\(suffix)" }

    public static let suffix = "dc=example,dc=test"
    public static let peopleBase = "ou=people,dc=example,dc=test"
    public static let syncDN = "cn=rollcall,dc=example,dc=test"
    public static let adminDN = "cn=admin,dc=example,dc=test"
    /// An account limited to 5 entries per search, paged or not.
    public static let limitedDN = "cn=limited,dc=example,dc=test"

    public var uri: String { "ldap://127.0.0.1:\(port)" }
    public var ldapsURI: String { "ldaps://127.0.0.1:\(ldapsPort)" }
    public var caFile: String { directory.appendingPathComponent("tls/ca.pem").path }
    /// ldapi:// URI of the instance's Unix socket.
    public var ldapiURI: String {
        "ldapi://" + directory.appendingPathComponent("ldapi").path.replacingOccurrences(of: "/", with: "%2F")
    }
    /// A client certificate signed by the instance's CA (SASL EXTERNAL identity cn=rollcall-client).
    public var clientCertificateFile: String { directory.appendingPathComponent("tls/client.pem").path }
    public var clientKeyFile: String { directory.appendingPathComponent("tls/client.key").path }
    /// Password file of cn=rollcall and cn=limited.
    public var syncPasswordFile: String { directory.appendingPathComponent("rollcall.pw").path }
    public var adminPasswordFile: String { directory.appendingPathComponent("admin.pw").path }

    /// Starts slapd with `ldif` (entries under dc=example,dc=test; ou=people exists already).
    ///
    /// `suffix`, `sizeLimit` (the frontend default; slapd's own is 500) and `dataHasRoot` (the LDIF
    /// brings its own suffix entry, e.g. OpenLDAP's test data) serve foreign test data.
    public static func start(ldif: String, suffix: String = "dc=example,dc=test", sizeLimit: Int = 2000,
                             dataHasRoot: Bool = false, tlsCiphers: String? = nil, lastBind: Bool = false) async throws -> SlapdFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-slapd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = directory.appendingPathComponent("data.ldif")
        try ldif.write(to: data, atomically: true, encoding: .utf8)
        var lastError = ""
        for _ in 0..<5 {
            let port = try freePort()
            let ldapsPort = try freePort()
            let result = try await Shell.run(RepositoryPaths.script("slapd-start"), [directory.path, "\(port)", "\(ldapsPort)", data.path],
                                       environment: ["ROLLCALL_SLAPD_SUFFIX": suffix, "ROLLCALL_SLAPD_SIZELIMIT": "\(sizeLimit)",
                                                     "ROLLCALL_SLAPD_DATA_HAS_ROOT": dataHasRoot ? "1" : "0",
                                                     "ROLLCALL_SLAPD_TLS_CIPHERS": tlsCiphers ?? "", "ROLLCALL_SLAPD_LASTBIND": lastBind ? "1" : "0"])
            if result.status == 0, let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return SlapdFixture(directory: directory, port: port, ldapsPort: ldapsPort, pid: pid, suffix: suffix)
            }
            lastError = result.error
        }
        throw FixtureError("slapd did not start: \(lastError)")
    }

    init(directory: URL, port: Int, ldapsPort: Int, pid: Int32, suffix: String) {
        self.suffix = suffix
        self.directory = directory
        self.port = port
        self.ldapsPort = ldapsPort
        self.currentPID = Mutex(pid)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops slapd (TERM, by pid).
    public func stop() {
        _ = try? Shell.runBlocking(RepositoryPaths.script("slapd-stop"), [directory.path])
    }

    /// Stops slapd and starts it again on the same data and ports: the syncprov session log is lost,
    /// as after any server restart.
    public func restart() async throws {
        stop()
        let result = try await Shell.run(RepositoryPaths.script("slapd-start"), [directory.path, "\(port)", "\(ldapsPort)"],
                                   environment: ["ROLLCALL_SLAPD_RESTART": "1"])
        guard result.status == 0, let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw FixtureError("slapd did not restart: \(result.error)")
        }
        currentPID.withLock { $0 = pid }
    }

    /// Kills slapd at once (SIGKILL), as a crashed or unreachable server.
    public func kill() {
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Applies an LDIF change as the rootdn with ldapmodify.
    public func modify(_ ldif: String) async throws {
        try await Shell.ldapmodify(ldif, uri: uri, bindDN: Self.adminDN, passwordFile: adminPasswordFile, scratch: directory)
    }

    /// A port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int {
        guard let port = Loopback.bind(address: "127.0.0.1", port: 0) else { throw FixtureError("could not find a free port") }
        return port
    }
}

/// A TCP port on 127.0.0.1 that refuses every connection while this value lives: bound but never
/// listening, so no server another test starts meanwhile can take it (a port that was merely free
/// a moment ago can be).
public final class RefusingPort: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        guard let (fd, port) = Loopback.boundSocket(address: "127.0.0.1", port: 0) else {
            throw FixtureError("could not bind a refusing port")
        }
        descriptor = fd
        self.port = port
    }

    deinit { close(descriptor) }
}

/// Loopback addresses and ports for test servers.
public enum Loopback {
    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int? { bind(address: "127.0.0.1", port: 0) }

    /// Binds a TCP socket to `address`:`port` (0: any port) and closes it again; the port that was
    /// bound, or nil when it is taken.
    static func bind(address: String, port: UInt16) -> Int? {
        guard let (fd, bound) = boundSocket(address: address, port: port) else { return nil }
        close(fd)
        return bound
    }

    /// A TCP socket bound to `address`:`port` (0: any port), not listening, and the port it has.
    static func boundSocket(address: String, port: UInt16) -> (descriptor: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(address)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: socketAddress.sin_port)))
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Paths inside this repository, found from this file's location.
public enum RepositoryPaths {
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static func script(_ name: String) -> String {
        root.appendingPathComponent("scripts/\(name)").path
    }

    /// ../shared/testdata/external/NAME when it exists next to the repository.
    public static func externalTestData(_ name: String) -> URL? {
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/testdata/external/\(name)")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}

/// Starts test children: standard input from /dev/null, output and errors into files, an empty
/// signal mask and default handlers (threads of the test process block signals; a child that
/// inherited that mask, slapd for one, would never see SIGTERM).
public enum Spawn {
    public static func start(_ program: String, _ arguments: [String], environment: [String: String],
                             output: String, error: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, error, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGABRT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw FixtureError("cannot run \(program): error \(spawned)") }
        return pid
    }
}

/// Runs a program and collects its output. posix_spawn and waitpid directly: Foundation's
/// Process can hang in waitUntilExit on Linux when many tests spawn at once.
public enum Shell {
    /// Applies an LDIF change with ldapmodify (simple bind, password from a file).
    public static func ldapmodify(_ ldif: String, uri: String, bindDN: String, passwordFile: String, scratch: URL) async throws {
        let file = scratch.appendingPathComponent("change-\(UUID().uuidString).ldif")
        try ldif.write(to: file, atomically: true, encoding: .utf8)
        let result = try await run("/usr/bin/ldapmodify", ["-x", "-H", uri, "-D", bindDN, "-y", passwordFile, "-f", file.path])
        guard result.status == 0 else { throw FixtureError("ldapmodify failed: \(result.error)") }
    }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    /// Runs the program on a thread of its own, so the waiting never blocks Swift's cooperative
    /// pool (on 2 cores, a blocked pool delays every other test's async work by seconds).
    /// - Parameter killAfter: send SIGKILL after this many seconds if it is still running (the
    ///   crash tests); the result's status is then 137.
    public static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                           killAfter: Double? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(program, arguments, environment: environment, killAfter: killAfter) })
            }
        }
    }

    /// The same, blocking the calling thread (for deinit and other synchronous places).
    public static func runBlocking(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                                   killAfter: Double? = nil) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-shell-\(UUID().uuidString)")
        let outPath = scratch.path + ".out"
        let errPath = scratch.path + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        let pid = try Spawn.start(program, arguments, environment: environment, output: outPath, error: errPath)
        let reaped = Mutex(false)
        if let killAfter {
            let child = pid
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: killAfter)
                // Only while the child is not reaped: its pid cannot have been reused yet.
                reaped.withLock { done in if !done { kill(child, SIGKILL) } }
            }
        }
        var status: Int32 = 0
        while true {
            // WNOHANG polling while a kill may come, so the reaped flag is set under the lock.
            let waited = reaped.withLock { done -> pid_t in
                let result = waitpid(pid, &status, killAfter == nil ? 0 : WNOHANG)
                if result == pid { done = true }
                return result
            }
            if waited == pid { break }
            if waited < 0 {
                guard errno == EINTR else { throw FixtureError("waitpid failed for \(program)") }
                continue
            }
            usleep(2_000)
        }
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: exit, output: output, error: error)
    }
}
