/// Canonical JSON text: object keys sorted by their UTF-8 bytes, no insignificant white space,
/// only the escapes JSON requires. The same value always gives the same bytes, which the outbox
/// (stable event bodies) and later the audit hash chain rely on.
///
/// Hand-written because Foundation's JSONEncoder is the single largest cost of writing 100 k
/// events (measured in docs/benchmarks.md) and does not promise a canonical form.
public enum CanonicalJSON {
    public static func text(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// An attribute map (name → values) as a canonical JSON object of arrays.
    public static func text(_ attributes: [String: [String]]) -> String {
        text(.object(attributes.mapValues { .array($0.map(JSONValue.string)) }))
    }

    /// An attribute map written straight from values: `names` must be sorted by UTF-8 bytes and
    /// `values[i]` belongs to `names[i]` (nil: the attribute is absent and left out). The same text
    /// as `text(_: [String: [String]])` without building a dictionary per entry.
    public static func attributes(sortedNames names: [String], values: [[String]?]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for (name, list) in zip(names, values) {
            guard let list else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            writeString(name, into: &out)
            out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: "[")])
            for (index, value) in list.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(value, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Sorts names the way canonical JSON orders object keys.
    public static func sortedKeys(_ names: [String]) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): out.append(contentsOf: String(number).utf8)
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            let sorted = fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, field) in sorted.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(field.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(field.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes canonical JSON straight into bytes, for the hot paths (event data and audit content
    /// of a first load) where building a `JSONValue` tree first was the largest cost. The caller
    /// writes each object's keys in canonical order (by UTF-8 bytes; checked in debug builds);
    /// the result is then the same text `text` gives for the equivalent `JSONValue`.
    public struct Writer {
        public private(set) var bytes: [UInt8] = []
        private var needsComma = false
        private var lastKeys: [String?] = []

        public init(capacity: Int = 512) {
            bytes.reserveCapacity(capacity)
        }

        public var text: String { String(decoding: bytes, as: UTF8.self) }

        private mutating func separate() {
            if needsComma { bytes.append(UInt8(ascii: ",")) }
        }

        public mutating func beginObject() {
            separate()
            bytes.append(UInt8(ascii: "{"))
            lastKeys.append(nil)
            needsComma = false
        }

        public mutating func endObject() {
            bytes.append(UInt8(ascii: "}"))
            lastKeys.removeLast()
            needsComma = true
        }

        public mutating func beginArray() {
            separate()
            bytes.append(UInt8(ascii: "["))
            lastKeys.append(nil)
            needsComma = false
        }

        public mutating func endArray() {
            bytes.append(UInt8(ascii: "]"))
            lastKeys.removeLast()
            needsComma = true
        }

        /// An object's key; the value written next belongs to it.
        public mutating func key(_ name: String) {
            assert(lastKeys.last.map { previous in previous.map { $0.utf8.lexicographicallyPrecedes(name.utf8) } ?? true } ?? false,
                   "canonical JSON keys out of order: \(name)")
            if !lastKeys.isEmpty { lastKeys[lastKeys.count - 1] = name }
            separate()
            CanonicalJSON.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            needsComma = false
        }

        public mutating func string(_ text: String?) {
            separate()
            if let text { CanonicalJSON.writeString(text, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
            needsComma = true
        }

        public mutating func int(_ number: Int) {
            separate()
            bytes.append(contentsOf: String(number).utf8)
            needsComma = true
        }

        public mutating func bool(_ flag: Bool?) {
            separate()
            bytes.append(contentsOf: (flag.map { $0 ? "true" : "false" } ?? "null").utf8)
            needsComma = true
        }

        public mutating func value(_ value: JSONValue) {
            separate()
            CanonicalJSON.write(value, into: &bytes)
            needsComma = true
        }

        /// Text that is already canonical JSON (a value written by `text` or another writer).
        public mutating func raw(_ canonical: String) {
            separate()
            bytes.append(contentsOf: canonical.utf8)
            needsComma = true
        }

        /// A key and a string (null when nil).
        public mutating func field(_ name: String, _ text: String?) {
            key(name)
            string(text)
        }
    }

    /// `text` as a JSON string (quoted, escaped) appended to `out`.
    public static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most values need no escaping: copy them in one go.
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        } ?? !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
        if plain {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// An attribute map read back from the text `text(_: [String: [String]])` and
    /// `attributes(sortedNames:values:)` write: an object of arrays of strings, with the escapes
    /// `writeString` makes. nil for anything else (the caller falls back to a JSON decoder).
    /// Several times faster than JSONDecoder, which a first load calls once per linked account.
    public static func attributeMap(_ text: String) -> [String: [String]]? {
        var text = text
        return text.withUTF8 { bytes -> [String: [String]]? in
            var reader = Reader(bytes: bytes)
            return reader.attributeMap()
        }
    }

    /// Any JSON value read back from canonical text (what `text` and `Writer` write: integers,
    /// no insignificant white space, the writer's escapes). nil for anything else; callers fall
    /// back to a JSON decoder. Event data is kept as text and read back only where a decision
    /// needs a field of it.
    public static func value(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { bytes -> JSONValue? in
            var reader = Reader(bytes: bytes)
            guard let value = reader.value(depth: 0), reader.index == bytes.count else { return nil }
            return value
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func value(depth: Int) -> JSONValue? {
            guard index < bytes.count, depth < 64 else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "{"):
                index += 1
                var fields: [String: JSONValue] = [:]
                if take(UInt8(ascii: "}")) { return .object(fields) }
                repeat {
                    guard let name = string(), take(UInt8(ascii: ":")), let item = value(depth: depth + 1) else { return nil }
                    fields[name] = item
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "}")) ? .object(fields) : nil
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONValue] = []
                if take(UInt8(ascii: "]")) { return .array(items) }
                repeat {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "]")) ? .array(items) : nil
            case UInt8(ascii: "n"): return word("null") ? .null : nil
            case UInt8(ascii: "t"): return word("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return word("false") ? .bool(false) : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                // Fractions and exponents are not canonical here: left to a full decoder.
                if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
                return Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)).map(JSONValue.int)
            default: return nil
            }
        }

        mutating func word(_ literal: String) -> Bool {
            let expected = literal.utf8
            guard index + expected.count <= bytes.count,
                  UnsafeBufferPointer(rebasing: bytes[index..<index + expected.count]).elementsEqual(expected) else { return false }
            index += expected.count
            return true
        }

        mutating func attributeMap() -> [String: [String]]? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var map: [String: [String]] = [:]
            if take(UInt8(ascii: "}")) { return index == bytes.count ? map : nil }
            repeat {
                guard let name = string(), take(UInt8(ascii: ":")), take(UInt8(ascii: "[")) else { return nil }
                var values: [String] = []
                if !take(UInt8(ascii: "]")) {
                    repeat {
                        guard let value = string() else { return nil }
                        values.append(value)
                    } while take(UInt8(ascii: ","))
                    guard take(UInt8(ascii: "]")) else { return nil }
                }
                map[name] = values
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")), index == bytes.count else { return nil }
            return map
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A quoted string with the writer's escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\u00XX`).
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // The common case: no escape before the closing quote.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        // Only the control characters the writer escapes: anything else is left to a full decoder.
                        guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "0"),
                              let high = Reader.hex(bytes[index + 2]), let low = Reader.hex(bytes[index + 3]), high < 2 else { return nil }
                        out.append(high << 4 | low)
                        index += 4
                    default: return nil
                    }
                case 0x00..<0x20: return nil
                default: out.append(byte)
                }
            }
            return nil
        }

        static func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}
