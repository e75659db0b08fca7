import Foundation
import RollcallCore

/// An outbox row rendered as a CloudEvents 1.0 structured-mode JSON event.
public struct CloudEvent: Sendable, Codable, Hashable {
    public var specversion = "1.0"
    public var id: String
    public var source: String
    public var type: String
    public var subject: String
    public var time: String
    public var datacontenttype = "application/json"
    /// Extension attribute: the gap-free outbox sequence number. Named `rollcallseq`, not `sequence`, because the CloudEvents sequence extension defines `sequence` as a string.
    public var rollcallseq: Int64
    public var data: JSONValue

    /// Compact JSON with sorted keys: the same event always has the same bytes.
    public func jsonLine() throws -> String {
        String(decoding: try CloudEvent.encoder.encode(self), as: UTF8.self)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// RFC 3339 UTC timestamps with seconds, as CloudEvents `time` wants.
enum Timestamp {
    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
