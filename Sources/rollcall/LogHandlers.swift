import Foundation
import Logging

/// Log lines on standard error in the form the place they go reads best: systemd's journal
/// (`<N>` syslog priority prefixes, no timestamp: the journal adds its own), JSON lines for log
/// shippers, or swift-log's plain text on a terminal.
enum LogFormat: String, CaseIterable {
    case text, json, journal

    /// journal when systemd connected standard error to the journal ($JOURNAL_STREAM), else text.
    static var automatic: LogFormat {
        ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil ? .journal : .text
    }
}

/// One line per message: journald priority prefix or JSON, metadata included (keys sorted).
struct LineLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line: String
        switch format {
        case .json:
            var object: [String: Any] = ["time": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue,
                                         "label": label, "message": event.message.description]
            if !merged.isEmpty { object["metadata"] = merged.mapValues { "\($0)" } }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        case .journal, .text:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let text = fields.isEmpty ? event.message.description : "\(fields) \(event.message.description)"
            line = "<\(Self.priority(event.level))>\(text.replacingOccurrences(of: "\n", with: " "))"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// syslog priorities (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
