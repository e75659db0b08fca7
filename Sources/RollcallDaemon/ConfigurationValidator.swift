import Foundation
import RollcallCore
import RollcallDirectory
import RollcallHR

/// Checks the decoded configuration's values and turns them into module settings.
struct ConfigurationValidator {
    let file: String
    let base: URL
    /// false for a CLI that only hands a command to the daemon: the files the configuration names
    /// (secrets, certificates) are the daemon's to read, not the admin's.
    var checkFiles = true

    func fail(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(file: file, key: key, reason: reason)
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
    }

    func resolve(_ raw: Configuration) throws(ConfigurationError) -> ResolvedConfiguration {
        guard !raw.events.source.isEmpty, !raw.events.source.contains(" ") else {
            throw fail("events.source", "must be a non-empty URI reference without spaces, e.g. urn:rollcall:prod")
        }
        let retentionDays = raw.events.retentionDays ?? 90
        guard (1...36_500).contains(retentionDays) else {
            throw fail("events.retention_days", "must be a number of days from 1 to 36500")
        }
        let dormantAfterDays = raw.reports?.dormantAfterDays ?? 90
        guard (1...36_500).contains(dormantAfterDays) else {
            throw fail("reports.dormant_after_days", "must be a number of days from 1 to 36500")
        }
        let sources = try hrSources(raw.hr.sources)
        guard !raw.directories.isEmpty else { throw fail("directories", "must list at least one directory") }
        var directories: [ResolvedDirectory] = []
        var names: [String: String] = [:]
        for (index, section) in raw.directories.enumerated() {
            let key = "directories[\(index)]"
            let name = try uniqueName(section.name, key: key, count: raw.directories.count, fallback: "default", names: &names)
            directories.append(try directory(section, name: name, key: key, sources: sources))
        }
        let prehire = raw.lifecycle?.prehireDays ?? 7
        guard (0...366).contains(prehire) else { throw fail("lifecycle.prehire_days", "must be between 0 and 366") }
        let grace = raw.lifecycle?.deprovisionAfterDays ?? 30
        guard (0...3650).contains(grace) else { throw fail("lifecycle.deprovision_after_days", "must be between 0 and 3650") }
        let purge = raw.lifecycle?.purgeAfterDays
        var tombstoneKeyFile: String?
        if let purge {
            guard (grace...36500).contains(purge) else {
                throw fail("lifecycle.purge_after_days", "must be between deprovision_after_days (\(grace)) and 36500")
            }
            guard let file = raw.lifecycle?.tombstoneKeyFile else {
                throw fail("lifecycle.tombstone_key_file", "is required with purge_after_days: a file with at least 16 secret bytes that keys the tombstones' hashes")
            }
            tombstoneKeyFile = try secretFile(file, key: "lifecycle.tombstone_key_file", content: .binary)
        } else if raw.lifecycle?.tombstoneKeyFile != nil {
            throw fail("lifecycle.tombstone_key_file", "is only used with purge_after_days")
        }
        let limits = raw.massChangeGuard
        let guardPolicy = GuardPolicy(maxDeprovisions: limits?.maxDeprovisions ?? 50, maxDeprovisionPercent: limits?.maxDeprovisionPercent ?? 5,
                                      maxShrinkPercent: limits?.maxShrinkPercent ?? 10, minimumCount: limits?.minimumCount ?? 10,
                                      maxJoiners: limits?.maxJoiners ?? 200, maxJoinerPercent: limits?.maxJoinerPercent ?? 10,
                                      firstRun: try enumValue(limits?.firstRun ?? "quarantine", key: "guard.first_run", GuardPolicy.FirstRun.self))
        guard guardPolicy.maxJoiners >= 0 else { throw fail("guard.max_joiners", "must not be negative") }
        guard (0...100).contains(guardPolicy.maxJoinerPercent) else { throw fail("guard.max_joiner_percent", "must be between 0 and 100") }
        guard guardPolicy.maxDeprovisions >= 0 else { throw fail("guard.max_deprovisions", "must not be negative") }
        guard (0...100).contains(guardPolicy.maxDeprovisionPercent) else { throw fail("guard.max_deprovision_percent", "must be between 0 and 100") }
        guard (0...100).contains(guardPolicy.maxShrinkPercent) else { throw fail("guard.max_shrink_percent", "must be between 0 and 100") }
        guard guardPolicy.minimumCount >= 1 else { throw fail("guard.minimum_count", "must be at least 1") }
        let conversion = try raw.hr.conversionKey.map { text throws(ConfigurationError) -> ConversionPolicy in
            guard text == "email" else { throw fail("hr.conversion_key", "\"\(text)\" is not supported; use email") }
            if let source = sources.first(where: { $0.fields[.email] == nil }) {
                throw fail("hr.conversion_key", "email needs an email field in every HR source; \(source.name) maps none")
            }
            let window = raw.hr.conversionWindowDays ?? 30
            guard (0...3650).contains(window) else { throw fail("hr.conversion_window_days", "must be between 0 and 3650") }
            var confirm: [PersonAttribute] = []
            for name in raw.hr.conversionConfirm ?? ["family_name"] {
                guard let attribute = PersonAttribute(rawValue: name), attribute != .status, attribute != .email else {
                    throw fail("hr.conversion_confirm", "\"\(name)\" is not a person attribute that can confirm a conversion; expected some of: family_name, given_name, display_name, department, title, location, employee_type, manager_id")
                }
                if let source = sources.first(where: { $0.fields[PersonField(rawValue: name) ?? .employeeID] == nil }) {
                    let which = raw.hr.conversionConfirm == nil ? "family_name (the default)" : name
                    throw fail("hr.conversion_confirm", "\(which) is not mapped by HR source \(source.name), so no conversion could be confirmed; map it, or set conversion_confirm: [] to convert on the e-mail and the window alone")
                }
                confirm.append(attribute)
            }
            return ConversionPolicy(key: .email, windowDays: window, confirm: confirm)
        }
        if raw.hr.conversionKey == nil, raw.hr.conversionWindowDays != nil || raw.hr.conversionConfirm != nil {
            throw fail(raw.hr.conversionWindowDays != nil ? "hr.conversion_window_days" : "hr.conversion_confirm", "is only used with hr.conversion_key")
        }
        var missing: [String: MissingPolicy] = [:]
        for (index, section) in raw.hr.sources.enumerated() {
            let key = "hr.sources[\(index)]"
            let action = try enumValue(section.onMissing ?? "report", key: "\(key).on_missing", MissingPolicy.Action.self)
            let graceDays = section.missingGraceDays ?? 7
            guard (0...3650).contains(graceDays) else { throw fail("\(key).missing_grace_days", "must be between 0 and 3650") }
            if section.missingGraceDays != nil && action != .leave {
                throw fail("\(key).missing_grace_days", "is only used with on_missing: leave")
            }
            missing[sources[index].name] = MissingPolicy(action: action, graceDays: graceDays)
        }
        let zoneName = raw.lifecycle?.timeZone ?? "UTC"
        guard let timeZone = TimeZone(identifier: zoneName) else {
            throw fail("lifecycle.time_zone", "\"\(zoneName)\" is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)")
        }
        let meaning = try enumValue(raw.lifecycle?.terminationDateIs ?? "last_day_worked", key: "lifecycle.termination_date_is",
                                    TerminationDateMeaning.self)
        let serve = try serveSettings(raw.serve)
        let disableWithin = raw.lifecycle?.disableWithinHours ?? 24
        guard (0...8760).contains(disableWithin) else { throw fail("lifecycle.disable_within_hours", "must be between 0 and 8760") }
        // Active Directory's protected groups are watched by default, with or without an
        // entitlements section: off only when the configuration says so.
        let defaultWatch = directories.first { $0.kind == .activeDirectory }.map {
            Configuration.EntitlementsSection(directory: $0.name, groups: nil, birthright: nil, separationOfDuties: nil, privileged: nil)
        }
        let entitlements = try (raw.entitlements ?? defaultWatch).map { section throws(ConfigurationError) in
            try entitlementSettings(section, directories: directories)
        }.flatMap { $0.policy.birthright.isEmpty && $0.policy.separation.isEmpty && $0.policy.privileged == nil ? nil : $0 }
        let webhooks = try webhookSettings(raw.webhooks ?? [])
        var resolved = ResolvedConfiguration(file: file, webhooks: webhooks, storePath: absolute(raw.store.path), eventSource: raw.events.source,
                                     directories: directories, hrSources: sources,
                                     lifecycle: LifecyclePolicy(prehireDays: prehire, deprovisionAfterDays: grace, purgeAfterDays: purge,
                                                                terminationDateIs: meaning),
                                     tombstoneKeyFile: tombstoneKeyFile, guardPolicy: guardPolicy, conversion: conversion,
                                     missing: missing, disableWithinHours: disableWithin, serve: serve, timeZone: timeZone,
                                     entitlements: entitlements, eventRetentionDays: retentionDays,
                                     auditCheckpointFile: try raw.audit?.checkpointFile.map { path throws(ConfigurationError) in
                                         let resolved = absolute(path)
                                         let folder = URL(fileURLWithPath: resolved).deletingLastPathComponent().path
                                         guard !checkFiles || FileManager.default.fileExists(atPath: folder) else {
                                             throw fail("audit.checkpoint_file", "the folder \(folder) does not exist")
                                         }
                                         return resolved
                                     })
        resolved.dormantAfterDays = dormantAfterDays
        return resolved
    }

    private func webhookSettings(_ sections: [Configuration.WebhookSection]) throws(ConfigurationError) -> [WebhookSettings] {
        var names = Set<String>()
        var result: [WebhookSettings] = []
        for (index, section) in sections.enumerated() {
            let hook = try webhook(section) { "webhooks[\(index)].\($0)" }
            guard names.insert(section.name).inserted else { throw fail("webhooks[\(index)].name", "\(section.name) is used twice") }
            result.append(hook)
        }
        return result
    }

    /// One subscription checked (a `webhooks:` entry, or `rollcall webhook add`'s options); `key`
    /// names a field where the caller has it.
    func webhook(_ section: Configuration.WebhookSection, key: (String) -> String) throws(ConfigurationError) -> WebhookSettings {
        guard Name.isValid(section.name) else { throw fail(key("name"), "must be \(Name.rule)") }
        guard let url = URL(string: section.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host?.isEmpty == false else {
            throw fail(key("url"), "must be an http:// or https:// URL")
        }
        if scheme == "http", let host = url.host, !ConfigurationValidator.isLoopback(host) {
            throw fail(key("url"), "must be https:// (http:// only to a loopback address): the events carry personal data")
        }
        let hours = section.retryWindowHours ?? 72
        guard hours > 0, hours <= 24 * 365 else { throw fail(key("retry_window_hours"), "must be more than 0 and at most 8760") }
        let timeout = section.timeoutSeconds ?? 10
        guard timeout > 0, timeout <= 300 else { throw fail(key("timeout_seconds"), "must be between 0 and 300") }
        return WebhookSettings(name: section.name, url: section.url, secretFile: try secretFile(section.secretFile, key: key("secret_file"), content: .lines),
                               types: section.types ?? [], retryWindow: hours * 3600, timeout: timeout)
    }

    private func serveSettings(_ section: Configuration.ServeSection?) throws(ConfigurationError) -> ServeSettings {
        var settings = ServeSettings()
        guard let section else { return settings }
        if let listen = section.listen {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port),
                  colon > listen.startIndex else {
                throw fail("serve.listen", "must be ADDRESS:PORT, e.g. 127.0.0.1:8642")
            }
            settings.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            settings.port = port
        }
        if let full = section.schedule?.full {
            switch (full.everyHours, full.at) {
            case (let hours?, nil):
                guard hours > 0 else { throw fail("serve.schedule.full.every_hours", "must be positive") }
                settings.fullEvery = hours * 3600
            case (nil, let times?):
                guard !times.isEmpty else { throw fail("serve.schedule.full.at", "must list at least one time of day, e.g. [\"02:00\"]") }
                var minutes: [Int] = []
                for time in times {
                    let parts = time.split(separator: ":")
                    guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                        throw fail("serve.schedule.full.at", "\"\(time)\" is not a time of day HH:MM")
                    }
                    minutes.append(h * 60 + m)
                }
                settings.fullEvery = nil
                settings.fullAt = minutes.sorted()
            default:
                throw fail("serve.schedule.full", "give every_hours or at, not both")
            }
        }
        if let seconds = section.schedule?.delta?.everySeconds {
            guard seconds >= 1 else { throw fail("serve.schedule.delta.every_seconds", "must be at least 1") }
            settings.deltaEvery = seconds
        }
        if let minutes = section.runTimeoutMinutes {
            guard minutes > 0 else { throw fail("serve.run_timeout_minutes", "must be positive") }
            settings.runTimeout = minutes * 60
        }
        if let rate = section.feedRequestsPerSecond {
            guard rate > 0 else { throw fail("serve.feed_requests_per_second", "must be positive") }
            settings.feedRate = rate
        }
        if let seconds = section.longPollMaxSeconds {
            guard (1...60).contains(seconds) else { throw fail("serve.long_poll_max_seconds", "must be between 1 and 60") }
            settings.longPollMaxSeconds = seconds
        }
        if let tls = section.tls {
            let version = tls.minVersion ?? "1.2"
            guard ["1.2", "1.3"].contains(version) else { throw fail("serve.tls.min_version", "must be \"1.2\" or \"1.3\"") }
            settings.tls = ServeTLS(certFile: try readableFile(tls.certFile, key: "serve.tls.cert_file"),
                                    keyFile: try secretFile(tls.keyFile, key: "serve.tls.key_file", content: .lines), minVersion: version)
        } else if !ConfigurationValidator.isLoopback(settings.host) && section.allowInsecure != true {
            throw fail("serve.listen", "\(settings.host) is not a loopback address: the feed's bearer tokens and events would cross the network in clear text; configure serve.tls (cert_file, key_file), or set serve.allow_insecure: true behind a proxy that terminates TLS")
        }
        if let seconds = section.livePollSeconds {
            guard seconds >= 1 else { throw fail("serve.live_poll_seconds", "must be at least 1") }
            settings.livePollSeconds = seconds
        }
        if let admin = section.admin {
            if let socket = admin.socket {
                if socket == "off" {
                    settings.adminSocket = nil
                } else {
                    guard socket.hasPrefix("/") else { throw fail("serve.admin.socket", "must be an absolute path, or off") }
                    // sockaddr_un holds 108 bytes with the terminating NUL.
                    guard socket.utf8.count <= 107 else { throw fail("serve.admin.socket", "is longer than a Unix socket path may be (107 bytes)") }
                    settings.adminSocket = socket
                }
            }
            if let group = admin.group {
                guard !group.isEmpty else { throw fail("serve.admin.group", "must name a group") }
                settings.adminSocketGroup = group
            }
            settings.adminUsers = admin.users ?? []
            settings.adminGroups = admin.groups ?? [settings.adminSocketGroup]
        }
        return settings
    }

    private func directory(_ directory: Configuration.DirectorySection, name: String, key: String,
                           sources: [HRSourceSettings]) throws(ConfigurationError) -> ResolvedDirectory {
        let ldap = try ldapSettings(directory, key: key)
        let scope = try enumValue(directory.scope ?? "sub", key: "\(key).scope", SearchRequest.Scope.self)
        let pageSize = directory.pageSize ?? 500
        guard (1...100_000).contains(pageSize) else { throw fail("\(key).page_size", "must be between 1 and 100000") }
        guard !directory.baseDN.isEmpty else { throw fail("\(key).base_dn", "must not be empty") }
        let filter = directory.filter ?? "(objectClass=*)"
        guard filter.hasPrefix("("), filter.hasSuffix(")") else {
            throw fail("\(key).filter", "must be an LDAP filter in parentheses, e.g. (objectClass=inetOrgPerson)")
        }
        var rules: [CorrelationRule] = []
        let many = directory.correlation.rules.count > 1
        guard !directory.correlation.rules.isEmpty else { throw fail("\(key).correlation", "must give at least one rule") }
        for (index, section) in directory.correlation.rules.enumerated() {
            let ruleKey = many ? "\(key).correlation[\(index)]" : "\(key).correlation"
            let field = try enumValue(section.hrField, key: "\(ruleKey).hr_field", CorrelationKey.self)
            guard !section.directoryAttribute.isEmpty else {
                throw fail("\(ruleKey).directory_attribute", "must name an attribute, e.g. employeeNumber")
            }
            if field == .email, let source = sources.first(where: { $0.fields[.email] == nil }) {
                throw fail("\(ruleKey).hr_field", "email correlation needs an email field in every HR source; \(source.name) maps none")
            }
            rules.append(CorrelationRule(hrField: field, attribute: section.directoryAttribute))
        }
        let correlation = rules[0].hrField
        var hrOwned: [(attribute: PersonAttribute, directoryAttribute: String)] = []
        for (name, target) in (directory.hrAuthoritative ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let attribute = PersonAttribute(rawValue: name), attribute != .managerID, attribute != .status else {
                throw fail("\(key).hr_authoritative.\(name)", "is not a person attribute that a directory holds as text; expected one of: department, title, location, email, employee_type, display_name, given_name, family_name")
            }
            guard !target.isEmpty, !target.contains(" ") else { throw fail("\(key).hr_authoritative.\(name)", "must name a directory attribute") }
            hrOwned.append((attribute, target))
        }
        let kind = try enumValue(directory.kind ?? "openldap", key: "\(key).kind", DirectoryKind.self)
        let mapping = AccountMapping(anchorAttribute: directory.anchorAttribute ?? (kind == .activeDirectory ? "objectGUID" : "entryUUID"),
                                     correlationAttribute: rules[0].attribute,
                                     moreCorrelationAttributes: rules.dropFirst().map(\.attribute),
                                     extraAttributes: (directory.attributes ?? []) + hrOwned.map(\.directoryAttribute))
        // Active Directory: no continuation references to other domains (referrals are off anyway).
        let search = SearchRequest(baseDN: directory.baseDN, scope: scope, filter: filter, attributes: [], pageSize: pageSize,
                                   controls: kind == .activeDirectory ? [SearchRequest.domainScope] : [])
        let passwordFile = try directory.bindPasswordFile.map { path throws(ConfigurationError) in
            try secretFile(path, key: "\(key).bind_password_file")
        }
        if passwordFile != nil && directory.bindDN == nil {
            throw fail("\(key).bind_dn", "is required when \(key).bind_password_file is set")
        }
        let local = ldap.uri.split(separator: " ").allSatisfy { $0.lowercased().hasPrefix("ldapi://") }
        if ldap.security == .none && passwordFile != nil && !local && directory.allowInsecure != true {
            throw fail("\(key).security", "a password bind over plain ldap:// sends the password in clear text; use starttls or ldaps, or set \(key).allow_insecure: true")
        }
        // Anonymous, too: every entry would cross the network in clear text from a server nothing
        // proves is the directory (a forged one could make accounts vanish).
        if ldap.security == .none && passwordFile == nil && !local && directory.allowInsecure != true {
            throw fail("\(key).security", "an anonymous bind over plain ldap:// reads every entry in clear text from a server nothing authenticates; use starttls or ldaps, or set \(key).allow_insecure: true")
        }
        let delta = try enumValue(directory.delta ?? "none", key: "\(key).delta", DeltaMode.self)
        if delta == .syncrepl && kind != .openldap {
            throw fail("\(key).delta", "syncrepl is OpenLDAP's; Active Directory uses dirsync or usn")
        }
        if (delta == .dirsync || delta == .usn) && kind != .activeDirectory {
            throw fail("\(key).delta", "\(delta.rawValue) is Active Directory's; set \(key).kind: active_directory, or use syncrepl for OpenLDAP")
        }
        if delta == .syncrepl && mapping.anchorAttribute.lowercased() != "entryuuid" {
            throw fail("\(key).delta", "syncrepl reports entries by entryUUID; set \(key).anchor_attribute to entryUUID or use delta: none")
        }
        if (delta == .dirsync || delta == .usn) && mapping.anchorAttribute.lowercased() != "objectguid" {
            throw fail("\(key).delta", "\(delta.rawValue) reports objects by objectGUID; set \(key).anchor_attribute to objectGUID")
        }
        let domainRoot = directory.domainRoot ?? directory.baseDN.split(separator: ",")
            .filter { $0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("dc=") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ",")
        let hours = directory.fullReadIntervalHours ?? 24
        guard hours > 0 else { throw fail("\(key).full_read_interval_hours", "must be positive") }
        var resolved = ResolvedDirectory(name: name, key: key, ldap: ldap, bindPasswordFile: passwordFile, search: search, mapping: mapping,
                                 correlation: correlation, rules: rules, hrOwned: hrOwned,
                                 orphanAction: try enumValue(directory.onOrphan ?? "report", key: "\(key).on_orphan", OrphanAction.self),
                                 unlinkedAction: try enumValue(directory.onUnlinked ?? "link", key: "\(key).on_unlinked", UnlinkedAction.self),
                                 unmatchedAction: try enumValue(directory.onUnmatched ?? "joiner", key: "\(key).on_unmatched", UnmatchedAction.self), delta: delta, kind: kind, domainRoot: domainRoot,
                                 fullReadInterval: hours * 3600, retry: try retryPolicy(directory.retry, key: key))
        resolved.allowEmpty = directory.allowEmpty ?? false
        switch directory.disabledWhen {
        case nil: resolved.disabledWhen = kind == .activeDirectory ? .activeDirectory : .none
        case "none"?: resolved.disabledWhen = .none
        case let filter?:
            guard filter.hasPrefix("("), filter.hasSuffix(")") else {
                throw fail("\(key).disabled_when", "must be an LDAP filter in parentheses, e.g. (pwdAccountLockedTime=*), or none")
            }
            resolved.disabledWhen = .filter(filter)
        }
        return resolved
    }

    private func ldapSettings(_ directory: Configuration.DirectorySection, key prefix: String) throws(ConfigurationError) -> LDAPSettings {
        let uris: [String]
        switch (directory.uri, directory.uris) {
        case (let one?, nil): uris = [one]
        case (nil, let many?) where !many.isEmpty: uris = many
        case (nil, _): throw fail("\(prefix).uri", "is required (or uris, a list tried in order)")
        case (.some, .some): throw fail("\(prefix).uris", "give uri or uris, not both")
        }
        let key = directory.uris == nil ? "\(prefix).uri" : "\(prefix).uris"
        let schemes = Set(uris.map { $0.lowercased().prefix { $0 != ":" } })
        guard schemes.isSubset(of: ["ldap", "ldaps", "ldapi"]), uris.allSatisfy({ $0.contains("://") && !$0.contains(" ") }) else {
            throw fail(key, "each URI must start with ldap://, ldaps:// or ldapi://")
        }
        let isLDAPS = schemes == ["ldaps"]
        guard isLDAPS || !schemes.contains("ldaps") else {
            throw fail(key, "ldaps:// cannot be mixed with ldap:// or ldapi:// in one directory")
        }
        let defaultSecurity = isLDAPS ? "ldaps" : schemes == ["ldapi"] ? "none" : "starttls"
        let security = try enumValue(directory.security ?? defaultSecurity, key: "\(prefix).security", LDAPSettings.Security.self)
        if isLDAPS != (security == .ldaps) {
            throw fail("\(prefix).security", "\(security.rawValue) does not fit \(uris.joined(separator: " ")); ldaps:// goes with ldaps, ldap:// with starttls or none")
        }
        for (name, path) in [("ca_file", directory.caFile), ("tls_cert_file", directory.tlsCertFile), ("tls_key_file", directory.tlsKeyFile)] {
            if let path, checkFiles, !FileManager.default.isReadableFile(atPath: absolute(path)) {
                throw fail("\(prefix).\(name)", "\(absolute(path)) does not exist or cannot be read")
            }
        }
        // The client key is a secret (libldap reads it itself, each connection).
        if let key = directory.tlsKeyFile { try checkSecret(absolute(key), key: "\(prefix).tls_key_file", content: .lines) }
        if (directory.tlsCertFile == nil) != (directory.tlsKeyFile == nil) {
            throw fail("\(prefix).tls_cert_file", "tls_cert_file and tls_key_file go together")
        }
        let bind = try enumValue(directory.bind ?? "simple", key: "\(prefix).bind", LDAPSettings.Bind.self)
        if bind == .saslExternal {
            if directory.bindDN != nil || directory.bindPasswordFile != nil {
                throw fail("\(prefix).bind", "sasl_external takes its identity from the transport; remove bind_dn and bind_password_file")
            }
            if directory.tlsCertFile == nil && schemes != ["ldapi"] {
                throw fail("\(prefix).bind", "sasl_external needs a client certificate (tls_cert_file, tls_key_file) or ldapi:// URIs")
            }
        }
        let network = directory.networkTimeoutSeconds ?? 10
        let operation = directory.operationTimeoutSeconds ?? 120
        guard network > 0 else { throw fail("\(prefix).network_timeout_seconds", "must be positive") }
        guard operation > 0 else { throw fail("\(prefix).operation_timeout_seconds", "must be positive") }
        var settings = LDAPSettings(uri: uris.joined(separator: " "), security: security, caFile: directory.caFile.map(absolute),
                                    bindDN: directory.bindDN, networkTimeoutSeconds: network, operationTimeoutSeconds: operation)
        settings.bind = bind
        settings.clientCertificateFile = directory.tlsCertFile.map(absolute)
        settings.clientKeyFile = directory.tlsKeyFile.map(absolute)
        settings.minimumTLSVersion = try directory.tlsMinVersion.map { text throws(ConfigurationError) in
            try enumValue(text, key: "\(prefix).tls_min_version", LDAPSettings.TLSVersion.self)
        }
        return settings
    }

    private func retryPolicy(_ section: Configuration.RetrySection?, key prefix: String) throws(ConfigurationError) -> RetryPolicy {
        let attempts = section?.attempts ?? 3
        let initial = section?.initialDelaySeconds ?? 1
        let maximum = section?.maxDelaySeconds ?? 30
        guard (1...100).contains(attempts) else { throw fail("\(prefix).retry.attempts", "must be between 1 and 100") }
        guard initial >= 0 else { throw fail("\(prefix).retry.initial_delay_seconds", "must not be negative") }
        guard maximum >= initial else { throw fail("\(prefix).retry.max_delay_seconds", "must be at least initial_delay_seconds") }
        return RetryPolicy(attempts: attempts, initialDelaySeconds: initial, maxDelaySeconds: maximum)
    }

    private func entitlementSettings(_ section: Configuration.EntitlementsSection,
                                     directories: [ResolvedDirectory]) throws(ConfigurationError) -> ResolvedEntitlements {
        let directory: String
        if let name = section.directory {
            guard directories.contains(where: { $0.name == name }) else {
                throw fail("entitlements.directory", "\(name) is not a configured directory (\(directories.map(\.name).joined(separator: ", ")))")
            }
            directory = name
        } else if directories.count == 1 {
            directory = directories[0].name
        } else if section.groups == nil, section.birthright == nil, section.separationOfDuties == nil,
                  section.privileged?.groups == nil, let ad = directories.first(where: { $0.kind == .activeDirectory }) {
            directory = ad.name  // only the protected groups of the first Active Directory
        } else {
            throw fail("entitlements.directory", "is required when several directories are configured")
        }
        let needsGroups = !(section.birthright ?? []).isEmpty || !(section.separationOfDuties ?? []).isEmpty
            || !(section.privileged?.groups ?? []).isEmpty
        guard section.groups != nil || !needsGroups else {
            throw fail("entitlements.groups", "is required for birthright, separation_of_duties and privileged.groups: base_dn of the groups to read")
        }
        let base = section.groups?.baseDN ?? ""
        if section.groups != nil { guard !base.isEmpty else { throw fail("entitlements.groups.base_dn", "must not be empty") } }
        let filter = section.groups?.filter ?? "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))"
        guard filter.hasPrefix("("), filter.hasSuffix(")") else { throw fail("entitlements.groups.filter", "must be an LDAP filter in parentheses") }
        var birthright: [BirthrightRule] = []
        var names = Set<String>()
        for (index, rule) in (section.birthright ?? []).enumerated() {
            let key = "entitlements.birthright[\(index)]"
            guard !rule.name.isEmpty, names.insert(rule.name).inserted else { throw fail("\(key).name", "must be a unique, non-empty name") }
            try groupDN(rule.group, key: "\(key).group", base: base)
            let condition = try rule.when.map { when throws(ConfigurationError) in try self.condition(when, key: "\(key).when") } ?? .always
            birthright.append(BirthrightRule(name: rule.name, group: rule.group, condition: condition))
        }
        var separation: [SeparationRule] = []
        for (index, rule) in (section.separationOfDuties ?? []).enumerated() {
            let key = "entitlements.separation_of_duties[\(index)]"
            guard !rule.name.isEmpty, names.insert(rule.name).inserted else { throw fail("\(key).name", "must be a unique, non-empty name") }
            guard rule.groups.count >= 2 else { throw fail("\(key).groups", "must list at least two group DNs") }
            for dn in rule.groups { try groupDN(dn, key: "\(key).groups", base: base) }
            separation.append(SeparationRule(name: rule.name, groups: rule.groups))
        }
        var privileged: PrivilegedPolicy?
        var protectedBase: String?
        let isActiveDirectory = directories.first { $0.name == directory }?.kind == .activeDirectory
        // On Active Directory the protected groups are watched unless the configuration turns it off.
        if let watch = section.privileged ?? (isActiveDirectory ? Configuration.PrivilegedSection() : nil),
           !((watch.groups ?? []).isEmpty && watch.activeDirectoryProtected == false) {
            let groups = watch.groups ?? []
            for dn in groups { try groupDN(dn, key: "entitlements.privileged.groups", base: base) }
            for dn in watch.allowedMembers ?? [] where !dn.contains("=") {
                throw fail("entitlements.privileged.allowed_members", "\(dn) is not a DN")
            }
            let isAD = directories.first { $0.name == directory }?.kind == .activeDirectory
            let watchProtected = watch.activeDirectoryProtected ?? isAD
            if watchProtected && !isAD {
                throw fail("entitlements.privileged.active_directory_protected", "needs the entitlement directory \(directory) to be kind: active_directory")
            }
            if watchProtected { protectedBase = directories.first { $0.name == directory }?.domainRoot }
            guard !groups.isEmpty || watchProtected else {
                throw fail("entitlements.privileged.groups", "must list at least one group DN (or, on Active Directory, leave active_directory_protected on)")
            }
            privileged = PrivilegedPolicy(groups: groups, allowedMembers: watch.allowedMembers ?? [])
        }
        return ResolvedEntitlements(policy: EntitlementPolicy(directory: directory, birthright: birthright, separation: separation,
                                                              privileged: privileged),
                                    groupsBaseDN: section.groups?.baseDN, groupsFilter: filter,
                                    memberAttribute: section.groups?.memberAttribute ?? "member", protectedGroupsBaseDN: protectedBase)
    }

    /// A group DN under the groups' base (the groups read each run). A DN cut at its commas by a
    /// YAML `[a, b]` list is caught here.
    private func groupDN(_ dn: String, key: String, base: String) throws(ConfigurationError) {
        guard let parsed = DistinguishedName(dn), let root = DistinguishedName(base), parsed.isWithin(root), parsed != root else {
            throw fail(key, "\(dn) is not under entitlements.groups.base_dn (\(base)); write DNs in quotes inside [a, b] lists, a comma ends an item there")
        }
    }

    private func condition(_ section: Configuration.ConditionSection, key: String) throws(ConfigurationError) -> Condition {
        switch section {
        case .invalid(let reason):
            throw fail(key, reason)
        case .all(let parts):
            var conditions: [Condition] = []
            for (index, part) in parts.enumerated() { conditions.append(try condition(part, key: "\(key).all[\(index)]")) }
            return .all(conditions)
        case .any(let parts):
            var conditions: [Condition] = []
            for (index, part) in parts.enumerated() { conditions.append(try condition(part, key: "\(key).any[\(index)]")) }
            return .any(conditions)
        case .not(let inner):
            return .not(try condition(inner, key: "\(key).not"))
        case .test(let name, let op, let values):
            guard let attribute = PersonAttribute(rawValue: name) else {
                throw fail("\(key).\(name)", "is not a person attribute; expected all, any, not or one of: \(PersonAttribute.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            switch (op, values.count) {
            case ("equals", 1): return .equals(attribute, values[0])
            case ("prefix", 1): return .prefix(attribute, values[0])
            case ("in", _): return .oneOf(attribute, values)
            default: throw fail("\(key).\(name).\(op)", "expected equals: VALUE, prefix: VALUE or in: [VALUES]")
            }
        }
    }

    private func hrSources(_ sections: [Configuration.HRSourceSection]) throws(ConfigurationError) -> [HRSourceSettings] {
        guard !sections.isEmpty else { throw fail("hr.sources", "must list at least one source") }
        var sources: [HRSourceSettings] = []
        var names: [String: String] = [:]
        for (index, section) in sections.enumerated() {
            let key = "hr.sources[\(index)]"
            let name = try uniqueName(section.name, key: key, count: sections.count, fallback: "hr", names: &names)
            sources.append(try hrSource(section, name: name, key: key))
        }
        return sources
    }

    /// A configured name: given, or `fallback` when it is the only item; checked and unique.
    private func uniqueName(_ given: String?, key: String, count: Int, fallback: String,
                            names: inout [String: String]) throws(ConfigurationError) -> String {
        let name: String
        if let given {
            name = given
        } else if count == 1 {
            name = fallback
        } else {
            throw fail("\(key).name", "is required when several are configured")
        }
        guard Name.isValid(name) else { throw fail("\(key).name", "\"\(name)\" must be \(Name.rule)") }
        if let other = names.updateValue(key, forKey: name) {
            throw fail("\(key).name", "\(name) is already the name of \(other)")
        }
        return name
    }

    private func hrSource(_ section: Configuration.HRSourceSection, name: String, key: String) throws(ConfigurationError) -> HRSourceSettings {
        if section.path != nil && section.url != nil { throw fail("\(key).url", "give path or url, not both") }
        let format = try enumValue(section.format ?? "csv", key: "\(key).format", SourceFormat.self)
        if format == .csv && section.records != nil {
            throw fail("\(key).records", "is for json and ndjson sources; a CSV file's records are its rows")
        }
        var fields: [PersonField: FieldRule] = [:]
        for (fieldName, rule) in section.fields {
            let fieldKey = "\(key).fields.\(fieldName)"
            guard let field = PersonField(rawValue: fieldName) else {
                let known = PersonField.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(fieldKey, "is not a person field; expected one of: \(known)")
            }
            guard !rule.from.isEmpty else { throw fail("\(fieldKey).from", "must name a source field") }
            let letterCase = try enumValue(rule.letterCase ?? "keep", key: "\(fieldKey).case", FieldRule.Case.self)
            if field == .status && rule.map != nil {
                throw fail("\(fieldKey).map", "status values are mapped with \(key).status_values")
            }
            fields[field] = FieldRule(from: rule.from, trim: rule.trim ?? true, letterCase: letterCase, valueMap: rule.map ?? [:])
        }
        guard fields[.employeeID] != nil else { throw fail("\(key).fields.employee_id", "is required") }
        var statuses: [String: EmploymentStatus] = [:]
        for (text, value) in section.statusValues ?? ["Active": "active", "Terminated": "terminated"] {
            statuses[text] = try enumValue(value, key: "\(key).status_values.\(text)", EmploymentStatus.self)
        }
        let skip: Bool
        switch section.onBadRows ?? "stop" {
        case "stop": skip = false
        case "skip": skip = true
        default: throw fail("\(key).on_bad_rows", "must be stop or skip")
        }
        let formats = section.dateFormats ?? ["yyyy-MM-dd"]
        guard !formats.isEmpty else { throw fail("\(key).date_formats", "must list at least one format") }
        var required: Set<PersonField> = [.employeeID]
        for fieldName in section.required ?? [] {
            guard let field = PersonField(rawValue: fieldName) else {
                throw fail("\(key).required", "\"\(fieldName)\" is not a person field")
            }
            guard fields[field] != nil else {
                throw fail("\(key).required", "\(fieldName) is required but not mapped in \(key).fields")
            }
            required.insert(field)
        }
        let pull = try httpPull(section, key: key, format: format)
        let path: String
        switch (section.path, pull) {
        case (let file?, nil): path = absolute(file)
        case (nil, let pull?): path = pull.displayURL
        case (nil, nil): throw fail("\(key).path", "is required (or url, for a source fetched over HTTP)")
        case (.some, .some): throw fail("\(key).url", "give path or url, not both")  // checked above
        }
        var settings = HRSourceSettings(name: name, format: format, path: path, recordsPath: section.records,
                                        fields: fields, statusValues: statuses, dateFormats: formats,
                                        emptyValues: Set(section.emptyValues ?? ["0000-00-00"]), required: required,
                                        skipBadRecords: skip, allowEmpty: section.allowEmpty ?? false)
        settings.http = pull
        if let megabytes = section.maxMegabytes {
            guard (1...1_000_000).contains(megabytes) else { throw fail("\(key).max_megabytes", "must be between 1 and 1000000") }
            settings.maxBytes = megabytes * 1024 * 1024
        }
        if let records = section.maxRecords {
            guard records >= 1 else { throw fail("\(key).max_records", "must be at least 1") }
            settings.maxRecords = records
        }
        if let minutes = section.refreshMinutes {
            guard minutes >= 0 else { throw fail("\(key).refresh_minutes", "must be 0 or more") }
            settings.refreshSeconds = minutes > 0 ? minutes * 60 : nil
        }
        return settings
    }

    /// The HTTP settings of a source with `url`; nil for a file. Keys that only make sense with a URL
    /// are refused without one.
    private func httpPull(_ section: Configuration.HRSourceSection, key: String, format: SourceFormat) throws(ConfigurationError) -> HTTPPull? {
        guard let url = section.url else {
            let httpOnly: [(String, Bool)] = [("auth", section.auth != nil), ("ca_file", section.caFile != nil),
                                              ("timeout_seconds", section.timeoutSeconds != nil), ("retry", section.retry != nil),
                                              ("paging", section.paging != nil), ("max_pages", section.maxPages != nil),
                                              ("refresh_minutes", section.refreshMinutes != nil)]
            if let (name, _) = httpOnly.first(where: { $0.1 }) {
                throw fail("\(key).\(name)", "is for sources fetched over HTTP (url); this source reads a file")
            }
            return nil
        }
        let lower = url.lowercased()
        guard (lower.hasPrefix("https://") || lower.hasPrefix("http://")), URL(string: url)?.host != nil else {
            throw fail("\(key).url", "must be an http:// or https:// URL")
        }
        guard format != .csv else { throw fail("\(key).format", "a source fetched over HTTP is json or ndjson") }
        var auth = HTTPPull.Auth.none
        if let section = section.auth {
            switch (section.bearerTokenFile, section.username, section.passwordFile) {
            case (let token?, nil, nil):
                auth = .bearer(tokenFile: try secretFile(token, key: "\(key).auth.bearer_token_file"))
            case (nil, let user?, let password?):
                auth = .basic(username: user, passwordFile: try secretFile(password, key: "\(key).auth.password_file"))
            default:
                throw fail("\(key).auth", "give bearer_token_file, or username with password_file")
            }
        }
        if lower.hasPrefix("http://"), auth != .none, !(URL(string: url)?.host.map(Self.isLoopback) ?? false) {
            throw fail("\(key).url", "credentials over plain http:// cross the network in clear text; use https://")
        }
        let caFile = try section.caFile.map { path throws(ConfigurationError) in try readableFile(path, key: "\(key).ca_file") }
        let timeout = section.timeoutSeconds ?? 60
        guard timeout > 0 else { throw fail("\(key).timeout_seconds", "must be positive") }
        var paging = HTTPPull.Paging.none
        if let section = section.paging {
            switch (section.nextLink, section.offsetParameter, section.limitParameter, section.pageSize) {
            case (let link?, nil, nil, nil):
                guard format == .json else { throw fail("\(key).paging.next_link", "needs format: json (the link is read from the page)") }
                paging = .nextLink(path: link)
            case (nil, let offset?, let limit?, let size?):
                guard (1...100_000).contains(size) else { throw fail("\(key).paging.page_size", "must be between 1 and 100000") }
                paging = .offset(offsetParameter: offset, limitParameter: limit, pageSize: size)
            default:
                throw fail("\(key).paging", "give next_link, or offset_parameter, limit_parameter and page_size")
            }
        }
        let maxPages = section.maxPages ?? 10_000
        guard maxPages > 0 else { throw fail("\(key).max_pages", "must be positive") }
        let retry = try retryPolicy(section.retry, key: key)
        return HTTPPull(url: url, auth: auth, caFile: caFile, timeoutSeconds: timeout, retry: retry.backoff,
                        paging: paging, maxPages: maxPages)
    }

    /// A secret's file: a path, or `credential:NAME`, a systemd credential (`LoadCredential=NAME:...`
    /// in the unit) read from `$CREDENTIALS_DIRECTORY/NAME`, which only the service can read.
    /// With `checkFiles`, the secret is read once here (owner, mode and content checked, see
    /// `SecretFile`) so that `config check` and the start say what is wrong, not the first run.
    private func secretFile(_ value: String, key: String, content: SecretFile.Content = .line) throws(ConfigurationError) -> String {
        guard value.hasPrefix("credential:") else {
            let path = try readableFile(value, key: key)
            try checkSecret(path, key: key, content: content)
            return path
        }
        guard checkFiles else { return value }
        let name = value.dropFirst("credential:".count).trimmingCharacters(in: .whitespaces)
        guard Name.isValid(name) else {
            throw fail(key, "\"\(value)\" must be credential:NAME with a credential name of \(Name.rule)")
        }
        guard let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
            throw fail(key, "names the systemd credential \(name), but $CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=\(name):FILE, or give a path")
        }
        let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw fail(key, "the systemd credential \(name) (\(path)) does not exist or cannot be read")
        }
        try checkSecret(path, key: key, content: content)
        return path
    }

    private func checkSecret(_ path: String, key: String, content: SecretFile.Content) throws(ConfigurationError) {
        guard checkFiles else { return }
        do {
            _ = try SecretFile.read(path, content: content)
        } catch {
            throw fail(key, error.description)
        }
    }

    private func readableFile(_ path: String, key: String) throws(ConfigurationError) -> String {
        let resolved = absolute(path)
        guard !checkFiles || FileManager.default.isReadableFile(atPath: resolved) else {
            throw fail(key, "\(resolved) does not exist or cannot be read")
        }
        return resolved
    }

    /// localhost, an IPv4 address in 127.0.0.0/8 or ::1 (a name such as 127.evil.example is not).
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if bare.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    private func enumValue<T: RawRepresentable & CaseIterable>(_ text: String, key: String, _ type: T.Type) throws(ConfigurationError) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            throw fail(key, "\"\(text)\" is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
