import Foundation

/// One CSV record (RFC 4180): fields with a comma, quote or line break are quoted, quotes doubled.
/// A field a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe:
/// these exports carry names from HR.
public enum CSVLine {
    public static func make(_ fields: [String?]) -> String {
        fields.map { field in
            guard var value = field else { return "" }
            if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }
}
