import COpenLDAP
import Dispatch
import Foundation
import Synchronization

/// A deadline for a libldap call that has none of its own (`ldap_sync_init_refresh_only` waits for
/// the server for ever, whatever LDAP_OPT_TIMEOUT says): when nothing arrives for `idleSeconds`,
/// the connection's socket is shut down from outside, which ends the blocked call with an error.
/// The connection is unusable afterwards; the caller reports the deadline and drops it.
final class OperationWatchdog: Sendable {
    private let descriptor: Int32
    private let idle: Duration
    private let state = Mutex<(last: ContinuousClock.Instant, fired: Bool, stopped: Bool)>((.now, false, false))
    init?(ld: OpaquePointer, idleSeconds: Int) {
        var fd: Int32 = -1
        guard ldap_get_option(ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS, fd >= 0 else { return nil }
        descriptor = fd
        idle = .seconds(idleSeconds)
        tick()
    }

    /// Checks every half second on a dispatch queue (not the cooperative pool, which blocking
    /// work can keep busy) until stopped.
    private func tick() {
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { [weak self] in
            guard let self, !self.state.withLock({ $0.stopped }) else { return }
            self.check()
            self.tick()
        }
    }

    /// Something arrived: the deadline starts again.
    func progress() {
        state.withLock { $0.last = .now }
    }

    /// Whether the deadline passed (and the socket was shut down).
    var fired: Bool { state.withLock { $0.fired } }

    /// After this returns the socket is never touched again (it may be closed and its number reused).
    func stop() {
        state.withLock { $0.stopped = true }
    }

    private func check() {
        // Decided and done under the lock: `stop` cannot return between the decision and the shutdown.
        state.withLock { state in
            guard !state.fired, !state.stopped, ContinuousClock.now - state.last > idle else { return }
            state.fired = true
            shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }

}

extension LDAPConnection {
    /// TCP keepalive on the connection's socket: a directory that vanished without closing (a
    /// dropped route, a dead firewall state) is noticed in about two minutes, not hours.
    static func enableKeepalive(_ ld: OpaquePointer) {
        var fd: Int32 = -1
        guard ldap_get_option(ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS, fd >= 0 else { return }
        var family = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let isTCP = withUnsafeMutablePointer(to: &family) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        } && (Int32(family.ss_family) == AF_INET || Int32(family.ss_family) == AF_INET6)
        guard isTCP else { return }
        var on: Int32 = 1, idle: Int32 = 60, interval: Int32 = 10, count: Int32 = 6
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
    }

    /// The connection's socket options as the kernel has them (for tests): SO_KEEPALIVE and TCP_KEEPIDLE.
    public func keepalive() async throws -> (enabled: Bool, idleSeconds: Int) {
        try await perform { connection in
            let ld = try connection.requireHandle(step: .search)
            var fd: Int32 = -1
            guard ldap_get_option(ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS else { return (false, 0) }
            var on: Int32 = 0, idle: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &size)
            size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, &size)
            return (on != 0, Int(idle))
        }
    }
}
