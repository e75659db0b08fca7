/// An RFC 4180 CSV tokenizer over UTF-8 bytes: quoted fields, doubled quotes, commas and line
/// breaks (LF or CRLF) inside quotes, and a leading UTF-8 byte order mark.
///
/// Hand-written because the CSV libraries available here do not report the physical line a record
/// starts on, and every rejected HR row must be reported as file:line.
public struct CSVParser: Sendable {
    public struct Record: Sendable {
        /// The physical line (1-based) the record starts on.
        public var line: Int
        public var fields: [String]
    }

    public struct SyntaxError: Error, Sendable {
        public var line: Int
        public var reason: String
        /// The parser skipped to the next line and can go on; otherwise the rest of the input is unusable.
        public var recoverable: Bool
    }

    private let bytes: [UInt8]
    private var index: Int
    private var line = 1

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        self.index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// The next record, nil at the end of input. Blank lines are skipped.
    public mutating func next() throws(SyntaxError) -> Record? {
        while index < bytes.count, bytes[index] == CSVParser.lf || bytes[index] == CSVParser.cr {
            consumeLineBreak()
        }
        guard index < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        while true {
            let field = try readField(recordLine: start)
            fields.append(field)
            if index >= bytes.count { break }
            if bytes[index] == CSVParser.comma {
                index += 1
                continue
            }
            consumeLineBreak()
            break
        }
        return Record(line: start, fields: fields)
    }

    private mutating func consumeLineBreak() {
        if bytes[index] == CSVParser.cr { index += 1 }
        if index < bytes.count, bytes[index] == CSVParser.lf { index += 1 }
        line += 1
    }

    private mutating func readField(recordLine: Int) throws(SyntaxError) -> String {
        guard index < bytes.count, bytes[index] == CSVParser.quote else {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == CSVParser.comma || byte == CSVParser.lf || byte == CSVParser.cr { break }
                if byte == CSVParser.quote {
                    throw skipRestOfLine("a quote inside an unquoted field (RFC 4180 wants the whole field quoted)")
                }
                index += 1
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        index += 1
        var value: [UInt8] = []
        while true {
            guard index < bytes.count else {
                throw SyntaxError(line: recordLine, reason: "a quoted field is never closed", recoverable: false)
            }
            let byte = bytes[index]
            if byte == CSVParser.quote {
                if index + 1 < bytes.count, bytes[index + 1] == CSVParser.quote {
                    value.append(CSVParser.quote)
                    index += 2
                    continue
                }
                index += 1
                break
            }
            if byte == CSVParser.lf { line += 1 }
            value.append(byte)
            index += 1
        }
        if index < bytes.count, ![CSVParser.comma, CSVParser.lf, CSVParser.cr].contains(bytes[index]) {
            throw skipRestOfLine("text after the closing quote of a field")
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// Moves past the current physical line so that parsing can resume with the next record.
    private mutating func skipRestOfLine(_ reason: String) -> SyntaxError {
        let at = line
        while index < bytes.count, bytes[index] != CSVParser.lf, bytes[index] != CSVParser.cr { index += 1 }
        if index < bytes.count { consumeLineBreak() }
        return SyntaxError(line: at, reason: reason, recoverable: true)
    }
}
