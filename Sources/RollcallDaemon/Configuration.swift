/// The whole configuration file, as written by the operator. See etc/rollcall.yaml for every key.
/// Relative paths are resolved against the configuration file's directory.
public struct Configuration: Sendable, Decodable {
    public var store: StoreSection
    public var events: EventsSection
    public var audit: AuditSection?
    /// Every directory whose accounts are reconciled (e.g. two AD domains and one OpenLDAP).
    public var directories: [DirectorySection]
    public var hr: HRSection
    public var lifecycle: LifecycleSection?
    public var entitlements: EntitlementsSection?
    /// The mass-change guard's thresholds (`guard:` in the file).
    public var massChangeGuard: GuardSection?
    /// `rollcall serve`: where it listens and when it runs.
    public var serve: ServeSection?
    /// Webhook subscriptions the daemon delivers events to.
    public var webhooks: [WebhookSection]?
    /// Compliance reports (`rollcall report dormant` ...).
    public var reports: ReportsSection?

    enum CodingKeys: String, CodingKey {
        case store, events, directories, hr, lifecycle, entitlements, serve, webhooks, audit, reports
        case massChangeGuard = "guard"
    }

    public struct ServeTLSSection: Sendable, Decodable {
        public var certFile: String
        public var keyFile: String
        public var minVersion: String?

        enum CodingKeys: String, CodingKey {
            case certFile = "cert_file"
            case keyFile = "key_file"
            case minVersion = "min_version"
        }
    }

    public struct ServeSection: Sendable, Decodable {
        /// ADDRESS:PORT of the HTTP server (health, readiness, metrics). Default 127.0.0.1:8642.
        public var listen: String?
        public var schedule: ScheduleSection?
        /// A run taking longer than this counts as hung: the watchdog stops being pinged.
        public var runTimeoutMinutes: Double?
        public var admin: AdminSection?
        /// Active Directory: seconds between polls of the DirSync/uSNChanged delta for live changes.
        public var livePollSeconds: Double?
        /// The longest a feed long-poll waits (proxies with shorter idle timeouts want less).
        public var longPollMaxSeconds: Int?
        /// Feed requests per second per consumer.
        public var feedRequestsPerSecond: Double?
        /// HTTPS on `listen`: a certificate chain and its key (PEM files).
        public var tls: ServeTLSSection?
        /// Plain HTTP on an address other than loopback (behind a proxy that terminates TLS).
        public var allowInsecure: Bool?

        enum CodingKeys: String, CodingKey {
            case listen, schedule, admin, tls
            case allowInsecure = "allow_insecure"
            case feedRequestsPerSecond = "feed_requests_per_second"
            case longPollMaxSeconds = "long_poll_max_seconds"
            case runTimeoutMinutes = "run_timeout_minutes"
            case livePollSeconds = "live_poll_seconds"
        }
    }

    /// One webhook subscription.
    public struct WebhookSection: Sendable, Decodable {
        public var name: String
        public var url: String
        /// A file (or credential:NAME) with one `whsec_…` secret per line; two while rotating.
        public var secretFile: String
        public var types: [String]?
        public var retryWindowHours: Double?
        public var timeoutSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case name, url, types
            case secretFile = "secret_file"
            case retryWindowHours = "retry_window_hours"
            case timeoutSeconds = "timeout_seconds"
        }
    }

    /// The admin socket: where, its group, who may use it.
    public struct AdminSection: Sendable, Decodable {
        public var socket: String?
        public var group: String?
        public var users: [String]?
        public var groups: [String]?
    }

    public struct ScheduleSection: Sendable, Decodable {
        public var full: FullScheduleSection?
        public var delta: DeltaScheduleSection?
    }

    /// Full runs: every N hours, or at times of day (HH:MM in lifecycle.time_zone).
    public struct FullScheduleSection: Sendable, Decodable {
        public var everyHours: Double?
        public var at: [String]?

        enum CodingKeys: String, CodingKey {
            case at
            case everyHours = "every_hours"
        }
    }

    public struct DeltaScheduleSection: Sendable, Decodable {
        public var everySeconds: Double?

        enum CodingKeys: String, CodingKey {
            case everySeconds = "every_seconds"
        }
    }

    public struct GuardSection: Sendable, Decodable {
        public var maxDeprovisions: Int?
        public var maxDeprovisionPercent: Double?
        public var maxShrinkPercent: Double?
        public var minimumCount: Int?
        public var maxJoiners: Int?
        public var maxJoinerPercent: Double?
        /// quarantine (default) | apply
        public var firstRun: String?

        enum CodingKeys: String, CodingKey {
            case maxJoiners = "max_joiners"
            case maxJoinerPercent = "max_joiner_percent"
            case firstRun = "first_run"
            case maxDeprovisions = "max_deprovisions"
            case maxDeprovisionPercent = "max_deprovision_percent"
            case maxShrinkPercent = "max_shrink_percent"
            case minimumCount = "minimum_count"
        }
    }

    public struct ReportsSection: Sendable, Decodable {
        /// An account whose last logon is older than this is dormant (default 90).
        public var dormantAfterDays: Int?

        enum CodingKeys: String, CodingKey {
            case dormantAfterDays = "dormant_after_days"
        }
    }

    public struct EntitlementsSection: Sendable, Decodable {
        /// The configured directory whose accounts and groups the rules are about.
        public var directory: String?
        /// Where the managed groups are read; needed for birthright, separation-of-duties and
        /// configured privileged groups (not for Active Directory's protected groups alone).
        public var groups: GroupsSection?
        public var birthright: [BirthrightSection]?
        public var separationOfDuties: [SeparationSection]?
        public var privileged: PrivilegedSection?

        enum CodingKeys: String, CodingKey {
            case directory, groups, birthright, privileged
            case separationOfDuties = "separation_of_duties"
        }
    }

    public struct PrivilegedSection: Sendable, Decodable {
        public var groups: [String]?
        /// Active Directory: also watch the protected groups (adminCount=1) and the built-in admin
        /// groups. Default: on when the entitlement directory is `kind: active_directory`.
        public var activeDirectoryProtected: Bool?
        public var allowedMembers: [String]?

        public init(groups: [String]? = nil, activeDirectoryProtected: Bool? = nil, allowedMembers: [String]? = nil) {
            self.groups = groups
            self.activeDirectoryProtected = activeDirectoryProtected
            self.allowedMembers = allowedMembers
        }

        enum CodingKeys: String, CodingKey {
            case groups
            case activeDirectoryProtected = "active_directory_protected"
            case allowedMembers = "allowed_members"
        }
    }

    public struct GroupsSection: Sendable, Decodable {
        public var baseDN: String
        public var filter: String?
        public var memberAttribute: String?

        enum CodingKeys: String, CodingKey {
            case filter
            case baseDN = "base_dn"
            case memberAttribute = "member_attribute"
        }
    }

    public struct BirthrightSection: Sendable, Decodable {
        public var name: String
        public var group: String
        public var when: ConditionSection?
    }

    public struct SeparationSection: Sendable, Decodable {
        public var name: String
        public var groups: [String]
    }

    /// `{all: [...]}`, `{any: [...]}`, `{not: {...}}` or `{ATTRIBUTE: {equals | in | prefix: ...}}`.
    public indirect enum ConditionSection: Sendable, Decodable {
        case all([ConditionSection])
        case any([ConditionSection])
        case not(ConditionSection)
        /// attribute, operator, values
        case test(String, String, [String])
        /// A mapping that is none of the above (its keys, for the message).
        case invalid(String)

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            guard container.allKeys.count == 1, let key = container.allKeys.first else {
                self = .invalid("a condition has exactly one key; found: \(container.allKeys.map(\.stringValue).sorted().joined(separator: ", "))")
                return
            }
            switch key.stringValue {
            case "all": self = .all(try container.decode([ConditionSection].self, forKey: key))
            case "any": self = .any(try container.decode([ConditionSection].self, forKey: key))
            case "not": self = .not(try container.decode(ConditionSection.self, forKey: key))
            default:
                let test = try container.nestedContainer(keyedBy: Key.self, forKey: key)
                guard test.allKeys.count == 1, let op = test.allKeys.first else {
                    self = .invalid("\(key.stringValue) needs exactly one of equals, in, prefix")
                    return
                }
                if let many = try? test.decode([String].self, forKey: op) {
                    self = .test(key.stringValue, op.stringValue, many)
                } else {
                    self = .test(key.stringValue, op.stringValue, [try test.decode(String.self, forKey: op)])
                }
            }
        }
    }

    public struct LifecycleSection: Sendable, Decodable {
        public var prehireDays: Int?
        public var deprovisionAfterDays: Int?
        public var purgeAfterDays: Int?
        public var tombstoneKeyFile: String?
        /// An IANA time zone name (default UTC): the day a run acts on is the date there.
        public var timeZone: String?
        /// last_day_worked (default) | first_day_gone
        public var terminationDateIs: String?
        /// A leaver's (or held person's) accounts still enabled this many hours after the decision
        /// are `account.still_enabled` (default 24).
        public var disableWithinHours: Int?

        enum CodingKeys: String, CodingKey {
            case timeZone = "time_zone"
            case terminationDateIs = "termination_date_is"
            case disableWithinHours = "disable_within_hours"
            case prehireDays = "prehire_days"
            case deprovisionAfterDays = "deprovision_after_days"
            case purgeAfterDays = "purge_after_days"
            case tombstoneKeyFile = "tombstone_key_file"
        }
    }

    public struct StoreSection: Sendable, Decodable {
        public var path: String
    }

    public struct AuditSection: Sendable, Decodable {
        /// A file each applied run appends its audit head to (`SEQ:HASH time run N`).
        public var checkpointFile: String?

        enum CodingKeys: String, CodingKey {
            case checkpointFile = "checkpoint_file"
        }
    }

    public struct EventsSection: Sendable, Decodable {
        /// CloudEvents `source` of every event this instance emits (a URI reference).
        public var source: String
        /// Days an event stays in the outbox (default 90).
        public var retentionDays: Int?

        enum CodingKeys: String, CodingKey {
            case source
            case retentionDays = "retention_days"
        }
    }

    public struct DirectorySection: Sendable, Decodable {
        /// Stored with every account and link of this directory and named in events; required when
        /// several directories are configured, "default" when there is one. Renaming a directory
        /// makes its accounts new accounts: choose a name that lasts.
        public var name: String?
        /// HR-owned person attributes → the directory attribute that should hold each value.
        public var hrAuthoritative: [String: String]?
        /// report (default) | disable
        public var onOrphan: String?
        /// link (default) | report
        public var onUnlinked: String?
        /// joiner (default) | ignore
        public var onUnmatched: String?
        /// How a person without a remembered link finds their account in this directory: one rule,
        /// or a list tried in order.
        public var correlation: CorrelationRules
        /// One URI; or `uris`, several tried in order (failover). Exactly one of the two.
        public var uri: String?
        public var uris: [String]?
        /// simple | sasl_external
        public var bind: String?
        public var tlsCertFile: String?
        public var tlsKeyFile: String?
        /// 1.2 | 1.3
        public var tlsMinVersion: String?
        public var retry: RetrySection?
        /// none | starttls | ldaps
        public var security: String?
        public var allowInsecure: Bool?
        public var caFile: String?
        public var bindDN: String?
        public var bindPasswordFile: String?
        public var baseDN: String
        /// base | one | sub
        public var scope: String?
        public var filter: String?
        public var pageSize: Int?
        public var networkTimeoutSeconds: Int?
        public var operationTimeoutSeconds: Int?
        public var anchorAttribute: String?
        public var attributes: [String]?
        /// openldap (default) | active_directory
        public var kind: String?
        /// Active Directory: the naming context's root (default: the DC= part of base_dn).
        public var domainRoot: String?
        /// none (default: every run reads everything) | syncrepl (OpenLDAP) | dirsync | usn (Active Directory)
        public var delta: String?
        public var fullReadIntervalHours: Double?
        /// A read with no entries is believable while none of this directory's accounts are stored.
        public var allowEmpty: Bool?
        /// An LDAP filter matching the accounts that cannot be used; `none`: the state is not read.
        /// Default: Active Directory's ACCOUNTDISABLE bit or a past accountExpires; none on OpenLDAP.
        public var disabledWhen: String?

        enum CodingKeys: String, CodingKey {
            case allowEmpty = "allow_empty"
            case disabledWhen = "disabled_when"
            case name, correlation, uri, uris, bind, retry, security, filter, scope, attributes
            case hrAuthoritative = "hr_authoritative"
            case onOrphan = "on_orphan"
            case onUnlinked = "on_unlinked"
            case onUnmatched = "on_unmatched"
            case tlsCertFile = "tls_cert_file"
            case tlsKeyFile = "tls_key_file"
            case tlsMinVersion = "tls_min_version"
            case allowInsecure = "allow_insecure"
            case caFile = "ca_file"
            case bindDN = "bind_dn"
            case bindPasswordFile = "bind_password_file"
            case baseDN = "base_dn"
            case pageSize = "page_size"
            case networkTimeoutSeconds = "network_timeout_seconds"
            case operationTimeoutSeconds = "operation_timeout_seconds"
            case anchorAttribute = "anchor_attribute"
            case delta, kind
            case domainRoot = "domain_root"
            case fullReadIntervalHours = "full_read_interval_hours"
        }
    }

    public struct RetrySection: Sendable, Decodable {
        public var attempts: Int?
        public var initialDelaySeconds: Double?
        public var maxDelaySeconds: Double?

        enum CodingKeys: String, CodingKey {
            case attempts
            case initialDelaySeconds = "initial_delay_seconds"
            case maxDelaySeconds = "max_delay_seconds"
        }
    }

    public struct HRSection: Sendable, Decodable {
        /// In order of precedence.
        public var sources: [HRSourceSection]
        /// email: a new HR id with the e-mail of a person gone from HR (or terminated there) is
        /// the same worker under a new id (identity.converted).
        public var conversionKey: String?
        /// Only a person gone or terminated at most this many days ago is continued (default 30).
        public var conversionWindowDays: Int?
        /// Person attributes that must agree too (default [family_name]); otherwise only proposed.
        public var conversionConfirm: [String]?

        enum CodingKeys: String, CodingKey {
            case sources
            case conversionKey = "conversion_key"
            case conversionWindowDays = "conversion_window_days"
            case conversionConfirm = "conversion_confirm"
        }
    }

    public struct HRSourceSection: Sendable, Decodable {
        /// Named in reports; required when several sources are configured, "hr" when there is one.
        public var name: String?
        /// csv (default) | json | ndjson
        public var format: String?
        /// A file; or `url`, fetched over HTTP(S). Exactly one of the two.
        public var path: String?
        public var url: String?
        public var auth: AuthSection?
        public var caFile: String?
        public var timeoutSeconds: Double?
        public var retry: RetrySection?
        public var paging: PagingSection?
        public var maxPages: Int?
        /// HTTP: the daemon asks the feed at most this often (its last read is used in between).
        public var refreshMinutes: Double?
        /// Caps on one read: MiB of file or feed, and records (used or rejected).
        public var maxMegabytes: Int?
        public var maxRecords: Int?
        /// json/ndjson: the dotted key path of the records.
        public var records: String?
        /// stop (default): a run with bad records applies nothing; skip: they are left out and listed in the report.
        public var onBadRows: String?
        public var allowEmpty: Bool?
        /// report (default) | leave: what happens to a person this source stops listing.
        public var onMissing: String?
        /// With on_missing: leave, the days a person may be missing before they are a leaver.
        public var missingGraceDays: Int?
        public var dateFormats: [String]?
        public var emptyValues: [String]?
        public var required: [String]?
        /// Canonical field → source field, or a rule with transforms.
        public var fields: [String: FieldSection]
        /// HR status text → active | terminated.
        public var statusValues: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, format, path, url, auth, retry, paging, records, required, fields
            case caFile = "ca_file"
            case timeoutSeconds = "timeout_seconds"
            case maxPages = "max_pages"
            case refreshMinutes = "refresh_minutes"
            case maxMegabytes = "max_megabytes"
            case maxRecords = "max_records"
            case onBadRows = "on_bad_rows"
            case allowEmpty = "allow_empty"
            case onMissing = "on_missing"
            case missingGraceDays = "missing_grace_days"
            case dateFormats = "date_formats"
            case emptyValues = "empty_values"
            case statusValues = "status_values"
        }
    }

    /// HTTP credentials: a bearer token file, or a username with a password file.
    public struct AuthSection: Sendable, Decodable {
        public var bearerTokenFile: String?
        public var username: String?
        public var passwordFile: String?

        enum CodingKeys: String, CodingKey {
            case username
            case bearerTokenFile = "bearer_token_file"
            case passwordFile = "password_file"
        }
    }

    /// HTTP paging: `next_link` (a key path), or `offset_parameter` + `limit_parameter` + `page_size`.
    public struct PagingSection: Sendable, Decodable {
        public var nextLink: String?
        public var offsetParameter: String?
        public var limitParameter: String?
        public var pageSize: Int?

        enum CodingKeys: String, CodingKey {
            case nextLink = "next_link"
            case offsetParameter = "offset_parameter"
            case limitParameter = "limit_parameter"
            case pageSize = "page_size"
        }
    }

    /// A field mapping: a source field name, or `{from, trim, case, map}`.
    public struct FieldSection: Sendable, Decodable {
        public var from: String
        public var trim: Bool?
        /// keep | lower | upper
        public var letterCase: String?
        public var map: [String: String]?

        enum CodingKeys: String, CodingKey {
            case from, trim, map
            case letterCase = "case"
        }

        public init(from decoder: any Decoder) throws {
            if let column = try? decoder.singleValueContainer().decode(String.self) {
                self.from = column
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.from = try container.decode(String.self, forKey: .from)
            self.trim = try container.decodeIfPresent(Bool.self, forKey: .trim)
            self.letterCase = try container.decodeIfPresent(String.self, forKey: .letterCase)
            self.map = try container.decodeIfPresent([String: String].self, forKey: .map)
        }
    }

    /// One `{hr_field, directory_attribute}` or a list of them.
    public struct CorrelationRules: Sendable, Decodable {
        public var rules: [CorrelationSection]

        public init(from decoder: any Decoder) throws {
            // A list first: a mapping's own problems (a missing key) are then reported as such.
            if let list = try? [CorrelationSection](from: decoder) {
                rules = list
            } else {
                rules = [try CorrelationSection(from: decoder)]
            }
        }
    }

    public struct CorrelationSection: Sendable, Decodable {
        /// employee_id | email
        public var hrField: String
        public var directoryAttribute: String

        enum CodingKeys: String, CodingKey {
            case hrField = "hr_field"
            case directoryAttribute = "directory_attribute"
        }
    }
}

/// The keys each section accepts, so that a typo is an error naming the key instead of a silent default.
enum ConfigurationKeys {
    indirect enum Shape: Sendable {
        case scalar
        case list
        /// A mapping with exactly these keys (some optional).
        case section([String: Shape])
        /// A list whose every element has this shape.
        case listOf(Shape)
        /// A mapping whose keys are the operator's and whose values all have this shape.
        case mapOf(Shape)
        /// A single value, or a mapping of this shape.
        case scalarOr(Shape)
        /// A mapping with these keys, or a list of such mappings.
        case sectionOrListOf([String: Shape])
        /// A mapping whose keys are the operator's (column names, status texts).
        case freeMapping
    }

    static let root: Shape = .section([
        "store": .section(["path": .scalar]),
        "events": .section(["source": .scalar, "retention_days": .scalar]),
        "reports": .section(["dormant_after_days": .scalar]),
        "audit": .section(["checkpoint_file": .scalar]),
        "directories": .listOf(.section([
            "name": .scalar, "hr_authoritative": .freeMapping, "on_orphan": .scalar, "on_unlinked": .scalar, "on_unmatched": .scalar,
            "correlation": .sectionOrListOf(["hr_field": .scalar, "directory_attribute": .scalar]),
            "uri": .scalar, "uris": .list, "bind": .scalar, "tls_cert_file": .scalar, "tls_key_file": .scalar,
            "tls_min_version": .scalar,
            "retry": .section(["attempts": .scalar, "initial_delay_seconds": .scalar, "max_delay_seconds": .scalar]),
            "security": .scalar, "allow_insecure": .scalar, "ca_file": .scalar,
            "bind_dn": .scalar, "bind_password_file": .scalar, "base_dn": .scalar, "scope": .scalar,
            "filter": .scalar, "page_size": .scalar, "network_timeout_seconds": .scalar,
            "operation_timeout_seconds": .scalar, "anchor_attribute": .scalar, "attributes": .list,
            "delta": .scalar, "full_read_interval_hours": .scalar, "kind": .scalar, "domain_root": .scalar, "allow_empty": .scalar, "disabled_when": .scalar,
        ])),
        "serve": .section([
            "listen": .scalar, "allow_insecure": .scalar, "tls": .section(["cert_file": .scalar, "key_file": .scalar, "min_version": .scalar]),
            "run_timeout_minutes": .scalar, "live_poll_seconds": .scalar, "long_poll_max_seconds": .scalar, "feed_requests_per_second": .scalar,
            "admin": .section(["socket": .scalar, "group": .scalar, "users": .list, "groups": .list]),
            "schedule": .section(["full": .section(["every_hours": .scalar, "at": .list]), "delta": .section(["every_seconds": .scalar])]),
        ]),
        "webhooks": .listOf(.section(["name": .scalar, "url": .scalar, "secret_file": .scalar, "types": .list,
                                      "retry_window_hours": .scalar, "timeout_seconds": .scalar])),
        "guard": .section(["max_deprovisions": .scalar, "max_deprovision_percent": .scalar, "max_shrink_percent": .scalar,
                           "minimum_count": .scalar, "max_joiners": .scalar, "max_joiner_percent": .scalar, "first_run": .scalar]),
        "lifecycle": .section(["prehire_days": .scalar, "deprovision_after_days": .scalar, "purge_after_days": .scalar,
                                "tombstone_key_file": .scalar, "time_zone": .scalar, "termination_date_is": .scalar,
                                "disable_within_hours": .scalar]),
        "entitlements": .section([
            "directory": .scalar,
            "groups": .section(["base_dn": .scalar, "filter": .scalar, "member_attribute": .scalar]),
            "birthright": .listOf(.section(["name": .scalar, "group": .scalar, "when": .freeMapping])),
            "separation_of_duties": .listOf(.section(["name": .scalar, "groups": .list])),
            "privileged": .section(["groups": .list, "active_directory_protected": .scalar, "allowed_members": .list]),
        ]),
        "hr": .section([
            "conversion_key": .scalar, "conversion_window_days": .scalar, "conversion_confirm": .list,
            "sources": .listOf(.section([
                "name": .scalar, "format": .scalar, "path": .scalar, "url": .scalar, "records": .scalar, "on_bad_rows": .scalar,
                "auth": .section(["bearer_token_file": .scalar, "username": .scalar, "password_file": .scalar]),
                "ca_file": .scalar, "timeout_seconds": .scalar, "max_pages": .scalar, "refresh_minutes": .scalar,
                "max_megabytes": .scalar, "max_records": .scalar,
                "retry": .section(["attempts": .scalar, "initial_delay_seconds": .scalar, "max_delay_seconds": .scalar]),
                "paging": .section(["next_link": .scalar, "offset_parameter": .scalar, "limit_parameter": .scalar, "page_size": .scalar]),
                "allow_empty": .scalar, "on_missing": .scalar, "missing_grace_days": .scalar, "date_formats": .list, "empty_values": .list, "required": .list,
                "fields": .mapOf(.scalarOr(.section(["from": .scalar, "trim": .scalar, "case": .scalar, "map": .freeMapping]))),
                "status_values": .freeMapping,
            ])),
        ]),
    ])
}
