import Foundation

/// What an operator asks for that changes the store: the same request whether the CLI applies it
/// itself (no daemon running) or sends it to the daemon's admin socket.
public enum AdminCommand: Sendable, Codable, Equatable {
    case reconcile(ReconcileRequest)
    case approve(run: Int64, reason: String?)
    case reject(run: Int64, reason: String?)
    case disable(id: String, reason: String)
    case enable(id: String, reason: String?)
    case link(id: String, directory: String, anchor: String)
    case conversion(id: String, former: String, convert: Bool)

    /// `rollcall reconcile`'s options.
    public struct ReconcileRequest: Sendable, Codable, Equatable {
        public var dryRun = false
        public var full = false
        public var identity: String?
        public var initial = false
        public var json = false
        /// Seconds to wait for a run in progress (the run lock).
        public var wait = 0

        public init(dryRun: Bool = false, full: Bool = false, identity: String? = nil, initial: Bool = false, json: Bool = false,
                    wait: Int = 0) {
            self.dryRun = dryRun
            self.full = full
            self.identity = identity
            self.initial = initial
            self.json = json
            self.wait = wait
        }
    }

    /// The command's name as an operator typed it (logs, the admin socket's audit).
    public var name: String {
        switch self {
        case .reconcile(let request): request.identity == nil ? "reconcile" : "reconcile --identity"
        case .approve: "approve"
        case .reject: "reject"
        case .disable: "disable"
        case .enable: "enable"
        case .link: "link"
        case .conversion(_, _, let convert): convert ? "link --converts" : "link --separate-from"
        }
    }
}

/// What a command printed and how it ended, as the CLI shows it.
public struct AdminReply: Sendable, Codable, Equatable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32

    public init(stdout: String = "", stderr: String = "", exitCode: Int32 = 0) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }

    /// Exit status of a run that could not take the run lock.
    public static let busyExitCode: Int32 = 75
}

/// How far a run has got: a phase starting or done, with what it read so far.
public struct RunProgress: Sendable, Codable, Equatable {
    /// read_hr, read_directory, load_state, read_groups, plan, apply, waiting
    public var phase: String
    /// The directory or HR source the phase is about, when there is one.
    public var place: String?
    /// Entries or records read so far.
    public var count: Int?
    public var seconds: Double
    public var done: Bool

    public init(phase: String, place: String? = nil, count: Int? = nil, seconds: Double, done: Bool) {
        self.phase = phase
        self.place = place
        self.count = count
        self.seconds = seconds
        self.done = done
    }

    /// One line for a log or a terminal: `read_directory corp: 45000 entries, 31000/s`.
    public var line: String {
        var text = phase + (place.map { " \($0)" } ?? "")
        if let count {
            let unit = phase == "read_hr" ? "records" : "entries"
            let rate = seconds > 0.05 ? ", \(Int(Double(count) / seconds))/s" : ""
            text += ": \(count) \(unit)\(rate)"
        }
        if done { text += String(format: " (%.1f s)", seconds) }
        return text
    }
}
