import Foundation
import Logging
import Synchronization

/// The daemon's HR sources read once per change. A file source whose file has the same device,
/// inode, size and modification time as when it was last read is not parsed again; an HTTP
/// source is asked with its pages' validators (ETag, Last-Modified) and, when every page answers
/// 304 Not Modified, not parsed again; within its `refresh_minutes` it is not asked at all.
/// Either way the last result is used.
public final class HRReadCache: Sendable {
    struct Stamp: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64
    }

    private let entries = Mutex<[String: (stamp: Stamp, result: HRReadResult)]>([:])
    private let feeds = Mutex<[String: (version: HTTPFeedVersion?, fetchedAt: ContinuousClock.Instant, result: HRReadResult)]>([:])

    public init() {}

    /// The source's result: from the cache when its file or feed is unchanged, else read (and kept).
    func read(_ settings: HRSourceSettings, logger: Logger) async throws(HRSourceError) -> HRReadResult {
        if let pull = settings.http { return try await readFeed(settings, pull: pull, logger: logger) }
        guard let stamp = Self.stamp(settings.path) else {
            return try await HRSource(settings: settings).read(logger: logger)
        }
        let key = settings.name + "\u{0}" + settings.path
        if let cached = entries.withLock({ $0[key] }), cached.stamp == stamp {
            logger.debug("HR file unchanged: last read reused", metadata: ["hr.source": "\(settings.name)"])
            return cached.result
        }
        let result = try await HRSource(settings: settings).read(logger: logger)
        // Kept only if the file did not change while it was read.
        if Self.stamp(settings.path) == stamp { entries.withLock { $0[key] = (stamp, result) } }
        return result
    }

    private func readFeed(_ settings: HRSourceSettings, pull: HTTPPull, logger: Logger) async throws(HRSourceError) -> HRReadResult {
        let key = settings.name + "\u{0}" + pull.url
        let cached = feeds.withLock { $0[key] }
        if let cached, let refresh = settings.refreshSeconds, ContinuousClock.now - cached.fetchedAt < .seconds(refresh) {
            logger.debug("HR feed read less than refresh_minutes ago: last read reused", metadata: ["hr.source": "\(settings.name)"])
            return cached.result
        }
        switch try await HRSource(settings: settings).readHTTP(previous: cached?.version, logger: logger) {
        case .unchanged:
            guard let cached else { return try await HRSource(settings: settings).read(logger: logger) }
            logger.info("HR feed unchanged (304 Not Modified): last read reused", metadata: ["hr.source": "\(settings.name)"])
            feeds.withLock { $0[key] = (cached.version, .now, cached.result) }
            return cached.result
        case .read(let result, let version):
            feeds.withLock { $0[key] = (version, .now, result) }
            return result
        }
    }

    /// When a file source's file changed since it was last read: the changed files' current
    /// stamps as one text (equal texts: nothing moved since), else nil. Files not read yet and
    /// HTTP sources do not count.
    public func changedFiles(_ sources: [HRSourceSettings]) -> String? {
        let known = entries.withLock { $0 }
        var changed: [String] = []
        for settings in sources where settings.http == nil {
            guard let cached = known[settings.name + "\u{0}" + settings.path] else { continue }
            let now = Self.stamp(settings.path)
            if now != cached.stamp { changed.append("\(settings.name) \(now.map { "\($0)" } ?? "gone")") }
        }
        return changed.isEmpty ? nil : changed.joined(separator: "\n")
    }

    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                     modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }
}
