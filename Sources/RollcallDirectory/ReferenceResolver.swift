import Foundation

/// Resolves DN-valued references between entries (manager, secretary, seeAlso …). Real data holds
/// partial values: OpenLDAP's its9282 test data has `manager: cn=Crissie Wayler`, an RDN without
/// its parent. A value is resolved when it names an entry of the read exactly, or when it is a
/// single RDN that names exactly one entry; everything else is reported, never guessed.
public enum ReferenceResolver {
    public struct Unresolved: Sendable, Hashable, CustomStringConvertible {
        public var entryDN: String
        public var value: String
        public var reason: String

        public var description: String { "\(entryDN): \(value) \(reason)" }
    }

    public struct Report: Sendable {
        /// Entry DN → the DNs its references resolved to.
        public var resolved: [String: [String]]
        public var unresolved: [Unresolved]
    }

    public static func resolve(entries: [LDAPEntry], attribute: String) -> Report {
        var byDN: [String: String] = [:]
        var byRDN: [String: [String]] = [:]
        for entry in entries {
            let normalized = normalize(entry.dn)
            byDN[normalized] = entry.dn
            byRDN[firstRDN(normalized), default: []].append(entry.dn)
        }
        var report = Report(resolved: [:], unresolved: [])
        for entry in entries {
            for value in entry.strings(attribute) ?? [] {
                let normalized = normalize(value)
                if let target = byDN[normalized] {
                    report.resolved[entry.dn, default: []].append(target)
                } else if !normalized.contains(",") {
                    let candidates = byRDN[normalized] ?? []
                    if candidates.count == 1 {
                        report.resolved[entry.dn, default: []].append(candidates[0])
                    } else {
                        report.unresolved.append(Unresolved(entryDN: entry.dn, value: value, reason: candidates.isEmpty
                            ? "is a partial DN that matches no entry read"
                            : "is a partial DN that matches \(candidates.count) entries"))
                    }
                } else {
                    report.unresolved.append(Unresolved(entryDN: entry.dn, value: value, reason: "names no entry read"))
                }
            }
        }
        return report
    }

    /// Lower-cased, without spaces around separators (`cn=X, ou=Y` and `CN=x,OU=y` compare equal).
    /// Approximate: an escaped comma (`cn=Smith\\, John`) is split like a separator, so two names
    /// that differ only by spaces after an escaped comma compare equal.
    static func normalize(_ dn: String) -> String {
        dn.split(separator: ",").map { component in
            component.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "=")
        }.joined(separator: ",").lowercased()
    }

    static func firstRDN(_ normalized: String) -> String {
        String(normalized.prefix { $0 != "," })
    }
}
