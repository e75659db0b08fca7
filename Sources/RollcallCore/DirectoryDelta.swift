/// Turns a directory delta (syncrepl, later DirSync/USN) into the account list a complete read
/// would have returned, so the rest of a run does not care how the directory was read.
///
/// A delta only says what to re-read: unchanged accounts come from the store as they were last
/// read. Periodic full reads remain the safety net for anything a delta missed.
public enum DirectoryDelta {
    /// - Parameters:
    ///   - stored: the accounts as stored after the last applied run.
    ///   - changed: accounts added or modified since the cookie, as read now.
    ///   - deleted: anchors the directory reports deleted.
    ///   - present: when the directory listed every entry still present (a present phase), those
    ///     anchors: stored accounts neither present nor changed are gone. nil when it sent only
    ///     changes and deletions.
    public static func apply(stored: [String: StoredAccount], changed: [DirectoryAccount], deleted: Set<String>,
                             present: Set<String>?) -> [DirectoryAccount] {
        var byAnchor: [String: DirectoryAccount] = [:]
        byAnchor.reserveCapacity(stored.count + changed.count)
        for (anchor, account) in stored where !deleted.contains(anchor) && (present?.contains(anchor) ?? true) {
            byAnchor[anchor] = account.asRead
        }
        for account in changed where !deleted.contains(account.anchor) {
            byAnchor[account.anchor] = account
        }
        return Array(byAnchor.values)
    }
}
