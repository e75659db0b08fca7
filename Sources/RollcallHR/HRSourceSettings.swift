import RollcallCore

/// The canonical person fields an HR source maps onto.
public enum PersonField: String, Sendable, CaseIterable, Codable {
    case employeeID = "employee_id"
    case givenName = "given_name"
    case familyName = "family_name"
    case displayName = "display_name"
    case email
    case department
    case title
    case managerID = "manager_id"
    case employeeType = "employee_type"
    case location
    case status
    case hireDate = "hire_date"
    case terminationDate = "termination_date"

    var isDate: Bool { self == .hireDate || self == .terminationDate }
}

/// How an HR source's records are written.
public enum SourceFormat: String, Sendable, CaseIterable {
    /// RFC 4180 CSV with a header row; fields are column headers.
    case csv
    /// One JSON document: an array of records, or an object holding one at `records`
    /// (a Workday report's `Report_Entry`, a BambooHR directory's `employees`).
    case json
    /// One JSON object per line; the record may be nested in it at `records` (e.g. `record.data`).
    case ndjson
}

/// How one canonical field is taken from a source record.
public struct FieldRule: Sendable, Hashable {
    public enum Case: String, Sendable, CaseIterable {
        case keep, lower, upper
    }

    /// The source field: a CSV column header, or a JSON key path with dots (`manager.id`).
    public var from: String
    /// Remove leading and trailing white space (Unicode). On unless turned off.
    public var trim: Bool
    public var letterCase: Case
    /// Source value → value, compared exactly first and then case-insensitively; values not
    /// listed pass unchanged (except `status`, whose values must all be listed in `statusValues`).
    public var valueMap: [String: String]

    public init(from: String, trim: Bool = true, letterCase: Case = .keep, valueMap: [String: String] = [:]) {
        self.from = from
        self.trim = trim
        self.letterCase = letterCase
        self.valueMap = valueMap
    }
}

/// One HR source: where its records are, and how they map onto persons.
public struct HRSourceSettings: Sendable {
    /// The configured name, used in reports (`hr.sources[].name`).
    public var name: String
    public var format: SourceFormat
    /// The file; for an HTTP source, its URL without the query (for messages).
    public var path: String
    /// Set for a source fetched over HTTP(S) instead of read from `path`.
    public var http: HTTPPull?
    /// JSON/NDJSON: the dotted key path of the records' array (json) or of the record in each line
    /// (ndjson); nil when the document is the array (json) or each line is the record (ndjson).
    public var recordsPath: String?
    /// Canonical field → rule. `employee_id` is required.
    public var fields: [PersonField: FieldRule]
    /// HR status text (compared case-insensitively after trimming) → status. Unlisted values reject the row.
    public var statusValues: [String: EmploymentStatus]
    /// Accepted date formats, tried in order: ICU patterns such as `yyyy-MM-dd` or `MM/dd/yyyy`, or
    /// `iso8601` for the calendar date at the start of an ISO 8601 date or date-time as written
    /// (`2016-01-02T16:44:56.854Z` → 2016-01-02).
    public var dateFormats: [String]
    /// Values that mean "no value" in any field, after trimming (e.g. `0000-00-00`, `N/A`). An empty
    /// value always means no value.
    public var emptyValues: Set<String>
    /// Fields a record must have a value for; `employee_id` always.
    public var required: Set<PersonField>
    /// Leave out bad records (listed in the report) instead of failing the run.
    public var skipBadRecords: Bool
    /// A source that yields no persons fails the run unless this is set.
    public var allowEmpty: Bool
    /// HTTP sources in the daemon: asked at most this often (nil: at every run, with validators).
    public var refreshSeconds: Double?
    /// Caps on one read (`max_megabytes`, `max_records`): a file or feed beyond them fails the
    /// read, naming the cap, instead of filling the memory. Far above real exports by default.
    public var maxBytes = 4096 * 1024 * 1024
    public var maxRecords = 10_000_000

    public init(name: String, format: SourceFormat, path: String, recordsPath: String? = nil,
                fields: [PersonField: FieldRule],
                statusValues: [String: EmploymentStatus] = ["active": .active, "terminated": .terminated],
                dateFormats: [String] = ["yyyy-MM-dd"], emptyValues: Set<String> = ["0000-00-00"],
                required: Set<PersonField> = [.employeeID], skipBadRecords: Bool = false, allowEmpty: Bool = false) {
        self.name = name
        self.format = format
        self.path = path
        self.http = nil
        self.recordsPath = recordsPath
        self.fields = fields
        self.statusValues = statusValues
        self.dateFormats = dateFormats
        self.emptyValues = emptyValues
        self.required = required.union([.employeeID])
        self.skipBadRecords = skipBadRecords
        self.allowEmpty = allowEmpty
    }

    /// A CSV source whose fields are plain column headers.
    public init(csv path: String, columns: [PersonField: String], name: String = "hr",
                statusValues: [String: EmploymentStatus] = ["active": .active, "terminated": .terminated],
                dateFormats: [String] = ["yyyy-MM-dd"]) {
        self.init(name: name, format: .csv, path: path, fields: columns.mapValues { FieldRule(from: $0) },
                  statusValues: statusValues, dateFormats: dateFormats)
    }
}

/// An HR source fetched over HTTP(S): GET requests with credentials read from files, pages
/// followed by a next link or an offset, a timeout per request and retries with backoff.
public struct HTTPPull: Sendable {
    public enum Auth: Sendable, Hashable {
        case none
        /// `Authorization: Bearer` with the token read from this file at each run.
        case bearer(tokenFile: String)
        /// HTTP basic authentication, the password read from this file at each run.
        case basic(username: String, passwordFile: String)
    }

    public enum Paging: Sendable, Hashable {
        /// One response holds every record.
        case none
        /// Each page names the next page's URL at this dotted key path (absolute or relative);
        /// the last page has none (missing, null or empty). JSON only.
        case nextLink(path: String)
        /// `offsetParameter`=0, pageSize, 2×pageSize … with `limitParameter`=pageSize added to the
        /// query, until a page holds fewer than pageSize records.
        case offset(offsetParameter: String, limitParameter: String, pageSize: Int)
    }

    public var url: String
    public var auth: Auth
    /// PEM certificate authorities for https://; the system's when nil.
    public var caFile: String?
    /// For each request, from connecting to the last byte of the body (connecting: at most 10 s; a
    /// connection that fails, TLS included, is tried until then, then reported).
    public var timeoutSeconds: Double
    /// Tries per page: connection failures, timeouts and HTTP 429, 500, 502, 503 and 504 are tried
    /// again; other answers fail the read.
    public var retry: Backoff
    public var paging: Paging
    /// A read that has not ended after this many pages fails (a next link that never ends).
    public var maxPages: Int

    public init(url: String, auth: Auth = .none, caFile: String? = nil, timeoutSeconds: Double = 60,
                retry: Backoff = Backoff(), paging: Paging = .none, maxPages: Int = 10_000) {
        self.url = url
        self.auth = auth
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        self.retry = retry
        self.paging = paging
        self.maxPages = maxPages
    }

    /// The URL without its query, for messages: a query may carry a key.
    public var displayURL: String {
        guard let query = url.firstIndex(of: "?") else { return url }
        return String(url[..<query])
    }
}
