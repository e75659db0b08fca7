import Foundation

/// A secret read from a file named in the configuration: the bytes up to trailing line breaks.
/// Callers name the configuration key in their errors; the content never appears in one.
public enum SecretFile {
    /// The secret, or nil when the file cannot be read; empty when the file holds nothing else.
    public static func contents(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var bytes = Array(data)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }
}
