import Foundation

/// A small LDIF reader for test data written by others: folded lines, `::` base64 values,
/// comments and `version:` lines. Values come back as raw bytes.
public enum LDIFReader {
    public struct Entry: Sendable {
        public var dn: String
        public var attributes: [(name: String, value: [UInt8])]

        public func values(_ name: String) -> [[UInt8]] {
            attributes.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }

        public func strings(_ name: String) -> [String] {
            values(name).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    public static func entries(_ text: String) -> [Entry] {
        var logical: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map({ String($0.hasSuffix("\r") ? $0.dropLast() : $0) }) {
            if line.hasPrefix(" "), let last = logical.popLast(), !last.isEmpty {
                logical.append(last + line.dropFirst())
            } else if !line.hasPrefix("#") {
                logical.append(line)
            }
        }
        var entries: [Entry] = []
        var current: Entry?
        for line in logical + [""] {
            if line.isEmpty {
                if let entry = current { entries.append(entry) }
                current = nil
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            var rest = line[line.index(after: colon)...]
            var value: [UInt8]
            if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                value = Array(Data(base64Encoded: rest.trimmingCharacters(in: .whitespaces)) ?? Data())
            } else {
                value = Array(rest.drop { $0 == " " }.utf8)
            }
            if name.lowercased() == "dn" {
                current = Entry(dn: String(decoding: value, as: UTF8.self), attributes: [])
            } else if name.lowercased() != "version" {
                current?.attributes.append((name: name, value: value))
            }
        }
        return entries
    }
}
