import Foundation
import RollcallCore
import RollcallDirectory
import RollcallHR
import RollcallStore
import Yams

/// The configuration after checking: everything a run needs, with paths made absolute.
public struct ResolvedConfiguration: Sendable {
    public var file: String
    /// Webhook subscriptions (`webhooks:`), names unique.
    public var webhooks: [WebhookSettings] = []
    public var storePath: String
    public var eventSource: String
    /// In the order of the file; names are unique.
    public var directories: [ResolvedDirectory]
    /// In order of precedence; names are unique.
    public var hrSources: [HRSourceSettings]
    public var lifecycle: LifecyclePolicy
    /// With `lifecycle.purge_after_days`: the key of the tombstones' pseudonyms, read each run.
    public var tombstoneKeyFile: String?
    public var guardPolicy: GuardPolicy
    /// See `Reconciler.conversion`.
    public var conversion: ConversionPolicy?
    /// `hr.sources[].on_missing` and `missing_grace_days`, by source name.
    public var missing: [String: MissingPolicy] = [:]
    /// `lifecycle.disable_within_hours`.
    public var disableWithinHours = 24
    /// `serve:`: the daemon's listener and schedule.
    public var serve = ServeSettings()
    /// `lifecycle.time_zone`: "today" is the date in this zone.
    public var timeZone: TimeZone = TimeZone(identifier: "UTC") ?? .current
    public var entitlements: ResolvedEntitlements?
    /// `events.retention_days`: events older than this leave the outbox after each applied run.
    /// `reports.dormant_after_days`: the dormant-accounts report's threshold.
    public var dormantAfterDays = 90
    public var eventRetentionDays = 90
    /// `audit.checkpoint_file`: where each applied run appends its audit head (nil: the journal only).
    public var auditCheckpointFile: String?
}

/// Entitlement rules and where their groups are read.
public struct ResolvedEntitlements: Sendable {
    public var policy: EntitlementPolicy
    /// Groups under this base matching the filter are read each run, with all direct members.
    /// nil: no managed groups (Active Directory's protected groups are watched alone).
    public var groupsBaseDN: String?
    public var groupsFilter: String
    public var memberAttribute: String
    /// Active Directory: the protected and built-in admin groups are found under this base each
    /// run (the domain root) and watched as privileged; nil: only the configured ones.
    public var protectedGroupsBaseDN: String?

    /// Groups with `adminCount=1` (those AdminSDHolder protects: Domain/Enterprise/Schema Admins,
    /// and whatever is nested in them) and the built-in admin groups by their well-known SIDs
    /// (Administrators, Account/Server/Print/Backup Operators).
    public static let protectedGroupsFilter = "(&(objectClass=group)(|(adminCount=1)(objectSid=S-1-5-32-544)(objectSid=S-1-5-32-548)(objectSid=S-1-5-32-549)(objectSid=S-1-5-32-550)(objectSid=S-1-5-32-551)))"
}

/// A webhook subscription: where, signed with which secrets, for which event types.
public struct WebhookSettings: Sendable, Hashable {
    public var name: String
    public var url: String
    /// Read at each delivery (a rotated secret needs no restart).
    public var secretFile: String
    /// Event type prefixes (empty: every type).
    public var types: [String]
    /// A failing event is retried this long, then dead-lettered.
    public var retryWindow: Double
    /// Each delivery's whole request, connecting included.
    public var timeout: Double
}

extension WebhookSettings {
    /// `rollcall webhook add`'s subscription checked like a `webhooks:` entry, as it is to be
    /// stored (a relative secret file made absolute against `directory`); errors name the option.
    public static func checked(_ hook: StoredWebhook, relativeTo directory: URL) throws(ConfigurationError) -> StoredWebhook {
        let validator = ConfigurationValidator(file: "rollcall webhook add", base: directory)
        let section = Configuration.WebhookSection(name: hook.name, url: hook.url, secretFile: hook.secretFile, types: hook.types,
                                                   retryWindowHours: hook.retryWindowHours, timeoutSeconds: hook.timeoutSeconds)
        let settings = try validator.webhook(section) { field in field == "name" ? "NAME" : "--" + field.replacingOccurrences(of: "_", with: "-") }
        var stored = hook
        // Kept as given when it is a credential (the daemon's $CREDENTIALS_DIRECTORY is not the CLI's).
        if !hook.secretFile.hasPrefix("credential:") { stored.secretFile = settings.secretFile }
        return stored
    }

    /// A stored subscription as the daemon uses it: credential:NAME read from its $CREDENTIALS_DIRECTORY.
    public init(stored hook: StoredWebhook) {
        var file = hook.secretFile
        if file.hasPrefix("credential:"), let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] {
            file = URL(fileURLWithPath: directory).appendingPathComponent(String(file.dropFirst("credential:".count))).path
        }
        self.init(name: hook.name, url: hook.url, secretFile: file, types: hook.types, retryWindow: hook.retryWindowHours * 3600,
                  timeout: hook.timeoutSeconds)
    }

    /// Every subscription in force: the configuration's, then those `webhook add` stored (a stored
    /// one whose name the configuration also uses is shadowed by it).
    public static func all(_ configuration: ResolvedConfiguration, stored: [StoredWebhook]) -> [WebhookSettings] {
        let configured = Set(configuration.webhooks.map(\.name))
        return configuration.webhooks + stored.filter { !configured.contains($0.name) }.map(WebhookSettings.init(stored:))
    }
}

/// The listener's certificate chain and key (PEM paths) and the lowest TLS version it accepts.
public struct ServeTLS: Sendable, Hashable {
    public var certFile: String
    public var keyFile: String
    /// "1.2" (default) or "1.3".
    public var minVersion: String = "1.2"
}

/// How `rollcall serve` runs.
public struct ServeSettings: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 8642
    /// Full runs every this many seconds (nil: at `fullAt` times of day).
    public var fullEvery: Double? = 24 * 3600
    /// Full runs at these minutes after midnight in the organisation's time zone.
    public var fullAt: [Int] = []
    /// Runs between full ones (directories read by their delta) every this many seconds.
    public var deltaEvery: Double = 60
    /// A run longer than this counts as hung.
    public var runTimeout: Double = 3600
    /// Feed requests per second per consumer (`serve.feed_requests_per_second`).
    public var feedRate: Double = 20
    /// A feed long-poll (`wait=`) waits at most this long.
    public var longPollMaxSeconds: Int = 60
    /// Active Directory's DirSync/uSNChanged delta is polled this often for live changes.
    public var livePollSeconds: Double = 5
    /// The admin socket's path (nil: none). Default /run/rollcall/admin.sock, in the unit's
    /// RuntimeDirectory.
    public var adminSocket: String? = ServeSettings.defaultAdminSocket
    public static let defaultAdminSocket = "/run/rollcall/admin.sock"
    /// The socket file's group (mode 0660); default rollcall-admin.
    public var adminSocketGroup = "rollcall-admin"
    /// Who may use it besides root and the daemon's own user: these users, and members of these
    /// groups (default: the socket's group).
    public var adminUsers: [String] = []
    public var adminGroups: [String] = ["rollcall-admin"]
    /// HTTPS for the listener (`serve.tls`); nil: plain HTTP (loopback, or `allow_insecure`).
    public var tls: ServeTLS?

    public init() {}
}

/// Which accounts of a directory cannot be used.
public enum DisabledRule: Sendable, Hashable {
    /// The state is not read.
    case none
    /// Active Directory: userAccountControl's ACCOUNTDISABLE bit, or an accountExpires in the past.
    case activeDirectory
    /// The accounts matching this LDAP filter (e.g. `(pwdAccountLockedTime=*)`).
    case filter(String)

    /// The filter as of `now` (accountExpires is compared with the current FILETIME).
    public func filter(at now: Date) -> String? {
        switch self {
        case .none: return nil
        case .filter(let filter): return filter
        case .activeDirectory:
            let filetime = (Int64(now.timeIntervalSince1970) + 11_644_473_600) * 10_000_000
            return "(|(userAccountControl:1.2.840.113556.1.4.803:=2)(&(accountExpires>=1)(accountExpires<=\(filetime))))"
        }
    }
}

/// One directory after checking.
public struct ResolvedDirectory: Sendable {
    public var name: String
    /// The configuration key of this directory, e.g. `directories[1]`, for messages.
    public var key: String
    public var ldap: LDAPSettings
    /// Read at the start of each run, so a rotated password is picked up without a restart.
    public var bindPasswordFile: String?
    public var search: SearchRequest
    public var mapping: AccountMapping
    /// The first rule's HR field.
    public var correlation: CorrelationKey
    /// Tried in order after the stored link.
    public var rules: [CorrelationRule]
    /// HR-owned attributes and where the directory should hold them (drift is reported).
    public var hrOwned: [(attribute: PersonAttribute, directoryAttribute: String)]
    public var orphanAction: OrphanAction
    public var unlinkedAction: UnlinkedAction
    public var unmatchedAction: UnmatchedAction
    public var delta: DeltaMode
    public var kind: DirectoryKind
    /// Active Directory: the naming context's root, where DirSync, tombstones and moves are read.
    public var domainRoot: String
    /// With deltas on, a full read happens at least this often (seconds).
    public var fullReadInterval: Double
    public var retry: RetryPolicy
    /// `allow_empty`: an empty read is believable while none of its accounts are stored.
    public var allowEmpty = false
    /// How an account's enabled state is read (`disabled_when`).
    public var disabledWhen: DisabledRule = .none

    /// The search a delta cookie belongs to: base (as a DN), scope, filter, attributes, anchor.
    /// A cookie taken under another definition is not continued.
    public var searchDefinition: String {
        let base = DistinguishedName(search.baseDN).map { $0.rdns.map { $0.joined(separator: "+") }.joined(separator: ",") } ?? search.baseDN
        return "base=\(base)\nscope=\(search.scope.rawValue)\nfilter=\(search.filter)\n\(mapping.definition)\ndelta=\(delta.rawValue)"
    }
}

/// How the directory is read between full reads.
public enum DeltaMode: String, Sendable, CaseIterable {
    case none
    /// OpenLDAP: RFC 4533 refreshOnly.
    case syncrepl
    /// Active Directory: the DirSync control (needs "Replicating Directory Changes").
    case dirsync
    /// Active Directory: uSNChanged windows (read rights only; deletes only where tombstones are visible).
    case usn
}

/// Which kind of directory server.
public enum DirectoryKind: String, Sendable, CaseIterable {
    case openldap
    case activeDirectory = "active_directory"
}

/// Reads and checks a configuration file. Every problem names its key.
public enum ConfigurationLoader {
    /// - Parameter checkFiles: false when only the daemon will use the configuration's files
    ///   (secrets, certificates): the CLI handing a command to the admin socket.
    public static func load(path: String, checkFiles: Bool = true) throws(ConfigurationError) -> ResolvedConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, reason: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, file: path, checkFiles: checkFiles)
    }

    public static func parse(_ text: String, file: String, checkFiles: Bool = true) throws(ConfigurationError) -> ResolvedConfiguration {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: file, reason: "the file is empty")
            }
            node = composed
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: file, reason: "is not valid YAML: \(error)")
        }
        try audit(node, shape: ConfigurationKeys.root, path: "", file: file)
        let raw: Configuration
        do {
            raw = try YAMLDecoder().decode(Configuration.self, from: node)
        } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch {
            throw ConfigurationError(file: file, reason: "\(error)")
        }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        do {
            return try ConfigurationValidator(file: file, base: base, checkFiles: checkFiles).resolve(raw)
        } catch {
            // The validator names the key; the file says where it is.
            var located = error
            if located.line == nil, let key = located.key { located.line = line(of: key, in: node) }
            throw located
        }
    }

    /// The line of a key path such as `directories[1].delta` in the document, or of its nearest
    /// parent that is written (a key left out, its default refused).
    static func line(of key: String, in root: Node) -> Int? {
        var node = root
        var line = root.mark?.line
        for part in key.split(separator: ".") {
            var name = Substring(part)
            var indices: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]"), let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indices.insert(index, at: 0)
                name = name[..<open]
            }
            guard case .mapping(let mapping) = node,
                  let pair = mapping.first(where: { $0.key.string == String(name) }) else { return line }
            line = pair.key.mark?.line ?? line
            node = pair.value
            for index in indices {
                guard case .sequence(let items) = node, index < items.count else { return line }
                node = items[index]
                line = node.mark?.line ?? line
            }
        }
        return line
    }

    /// Rejects unknown keys and secrets written inline, naming the key and line.
    private static func audit(_ node: Node, shape: ConfigurationKeys.Shape, path: String, file: String) throws(ConfigurationError) {
        if case .listOf(let element) = shape {
            guard case .sequence(let items) = node else {
                throw ConfigurationError(file: file, key: path, line: node.mark.map { $0.line }, reason: "must be a list (- item per line)")
            }
            for (index, item) in items.enumerated() {
                try audit(item, shape: element, path: "\(path)[\(index)]", file: file)
            }
            return
        }
        if case .sectionOrListOf(let keys) = shape {
            if case .sequence = node {
                try audit(node, shape: .listOf(.section(keys)), path: path, file: file)
            } else {
                try audit(node, shape: .section(keys), path: path, file: file)
            }
            return
        }
        if case .scalarOr(let inner) = shape {
            if case .mapping = node { try audit(node, shape: inner, path: path, file: file) }
            return
        }
        if case .mapOf(let inner) = shape {
            guard case .mapping(let mapping) = node else {
                throw ConfigurationError(file: file, key: path, line: node.mark.map { $0.line }, reason: "must be a mapping of keys to values")
            }
            for (keyNode, value) in mapping {
                try audit(value, shape: inner, path: "\(path).\(keyNode.string ?? "\(keyNode)")", file: file)
            }
            return
        }
        guard case .section(let allowed) = shape else { return }
        guard case .mapping(let mapping) = node else {
            throw ConfigurationError(file: file, key: path, line: node.mark.map { $0.line },
                                     reason: "must be a mapping of keys to values")
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let dotted = path.isEmpty ? key : "\(path).\(key)"
            let line = keyNode.mark.map { $0.line }
            if key.contains("password") && !key.hasSuffix("_file") {
                throw ConfigurationError(file: file, key: dotted, line: line,
                                         reason: "secrets are never written in the configuration; put the secret in a file readable only by rollcall and name it with \(key)_file")
            }
            guard let child = allowed[key] else {
                if path.isEmpty, key == "directory" || key == "correlation" {
                    throw ConfigurationError(file: file, key: dotted, line: line,
                                             reason: "directories are a list now: write `directories:` with one `- name: …` item per directory, each with its own `correlation:`")
                }
                if path == "hr", key == "csv" {
                    throw ConfigurationError(file: file, key: dotted, line: line,
                                             reason: "HR sources are a list now: write `hr: {sources: [...]}` with `format: csv` and `fields:` (formerly `columns:`)")
                }
                let known = allowed.keys.sorted().joined(separator: ", ")
                throw ConfigurationError(file: file, key: dotted, line: line, reason: "unknown key; expected one of: \(known)")
            }
            if case .scalar = child { try checkNumber(value, key: dotted, file: file) }
            try audit(value, shape: child, path: dotted, file: file)
        }
    }

    /// The largest number any setting takes (a timeout of 30 years in seconds, a count of a
    /// billion): beyond it, or not finite, a value is refused at load, so that no conversion later
    /// (seconds to milliseconds, days to seconds, to Int) can overflow and trap.
    static let largestNumber = 1_000_000_000.0

    private static func checkNumber(_ node: Node, key: String, file: String) throws(ConfigurationError) {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return }
        // Only what YAML reads as a number (a quoted "123" is text, a name stays a name).
        let text = scalar.string.lowercased()
        let looksNumeric = text.first.map { "0123456789+-.".contains($0) } == true || [".inf", "-.inf", "+.inf", ".nan"].contains(text)
        guard looksNumeric, let number = node.float ?? node.int.map(Double.init) else { return }
        guard number.isFinite, abs(number) <= largestNumber else {
            throw ConfigurationError(file: file, key: key, line: node.mark.map { $0.line },
                                     reason: "\(scalar.string) is out of range: numbers here are finite and at most \(Int(largestNumber))")
        }
    }

    private static func describe(_ error: DecodingError, file: String) -> ConfigurationError {
        func key(_ path: [any CodingKey]) -> String {
            path.reduce(into: "") { text, key in
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
        }
        switch error {
        case .keyNotFound(let missing, let context):
            return ConfigurationError(file: file, key: key(context.codingPath + [missing]), reason: "is required")
        case .typeMismatch(let type, let context):
            return ConfigurationError(file: file, key: key(context.codingPath), reason: "must be a \(type)")
        case .valueNotFound(let type, let context):
            return ConfigurationError(file: file, key: key(context.codingPath), reason: "must be a \(type), not empty")
        case .dataCorrupted(let context):
            return ConfigurationError(file: file, key: key(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return ConfigurationError(file: file, reason: "\(error)")
        }
    }
}
