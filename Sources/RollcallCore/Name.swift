/// Names an operator gives (directories, HR sources, consumers, webhooks, credentials): letters,
/// digits, `.`, `_`, `-`, 1 to 64 of them, so that they are safe in paths, metrics labels, logs
/// and URLs as they are.
public enum Name {
    public static func isValid(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// What `isValid` asks for, for error messages.
    public static let rule = "1 to 64 letters, digits, dots, dashes or underscores"
}
