import COpenLDAP
import Foundation
import RollcallCore
import RollcallDaemon
import RollcallDirectory
import RollcallHR

/// What `scripts/fuzz` runs under libFuzzer and what `FuzzRegressionTests` replays: each target
/// takes any bytes, must neither trap nor crash, and checks the properties named on it (a broken
/// property is a `FuzzFinding`, which the fuzzing driver turns into a crash).
///
/// The HR targets read with the settings of the configurations this repository recommends
/// (etc/rollcall.yaml, etc/examples/*.yaml), so the fuzzer exercises the mapping production runs.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The CSV tokenizer, then the whole CSV read with etc/rollcall.yaml's HR source.
    case csv
    /// A JSON HR document read with etc/examples/bamboohr.yaml's source (records at `employees`).
    case json
    /// NDJSON read with etc/examples/workday.yaml's source, records at `record.data` (Airbyte's lines).
    case ndjson
    /// The configuration loader on any text (YAML, then validation with the files left unchecked).
    case config
    /// RFC 4514 DN parsing and comparison.
    case dn
    /// Escaping of outside values: a value put into a DN with `dnValue` parses back to itself,
    /// by our parser and by libldap's `ldap_str2dn`; a filter value has no unescaped special
    /// character and unescapes to itself.
    case escaping
    /// The Active Directory value decoders: objectGUID, objectSid, FILETIME, generalized time,
    /// userAccountControl.
    case ad
    /// `member;range=LOW-HIGH` answers: the next range start is past the asked one or an error.
    case range
    /// The BER of DirSync response controls (what a DC sends back), and request/response round trips.
    case dirsync
}

/// A property a target checks did not hold.
public struct FuzzFinding: Error, CustomStringConvertible {
    public var description: String
}

/// The targets with what they read once: the recommended configurations' HR settings.
public struct FuzzHarness: Sendable {
    let csvSource: HRSource
    let jsonSource: HRSource
    let ndjsonSource: HRSource

    /// `repository`: the checkout whose etc/ holds the configurations.
    public init(repository: URL) throws {
        func source(_ file: String) throws -> HRSourceSettings {
            let path = repository.appendingPathComponent(file).path
            let configuration = try ConfigurationLoader.load(path: path, checkFiles: false)
            guard let settings = configuration.hrSources.first else { throw FuzzFinding(description: "\(file) has no HR source") }
            return settings
        }
        csvSource = HRSource(settings: try source("etc/rollcall.yaml"))
        jsonSource = HRSource(settings: try source("etc/examples/bamboohr.yaml"))
        var workday = try source("etc/examples/workday.yaml")
        workday.format = .ndjson
        workday.recordsPath = "record.data"
        ndjsonSource = HRSource(settings: workday)
    }

    public func run(_ target: FuzzTarget, _ bytes: [UInt8]) throws(FuzzFinding) {
        switch target {
        case .csv:
            var parser = CSVParser(bytes: bytes)
            var records = 0
            while records < 100_000, let record = try? parser.next() {
                records += 1
                try expect(record.line >= 1, "a CSV record on line \(record.line)")
            }
            try hrRead(csvSource, bytes)
        case .json: try hrRead(jsonSource, bytes)
        case .ndjson: try hrRead(ndjsonSource, bytes)
        case .config:
            _ = try? ConfigurationLoader.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", checkFiles: false)
        case .dn: try dn(String(decoding: bytes, as: UTF8.self))
        case .escaping: try escaping(String(decoding: bytes, as: UTF8.self))
        case .ad:
            _ = ADValues.guid(bytes)
            _ = ADValues.sid(bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            _ = ADValues.fileTime(text)
            _ = ADValues.generalizedTime(text)
            _ = UserAccountControl(text: text)
        case .range: try range(bytes)
        case .dirsync: try dirSync(bytes)
        }
    }

    /// How many records an HR target's read of `bytes` yields (nil: the read fails or the target
    /// reads no HR data): the seeds must reach the record mapping, not only the syntax.
    public func hrRecords(_ target: FuzzTarget, _ bytes: [UInt8]) -> Int? {
        let source: HRSource
        switch target {
        case .csv: source = csvSource
        case .json: source = jsonSource
        case .ndjson: source = ndjsonSource
        default: return nil
        }
        return (try? source.read(bytes: bytes))?.records.count
    }

    private func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws(FuzzFinding) {
        if !condition { throw FuzzFinding(description: what()) }
    }

    /// A read either fails with a reason or accounts for every record it saw.
    private func hrRead(_ source: HRSource, _ bytes: [UInt8]) throws(FuzzFinding) {
        guard let result = try? source.read(bytes: bytes) else { return }
        let ids = result.records.map(\.employeeID)
        try expect(Set(ids).count == ids.count, "an employee id read twice from one source")
        try expect(!ids.contains(where: \.isEmpty), "a person without an employee id")
    }

    private func dn(_ text: String) throws(FuzzFinding) {
        guard let dn = DistinguishedName(text) else { return }
        try expect(dn == dn, "a DN unequal to itself: \(text)")
        try expect(DistinguishedName.isWithin(text, base: text), "a DN not within itself: \(text)")
        if let comma = text.firstIndex(of: ",") {
            _ = DistinguishedName.isWithin(text, base: String(text[text.index(after: comma)...]))
        }
    }

    private func escaping(_ value: String) throws(FuzzFinding) {
        let escaped = "cn=" + LDAPEscaping.dnValue(value) + ",dc=example,dc=test"
        guard let parsed = DistinguishedName(escaped) else { throw FuzzFinding(description: "escaped DN does not parse: \(escaped)") }
        let folded = value.lowercased().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        try expect(parsed.rdns.first == ["cn=" + folded], "escaped DN parses to \(parsed.rdns.first ?? []) for \(Array(value.utf8))")
        try expect(Self.libldapFirstValue(escaped) == Array(value.utf8), "libldap reads another value from \(escaped)")

        let filter = LDAPEscaping.filterValue(value)
        try expect(!filter.unicodeScalars.contains { "*()\u{0}".unicodeScalars.contains($0) }, "unescaped special character in \(filter)")
        try expect(Self.unescapeFilter(filter) == Array(value.utf8), "filter value \(filter) does not unescape to the value")
        _ = try? LDAPEscaping.equalityFilter(attribute: value, value: value)
    }

    private func range(_ bytes: [UInt8]) throws(FuzzFinding) {
        // The first byte picks where the range was asked from; the rest is the server's answer.
        let start = Int(bytes.first ?? 0) * 1500
        let answer = String(decoding: bytes.dropFirst(), as: UTF8.self)
        let next: Int?
        do { next = try LDAPConnection.nextRangeStart(answer[...], after: start, place: "fuzz") } catch { return }
        if let next { try expect(next > start, "range \(answer) from \(start) goes back to \(next)") }
    }

    private func dirSync(_ bytes: [UInt8]) throws(FuzzFinding) {
        _ = DirSyncControl.response(bytes)
        // Whatever cookie a DC sent comes back unchanged through our request encoding.
        let flags = Int32(truncatingIfNeeded: bytes.count)
        guard let request = DirSyncControl.request(flags: flags, maxBytes: 0x100000, cookie: bytes) else {
            throw FuzzFinding(description: "a request cannot be encoded")
        }
        // A request has the response's shape: { INTEGER, INTEGER, OCTET STRING }.
        guard let decoded = DirSyncControl.response(request) else { throw FuzzFinding(description: "our own request does not decode") }
        try expect(decoded.more == flags && decoded.cookie == bytes, "the cookie does not survive a round trip")
    }

    /// The value libldap parses out of the first RDN of `text` (LDAPv3 string form).
    static func libldapFirstValue(_ text: String) -> [UInt8]? {
        var dn: LDAPDN?
        guard ldap_str2dn(text, &dn, UInt32(LDAP_DN_FORMAT_LDAPV3)) == LDAP_SUCCESS, let dn else { return nil }
        defer { ldap_dnfree(dn) }
        guard let rdn = dn.pointee, let ava = rdn.pointee else { return nil }
        let value = ava.pointee.la_value
        return value.bv_val.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(value.bv_len))) } ?? []
    }

    /// RFC 4515's `\XX` escapes resolved; nil for a backslash not followed by two hex digits.
    static func unescapeFilter(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                guard index + 2 < bytes.count,
                      let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}
