import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A program started in the background for a test (a daemon) by `Spawn`, its output in files,
/// signalled and reaped by its own pid.
public final class BackgroundProcess: Sendable {
    public let pid: pid_t
    public let outputPath: String
    public let errorPath: String
    private let exitStatus = Mutex<Int32?>(nil)

    public init(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-bg-\(UUID().uuidString)")
        outputPath = scratch.path + ".out"
        errorPath = scratch.path + ".err"
        pid = try Spawn.start(program, arguments, environment: environment, output: outputPath, error: errorPath)
    }

    deinit {
        if exitStatus.withLock({ $0 == nil }) {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    public func signal(_ signal: Int32) {
        exitStatus.withLock { status in if status == nil { kill(pid, signal) } }
    }

    /// The exit status (128 + signal when killed by one) once it has ended within `timeout`, else nil.
    @discardableResult
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let done = exitStatus.withLock { status -> Int32? in
                if let status { return status }
                var raw: Int32 = 0
                guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
                status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                return status
            }
            if let done { return done }
            if Date() > deadline { return nil }
            usleep(20_000)
        }
    }

    public var isRunning: Bool { wait(timeout: 0) == nil }
    public var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// The receiving end of systemd's notify protocol for a test: an AF_UNIX datagram socket.
public final class NotifySocket: Sendable {
    public let path: String
    private let descriptor: Int32

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("cannot create a datagram socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, byte) in bytes.enumerated() { raw[i] = byte } }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw FixtureError("cannot bind \(path)") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next message, or nil after `timeout` seconds.
    public func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Reads and drops whatever is queued (the kernel queues only a few datagrams: a test that
    /// paused reading would otherwise find newer messages dropped by a non-blocking sender).
    public func drain() {
        while receive(timeout: 0.05) != nil {}
    }

    /// Messages until one satisfies `until` (returned with all before it), or nil after `timeout`.
    public func messages(timeout: Double, until: (String) -> Bool) -> [String]? {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [String] = []
        while Date() < deadline {
            guard let message = receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { continue }
            seen.append(message)
            if until(message) { return seen }
        }
        return nil
    }
}

/// A secret file as Rollcall wants one: readable by its owner only (mode 0600).
public enum SecretFixture {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try data.write(to: URL(fileURLWithPath: path))
    }
}
