import Foundation
import Logging
import Synchronization

/// The daemon's HR files read once per change: a file source whose file has the same device,
/// inode, size and modification time as when it was last read is not parsed again; its last
/// result is used. (HTTP sources are fetched every run.)
public final class HRFileCache: Sendable {
    struct Stamp: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64
    }

    private let entries = Mutex<[String: (stamp: Stamp, result: HRReadResult)]>([:])

    public init() {}

    /// The source's result: from the cache when its file is unchanged, else read (and kept).
    func read(_ settings: HRSourceSettings, logger: Logger) async throws(HRSourceError) -> HRReadResult {
        guard settings.http == nil, let stamp = Self.stamp(settings.path) else {
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

    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                     modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }
}
