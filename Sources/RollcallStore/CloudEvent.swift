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

    /// Compact JSON with sorted keys: the same event always has the same bytes (those the feed
    /// serves, see `line`).
    public func jsonLine() throws -> String {
        CloudEvent.line(id: id, source: source, type: type, subject: subject, time: time, seq: rollcallseq, data: CanonicalJSON.text(data))
    }

    /// An event as canonical JSON (keys sorted, compact) straight from an outbox row: `data` is
    /// the stored canonical JSON text, copied as it is (no parse, no re-encoding: the feed serves
    /// a million events this way). nil data: the thin view, every attribute but `data` and
    /// `datacontenttype`.
    public static func line(id: String, source: String, type: String, subject: String, time: String, seq: Int64, data: String?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(200 + (data?.utf8.count ?? 0))
        out.append(UInt8(ascii: "{"))
        if let data {
            out.append(contentsOf: #""data":"#.utf8)
            out.append(contentsOf: data.utf8)
            out.append(contentsOf: #","datacontenttype":"application/json","#.utf8)
        }
        out.append(contentsOf: #""id":"#.utf8)
        CanonicalJSON.writeString(id, into: &out)
        out.append(contentsOf: #","rollcallseq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","source":"#.utf8)
        CanonicalJSON.writeString(source, into: &out)
        out.append(contentsOf: #","specversion":"1.0","subject":"#.utf8)
        CanonicalJSON.writeString(subject, into: &out)
        out.append(contentsOf: #","time":"#.utf8)
        CanonicalJSON.writeString(time, into: &out)
        out.append(contentsOf: #","type":"#.utf8)
        CanonicalJSON.writeString(type, into: &out)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension CloudEvent {
    /// Sorted keys, no escaped slashes: for the run summary stored with each run.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// An event as the feed serves it: its sequence number and type (for SSE's `id:` and `event:`)
/// and its JSON.
public struct FeedEvent: Sendable {
    public var seq: Int64
    public var type: String
    public var id: String
    public var json: String
}

/// RFC 3339 UTC timestamps with seconds, as CloudEvents `time` wants.
/// ISO 8601 UTC times as the store writes them (second precision, `Z`).
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
