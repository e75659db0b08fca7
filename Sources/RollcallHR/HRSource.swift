import Foundation
import Logging
import RollcallCore

/// Reads one HR source (CSV, JSON or NDJSON file) into persons. Bad records are rejected with
/// their place (file:line, or file and record number) and the reason; a source that cannot be
/// read at all throws. An id found on several records of the source is disputed: none of them is
/// used, each is reported.
public struct HRSource: Sendable {
    public var settings: HRSourceSettings

    public init(settings: HRSourceSettings) {
        self.settings = settings
    }

    public func read(logger: Logger = Logger(label: "rollcall.hr")) async throws(HRSourceError) -> HRReadResult {
        if settings.http != nil, case .read(let result, _) = try await readHTTP(previous: nil, logger: logger) { return result }
        return try readFile()
    }

    /// An HTTP source's read: `.unchanged` when every page answered 304 to `previous`'s validators.
    enum HTTPResult {
        case unchanged
        case read(HRReadResult, HTTPFeedVersion?)
    }

    func readHTTP(previous: HTTPFeedVersion?, logger: Logger) async throws(HRSourceError) -> HTTPResult {
        guard let pull = settings.http else { return .read(try readFile(), nil) }
        var collector = RecordCollector(settings: settings)
        switch try await readHTTP(pull, previous: previous, into: &collector, logger: logger) {
        case .unchanged: return .unchanged
        case .read(let version):
            try checkRecords(collector.count, source: pull.displayURL)
            return .read(collector.finish(), version)
        }
    }

    private func readFile() throws(HRSourceError) -> HRReadResult {
        let bytes: [UInt8]
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: settings.path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= settings.maxBytes else {
                throw HRSourceError(source: settings.path, reason: "is \(size / 1024 / 1024) MiB, more than max_megabytes (\(settings.maxBytes / 1024 / 1024)): "
                                    + "raise hr.sources[].max_megabytes if the export really is that large")
            }
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: settings.path)))
        } catch let error as HRSourceError {
            throw error
        } catch {
            throw HRSourceError(source: settings.path, reason: "cannot be read: \(error.localizedDescription)")
        }
        return try read(bytes: bytes)
    }

    /// The source's contents already in memory, read as its format says (places name the
    /// configured path): what a file read does after reading the file.
    public func read(bytes: [UInt8]) throws(HRSourceError) -> HRReadResult {
        var collector = RecordCollector(settings: settings)
        // About one record per 100 bytes: the id index grows once or twice instead of ~17 times.
        collector.reserve(bytes.count / 100)
        switch settings.format {
        case .csv: try readCSV(bytes, into: &collector)
        case .json: try readJSON(bytes, into: &collector)
        case .ndjson: readNDJSON(bytes, into: &collector)
        }
        try checkRecords(collector.count, source: settings.path)
        return collector.finish()
    }

    private func checkRecords(_ count: Int, source: String) throws(HRSourceError) {
        guard count <= settings.maxRecords else {
            throw HRSourceError(source: source, reason: "holds more than max_records (\(settings.maxRecords)) records: "
                                + "raise hr.sources[].max_records if the export really is that large")
        }
    }

    /// Pages of JSON (records at `recordsPath`, the next link at the paging's key path) or NDJSON;
    /// records are numbered across pages.
    private func readHTTP(_ pull: HTTPPull, previous: HTTPFeedVersion?, into collector: inout RecordCollector,
                          logger: Logger) async throws(HRSourceError) -> HTTPFeedRead {
        let reader = HTTPPageReader(pull: pull, source: settings.name, logger: logger)
        let source = pull.displayURL
        var number = 0
        var bytes = 0
        return try await reader.read(previous: previous) { (page: Int, body: [UInt8]) throws(HRSourceError) -> (next: String?, records: Int) in
            bytes += body.count
            guard bytes <= settings.maxBytes else {
                throw HRSourceError(source: source, reason: "page \(page) takes the feed past max_megabytes (\(settings.maxBytes / 1024 / 1024)): "
                                    + "raise hr.sources[].max_megabytes if the feed really is that large")
            }
            try checkRecords(number, source: source)
            switch settings.format {
            case .json:
                let document: HRJSON
                do {
                    document = try JSONDecoder().decode(HRJSON.self, from: Data(body))
                } catch {
                    throw HRSourceError(source: source, reason: "page \(page) is not JSON: \(HRJSON.describe(error))")
                }
                let container = settings.recordsPath.map { document.at(path: $0) } ?? document
                guard case .array(let items)? = container else {
                    let place = settings.recordsPath.map { "at \"\($0)\"" } ?? "at the top level"
                    throw HRSourceError(source: source, reason: "page \(page) holds no array of records \(place)")
                }
                for item in items {
                    number += 1
                    collector.add(json: item, at: SourceLocation(source: source, record: number))
                }
                var next: String?
                if case .nextLink(let path) = pull.paging, case .text(let link)? = document.at(path: path) { next = link }
                return (next, items.count)
            case .ndjson:
                let before = number
                eachLine(body) { line, slice in
                    number += 1
                    collector.add(ndjson: slice, at: SourceLocation(source: source, record: number), recordsPath: settings.recordsPath)
                }
                return (nil, number - before)
            case .csv:
                throw HRSourceError(source: source, reason: "CSV over HTTP is not supported; export JSON or NDJSON")
            }
        }
    }

    private func readCSV(_ bytes: [UInt8], into collector: inout RecordCollector) throws(HRSourceError) {
        let path = settings.path
        var parser = CSVParser(bytes: bytes)
        let header: CSVParser.Record
        do {
            guard let first = try parser.next() else {
                throw HRSourceError(source: path, reason: "the file is empty (no header row)")
            }
            header = first
        } catch let error as CSVParser.SyntaxError {
            throw HRSourceError(source: path, location: SourceLocation(source: path, line: error.line), reason: error.reason)
        } catch let error as HRSourceError {
            throw error
        } catch {
            throw HRSourceError(source: path, reason: "\(error)")
        }
        var index: [String: Int] = [:]
        for (position, name) in header.fields.enumerated() {
            let trimmed = name.trimmedOfWhitespace()
            index[trimmed] = index[trimmed] ?? position
        }
        var positions = [Int?](repeating: nil, count: PersonField.allCases.count)
        for (field, rule) in settings.fields {
            guard let position = index[rule.from] else {
                throw HRSourceError(source: path, location: SourceLocation(source: path, line: 1),
                                    reason: "the header has no column \"\(rule.from)\" (mapped to \(field.rawValue)); columns are: \(header.fields.joined(separator: ", "))")
            }
            positions[field.ordinal] = position
        }
        let width = header.fields.count
        while true {
            let row: CSVParser.Record
            do {
                guard let next = try parser.next() else { break }
                row = next
            } catch {
                let location = SourceLocation(source: path, line: error.line)
                guard error.recoverable else { throw HRSourceError(source: path, location: location, reason: error.reason) }
                collector.reject(at: location, error.reason)
                continue
            }
            let location = SourceLocation(source: path, line: row.line)
            guard row.fields.count == width else {
                collector.reject(at: location, "\(row.fields.count) fields where the header has \(width)")
                continue
            }
            collector.add(at: location) { field in positions[field.ordinal].map { row.fields[$0] } }
        }
    }

    private func readJSON(_ bytes: [UInt8], into collector: inout RecordCollector) throws(HRSourceError) {
        let path = settings.path
        let document: HRJSON
        do {
            document = try JSONDecoder().decode(HRJSON.self, from: Data(bytes))
        } catch {
            throw HRSourceError(source: path, reason: "is not JSON: \(HRJSON.describe(error))")
        }
        let container = settings.recordsPath.map { document.at(path: $0) } ?? document
        guard case .array(let items)? = container else {
            let place = settings.recordsPath.map { "at \"\($0)\"" } ?? "at the top level"
            throw HRSourceError(source: path, reason: "holds no array of records \(place)")
        }
        for (offset, item) in items.enumerated() {
            collector.add(json: item, at: SourceLocation(source: path, record: offset + 1))
        }
    }

    private func readNDJSON(_ bytes: [UInt8], into collector: inout RecordCollector) {
        eachLine(bytes) { line, slice in
            collector.add(ndjson: slice, at: SourceLocation(source: settings.path, line: line), recordsPath: settings.recordsPath)
        }
    }

    /// Each non-blank line with its physical number (1-based); a leading byte order mark is skipped.
    private func eachLine(_ bytes: [UInt8], _ body: (Int, ArraySlice<UInt8>) -> Void) {
        var line = 0
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count {
            line += 1
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let slice = bytes[start..<end]
            start = end + 1
            guard slice.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }) else { continue }
            body(line, slice)
        }
    }
}

/// Maps records as they are read and keeps the source's rejected records and duplicate ids.
struct RecordCollector {
    let settings: HRSourceSettings
    let mapper: RecordMapper
    private var records: [HRRecord] = []
    /// Records seen so far, used or rejected.
    var count: Int { records.count + rejected.count }
    private var rejected: [RejectedRow] = []
    /// The first record (used or rejected) that carried each id.
    private var firstByID: [String: SourceLocation] = [:]
    private var duplicateIDs = Set<String>()

    init(settings: HRSourceSettings) {
        self.settings = settings
        self.mapper = RecordMapper(settings: settings)
    }

    mutating func reserve(_ count: Int) {
        records.reserveCapacity(count)
        firstByID.reserveCapacity(count)
    }

    mutating func reject(at location: SourceLocation, _ reason: String) {
        rejected.append(RejectedRow(source: settings.name, location: location, reason: reason))
    }

    mutating func add(at location: SourceLocation, raw: (PersonField) -> String?) {
        switch mapper.map(at: location, raw: raw) {
        case .success(let record):
            if let first = firstByID[record.employeeID] {
                duplicateIDs.insert(record.employeeID)
                reject(at: location, "employee id \(record.employeeID) also at \(first.isRecordNumber ? "record" : "line") \(first.line); the id is disputed and neither record is used")
            } else {
                firstByID[record.employeeID] = location
                records.append(record)
            }
        case .failure(let problem):
            reject(at: location, problem.text)
            if let id = problem.employeeID {
                if firstByID[id] != nil { duplicateIDs.insert(id) } else { firstByID[id] = location }
            }
        }
    }

    /// One NDJSON line: the record is the line's object, or the value at `recordsPath` in it.
    mutating func add(ndjson line: ArraySlice<UInt8>, at location: SourceLocation, recordsPath: String?) {
        let object: HRJSON
        do {
            object = try JSONDecoder().decode(HRJSON.self, from: Data(line))
        } catch {
            reject(at: location, "is not JSON: \(HRJSON.describe(error))")
            return
        }
        guard let record = recordsPath.map({ object.at(path: $0) }) ?? object else {
            reject(at: location, "has no record at \"\(recordsPath ?? "")\"")
            return
        }
        add(json: record, at: location)
    }

    /// A JSON record: each mapped field is looked up by its dotted path; a field that holds an
    /// object or array instead of a value rejects the record.
    mutating func add(json record: HRJSON, at location: SourceLocation) {
        guard case .object = record else {
            reject(at: location, "is not a JSON object")
            return
        }
        var texts = [String?](repeating: nil, count: PersonField.allCases.count)
        for (field, rule) in settings.fields {
            switch record.at(path: rule.from) {
            case nil, .null?: break
            case .text(let text)?: texts[field.ordinal] = text
            case .array?, .object?:
                reject(at: location, "\(rule.from) (mapped to \(field.rawValue)) holds a JSON \(record.at(path: rule.from)?.kind ?? "value"), not a value")
                return
            }
        }
        add(at: location) { texts[$0.ordinal] }
    }

    func finish() -> HRReadResult {
        var records = self.records
        var rejected = self.rejected
        if !duplicateIDs.isEmpty {
            for record in records where duplicateIDs.contains(record.employeeID) {
                rejected.append(RejectedRow(source: settings.name, location: record.origin,
                                            reason: "employee id \(record.employeeID) appears on several records; the id is disputed and neither record is used"))
            }
            records.removeAll { duplicateIDs.contains($0.employeeID) }
            rejected.sort { $0.location.line < $1.location.line }
        }
        var result = HRReadResult(records: records, rejected: rejected, countsBySource: [settings.name: records.count])
        if !rejected.isEmpty {
            let used = Set(records.map(\.employeeID))
            result.unusableIDs = Set(firstByID.keys.filter { !used.contains($0) })
        }
        return result
    }
}

/// JSON as HR sources need it: scalars as text (numbers as written in their shortest form,
/// booleans as true/false), objects and arrays to navigate.
enum HRJSON: Decodable, Sendable {
    case null
    case text(String)
    case array([HRJSON])
    case object([String: HRJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .text(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .text(value ? "true" : "false")
        } else if let value = try? container.decode(Int64.self) {
            self = .text(String(value))
        } else if let value = try? container.decode(Double.self) {
            self = .text(value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value))
        } else if let value = try? container.decode([HRJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: HRJSON].self))
        }
    }

    /// The value at a dotted key path (`record.data`), nil when any step is missing.
    func at(path: String) -> HRJSON? {
        // A key that itself holds dots is found as written.
        if case .object(let fields) = self, let direct = fields[path] { return direct }
        var current = self
        for key in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard case .object(let fields) = current, let next = fields[String(key)] else { return nil }
            current = next
        }
        return current
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .text: "value"
        case .array: "array"
        case .object: "object"
        }
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { "\($0)" } ?? context.debugDescription
        }
        return "\(error)"
    }
}
