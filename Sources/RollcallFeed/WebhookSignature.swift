import Crypto
import Foundation

/// Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of `ID.TIMESTAMP.BODY`, keyed
/// with the secret's bytes (the base64 after `whsec_`); one per secret, space-separated, so a
/// receiver verifies during a rotation with either its old or its new secret.
public enum WebhookSignature {
    /// The secrets in a secret file: one `whsec_…` per line (two while rotating).
    public static func secrets(_ text: String) -> [Data]? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return nil }
        var keys: [Data] = []
        for line in lines {
            guard line.hasPrefix("whsec_"), let key = Data(base64Encoded: String(line.dropFirst(6))), key.count >= 16 else { return nil }
            keys.append(key)
        }
        return keys
    }

    public static func signature(id: String, timestamp: Int64, body: String, secrets: [Data]) -> String {
        let message = Data("\(id).\(timestamp).\(body)".utf8)
        return secrets.map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))).base64EncodedString()
        }.joined(separator: " ")
    }
}
