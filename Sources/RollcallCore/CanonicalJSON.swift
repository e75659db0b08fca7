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

    /// `text` as a JSON string (quoted, escaped) appended to `out`.
    public static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most values need no escaping: copy them in one go.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
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

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

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
