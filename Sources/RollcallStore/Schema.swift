import Foundation
import GRDB

/// The store's migrations. A migration that has shipped is never edited: add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("started_at", .text).notNull()
                t.column("finished_at", .text)
                // applied | failed
                t.column("status", .text).notNull()
                t.column("summary", .text)
                t.column("report", .text)
                t.column("error", .text)
                t.column("first_seq", .integer)
                t.column("last_seq", .integer)
            }
            try db.create(table: "person") { t in
                t.primaryKey("employee_id", .text)
                t.column("given_name", .text)
                t.column("family_name", .text)
                t.column("email", .text)
                t.column("department", .text)
                t.column("title", .text)
                t.column("manager_id", .text)
                t.column("status", .text).notNull()
                t.column("hire_date", .text)
                t.column("termination_date", .text)
                t.column("lifecycle", .text).notNull()
                t.column("updated_run", .integer).notNull().references("run")
            }
            try db.create(table: "account") { t in
                t.primaryKey("anchor", .text)
                t.column("dn", .text).notNull()
                t.column("correlation_value", .text).indexed()
                t.column("attributes", .text).notNull()
                t.column("orphan_reported", .boolean).notNull()
                t.column("updated_run", .integer).notNull().references("run")
            }
            try db.create(table: "link") { t in
                t.primaryKey("employee_id", .text)
                t.column("anchor", .text).notNull().unique()
                t.column("linked_run", .integer).notNull().references("run")
            }
            try db.create(table: "outbox") { t in
                // Gap-free: assigned as max(seq) + 1 inside the writing transaction.
                t.primaryKey("seq", .integer)
                t.column("id", .text).notNull().unique()
                t.column("run_id", .integer).notNull().references("run")
                t.column("source", .text).notNull()
                t.column("type", .text).notNull()
                t.column("subject", .text).notNull().indexed()
                t.column("time", .text).notNull()
                t.column("data", .text).notNull()
            }
        }
        migrator.registerMigration("v2-directory-cookie") { db in
            // How the directory was read (full | delta) and the syncrepl cookie to continue from.
            try db.alter(table: "run") { t in
                t.add(column: "directory_read", .text)
                t.add(column: "directory_cookie", .blob)
            }
        }
        migrator.registerMigration("v3-directories") { db in
            // Several directories: accounts and links are per directory (anchors are unique within
            // one directory only), and each run records how it read each directory. Rows written
            // before belong to the directory named "default".
            try db.create(table: "account_v3") { t in
                t.column("directory", .text).notNull()
                t.column("anchor", .text).notNull()
                t.column("dn", .text).notNull()
                t.column("correlation_value", .text)
                t.column("attributes", .text).notNull()
                t.column("orphan_reported", .boolean).notNull()
                t.column("updated_run", .integer).notNull().references("run")
                t.primaryKey(["directory", "anchor"])
            }
            try db.execute(sql: """
                INSERT INTO account_v3 (directory, anchor, dn, correlation_value, attributes, orphan_reported, updated_run)
                SELECT 'default', anchor, dn, correlation_value, attributes, orphan_reported, updated_run FROM account
                """)
            try db.drop(table: "account")
            try db.rename(table: "account_v3", to: "account")

            try db.create(table: "link_v3") { t in
                t.column("employee_id", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("anchor", .text).notNull()
                t.column("linked_run", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "directory"])
                t.uniqueKey(["directory", "anchor"])
            }
            try db.execute(sql: """
                INSERT INTO link_v3 (employee_id, directory, anchor, linked_run)
                SELECT employee_id, 'default', anchor, linked_run FROM link
                """)
            try db.drop(table: "link")
            try db.rename(table: "link_v3", to: "link")

            try db.create(table: "run_directory") { t in
                t.column("run_id", .integer).notNull().references("run")
                t.column("directory", .text).notNull()
                // full | delta
                t.column("read", .text).notNull()
                // syncrepl or DirSync cookie, or the JSON of a uSNChanged checkpoint
                t.column("cookie", .blob)
                // accounts after the read (a delta completed from the store)
                t.column("entries", .integer)
                t.primaryKey(["run_id", "directory"])
            }
            try db.execute(sql: """
                INSERT INTO run_directory (run_id, directory, read, cookie)
                SELECT id, 'default', directory_read, directory_cookie FROM run WHERE directory_read IS NOT NULL
                """)
        }
        migrator.registerMigration("v4-person-attributes") { db in
            try db.alter(table: "person") { t in
                t.add(column: "display_name", .text)
                t.add(column: "employee_type", .text)
                t.add(column: "location", .text)
            }
        }
        migrator.registerMigration("v5-lifecycle-since") { db in
            // The day the current lifecycle state began (the grace period before deprovisioning
            // counts from it). Unknown for rows written before: those states began "now".
            try db.alter(table: "person") { t in
                t.add(column: "lifecycle_since", .text)
            }
        }
        migrator.registerMigration("v6-correlation-rules-and-disputes") { db in
            // Values of the second and later correlation rules' attributes (JSON array), and the
            // disputes already announced.
            try db.alter(table: "account") { t in
                t.add(column: "correlation_more", .text)
            }
            try db.create(table: "dispute") { t in
                t.column("employee_id", .text).notNull()
                t.column("directory", .text).notNull()
                // JSON array of the anchors in dispute
                t.column("anchors", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "directory"])
            }
        }
        migrator.registerMigration("v7-person-alias") { db in
            // Former HR ids of persons who continue under a new one (conversions).
            try db.create(table: "person_alias") { t in
                t.primaryKey("former_id", .text)
                t.column("employee_id", .text).notNull().indexed()
                t.column("run_id", .integer).notNull().references("run")
            }
        }
        migrator.registerMigration("v8-entitlements") { db in
            // Entitlement changes announced and not yet seen done in the directory, and
            // separation-of-duties violations announced and still going on.
            try db.create(table: "entitlement_notice") { t in
                t.column("employee_id", .text).notNull()
                t.column("group_dn", .text).notNull()
                // grant | revoke
                t.column("action", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "group_dn"])
            }
            try db.create(table: "violation_notice") { t in
                t.column("employee_id", .text).notNull()
                t.column("rule", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "rule"])
            }
        }
        migrator.registerMigration("v9-drift") { db in
            // Drifts of HR-owned attributes announced and still going on.
            try db.create(table: "drift_notice") { t in
                t.column("employee_id", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("attribute", .text).notNull()
                t.column("actual", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "directory", "attribute"])
            }
        }
        migrator.registerMigration("v10-privileged") { db in
            // Watched privileged groups and their effective members at the last applied run (the
            // baseline membership changes are found against), and unauthorised memberships announced.
            try db.create(table: "privileged_group") { t in
                t.column("directory", .text).notNull()
                t.column("group_key", .text).notNull()
                t.column("dn", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["directory", "group_key"])
            }
            try db.create(table: "privileged_member") { t in
                t.column("directory", .text).notNull()
                t.column("group_key", .text).notNull()
                t.column("member_key", .text).notNull()
                t.column("member_dn", .text).notNull()
                t.primaryKey(["directory", "group_key", "member_key"])
            }
            try db.create(table: "unauthorised_notice") { t in
                t.column("directory", .text).notNull()
                t.column("group_key", .text).notNull()
                t.column("member_key", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["directory", "group_key", "member_key"])
            }
        }
        migrator.registerMigration("v11-tombstones") { db in
            // What stays of purged persons: a keyed hash of the HR id, never the id itself.
            try db.create(table: "tombstone") { t in
                t.primaryKey("pseudonym", .text)
                t.column("termination_date", .text)
                t.column("run_id", .integer).notNull().references("run")
            }
        }
        migrator.registerMigration("v12-proposals") { db in
            // Matches found by a rule in a directory with on_unlinked: report, announced and
            // waiting for `rollcall link`.
            try db.create(table: "proposal") { t in
                t.column("employee_id", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("anchor", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.primaryKey(["employee_id", "directory"])
            }
        }
        migrator.registerMigration("v13-audit") { db in
            // The tamper-evident audit log (see AuditChain): append-only, a SHA-256 hash chain.
            try db.create(table: "audit") { t in
                t.primaryKey("seq", .integer)
                t.column("at", .text).notNull().indexed()
                t.column("run_id", .integer)
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("subject", .text).notNull()
                // The HR id the entry is about: a purge redacts its content.
                t.column("hr_id", .text).indexed()
                // Canonical JSON {"subject", "detail"}; NULL once redacted.
                t.column("content", .text)
                t.column("content_hash", .text).notNull()
                t.column("previous_hash", .text).notNull()
                t.column("hash", .text).notNull()
            }
            // Each run looks up the last configuration digest: without this it scanned the log.
            try db.execute(sql: "CREATE INDEX audit_config_changed ON audit(seq) WHERE action = 'config.changed'")
        }
        migrator.registerMigration("v14-quarantine") { db in
            // Runs stopped by the mass-change guard: the plan, waiting for approve or reject.
            try db.create(table: "quarantine") { t in
                t.primaryKey("run_id", .integer).references("run")
                t.column("plan", .text).notNull()
                t.column("digest", .text).notNull().indexed()
                t.column("based_on", .integer).notNull()
                t.column("verdict", .text).notNull()
                // pending | approved | rejected
                t.column("status", .text).notNull()
                t.column("decided_by", .text)
                t.column("decided_at", .text)
                t.column("reason", .text)
                t.column("applied_run", .integer)
            }
        }
        migrator.registerMigration("v15-holds") { db in
            // Persons an operator disabled (rollcall disable) until enabled again.
            try db.create(table: "hold") { t in
                t.primaryKey("employee_id", .text)
                t.column("reason", .text).notNull()
                t.column("by", .text).notNull()
                t.column("since", .text).notNull()
                t.column("run_id", .integer).notNull().references("run")
            }
        }
        migrator.registerMigration("v16-missing-and-conversion-decisions") { db in
            // The source that last listed a person, and the first day of their current absence from HR.
            try db.alter(table: "person") { t in
                t.add(column: "source", .text)
                t.add(column: "missing_since", .text)
            }
            // Operators' decisions on proposed conversions (rollcall link --converts | --separate-from).
            try db.create(table: "conversion_decision") { t in
                t.primaryKey("employee_id", .text)
                t.column("former_id", .text).notNull()
                t.column("convert", .boolean).notNull()
                t.column("run_id", .integer).notNull().references("run")
            }
        }
        migrator.registerMigration("v17-held-decisions") { db in
            // Decisions the mass-change guard holds back until an operator approves or rejects them.
            try db.create(table: "held_decision") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer).notNull().references("run")
                // The HR id, or the anchor of an orphan account (then `directory` names its directory).
                t.column("subject", .text).notNull()
                t.column("directory", .text).notNull().defaults(to: "")
                t.column("kind", .text).notNull()
                t.column("data", .text).notNull()
                t.column("held_at", .text).notNull()
                t.column("status", .text).notNull().defaults(to: "pending")  // pending | approved | rejected | dropped
                t.column("decided_by", .text)
                t.column("decided_at", .text)
                t.column("applied_run", .integer)
            }
            // One pending copy of a decision at most, checked by the insert in the run's transaction.
            try db.execute(sql: "CREATE UNIQUE INDEX held_decision_pending ON held_decision(subject, directory, kind) WHERE status = 'pending'")
            try db.execute(sql: "CREATE INDEX held_decision_run ON held_decision(run_id)")
        }
        migrator.registerMigration("v18-search-fingerprint") { db in
            // What each directory's search was (base, scope, filter, attributes, anchor) when its
            // cookie was taken: a cookie only continues the same search.
            try db.alter(table: "run_directory") { t in t.add(column: "fingerprint", .text) }
        }
        migrator.registerMigration("v19-account-state") { db in
            // Enabled or disabled as read (NULL: the directory says nothing), since which day, and
            // the state announced while it lasts (still_enabled, disabled_externally).
            try db.alter(table: "account") { t in
                t.add(column: "enabled", .boolean)
                t.add(column: "enabled_since", .text)
                t.add(column: "state_notice", .text)
            }
        }
        migrator.registerMigration("v20-consumers") { db in
            // Downstream consumers of the change feed: a bearer token (only its SHA-256 stored),
            // the event type prefixes they may read, and their cursor (the last sequence acknowledged).
            try db.create(table: "consumer") { t in
                t.primaryKey("name", .text)
                t.column("token_hash", .text).notNull().unique()
                t.column("types", .text).notNull()  // JSON array of type prefixes; [] = every type
                t.column("cursor", .integer).notNull().defaults(to: 0)
                t.column("created_at", .text).notNull()
                t.column("acked_at", .text)
                t.column("revoked_at", .text)
            }
        }
        migrator.registerMigration("v21-webhooks") { db in
            // Each webhook subscription's delivery state: the last event delivered (or given up),
            // the event being retried, and whether the receiver said 410 Gone.
            try db.create(table: "webhook") { t in
                t.primaryKey("name", .text)
                t.column("cursor", .integer).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("failing_since", .text)
                t.column("next_attempt_at", .text)
                t.column("last_error", .text)
                t.column("disabled_at", .text)
                t.column("disabled_reason", .text)
            }
            // Events given up after the retry window.
            try db.create(table: "webhook_dead_letter") { t in
                t.column("name", .text).notNull().indexed()
                t.column("seq", .integer).notNull()
                t.column("at", .text).notNull()
                t.column("reason", .text).notNull()
                t.primaryKey(["name", "seq"])
            }
        }
        migrator.registerMigration("v22-webhook-subscriptions") { db in
            // Subscriptions added by `rollcall webhook add` (those in the configuration are not
            // stored): the secret stays in its file, only the file's path (or credential:NAME) is here.
            try db.create(table: "webhook_subscription") { t in
                t.primaryKey("name", .text)
                t.column("url", .text).notNull()
                t.column("secret_file", .text).notNull()
                t.column("types", .text).notNull()  // JSON array of type prefixes; [] = every type
                t.column("retry_window_hours", .double).notNull()
                t.column("timeout_seconds", .double).notNull()
                t.column("created_at", .text).notNull()
                t.column("created_by", .text).notNull()
            }
        }
        migrator.registerMigration("v23-redaction-entries") { db in
            // Redactions made before purges wrote their own entry: named now by one, so that
            // verify, which accepts missing content only where a redaction entry names it, still
            // passes on an honest store.
            let seqs = try Int64.fetchAll(db, sql: "SELECT seq FROM audit WHERE content IS NULL ORDER BY seq")
            guard !seqs.isEmpty else { return }
            try AuditChain.append([AuditDraft(action: "audit.redacted", subject: "audit", detail: .object([
                "seqs": .array(seqs.map { .int(Int($0)) }), "reason": .string("purges before redaction entries (upgrade)"),
            ]))], actor: "rollcall upgrade", runID: nil, at: Timestamp.string(Date()), db: db)
        }
        migrator.registerMigration("v24-person-salts") { db in
            // Each person's random salt for keyed audit content hashes; erased at their purge.
            try db.create(table: "person_salt") { t in
                t.primaryKey("employee_id", .text)
                t.column("salt", .blob).notNull()
            }
        }
        migrator.registerMigration("v25-access-history") { db in
            // Access history (issue 14): what each person, link, account state and group
            // membership was, as intervals [from, to) between the runs that saw them start and
            // end; to_run NULL while it lasts. Written in each run's transaction; a purge
            // removes a person's rows. Times are the runs' finish times (ISO 8601, UTC).
            try db.create(table: "person_history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("employee_id", .text).notNull()
                t.column("lifecycle", .text).notNull()
                // The HR attributes as canonical JSON (the keys of an event's `person`) of a past
                // version; NULL while open: the person row holds them.
                t.column("attributes", .text)
                t.column("from_run", .integer).notNull()
                t.column("from_at", .text).notNull()
                t.column("to_run", .integer)
                t.column("to_at", .text)
            }
            try db.create(table: "link_history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("employee_id", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("anchor", .text).notNull()
                t.column("dn", .text).notNull()
                t.column("from_run", .integer).notNull()
                t.column("from_at", .text).notNull()
                t.column("to_run", .integer)
                t.column("to_at", .text)
            }
            try db.create(table: "account_history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("directory", .text).notNull()
                t.column("anchor", .text).notNull()
                t.column("dn", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("from_run", .integer).notNull()
                t.column("from_at", .text).notNull()
                t.column("to_run", .integer)
                t.column("to_at", .text)
            }
            try db.create(table: "membership_history") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("directory", .text).notNull()
                t.column("group_key", .text).notNull()
                t.column("group_dn", .text).notNull()
                t.column("member_key", .text).notNull()
                t.column("member_dn", .text).notNull()
                t.column("direct", .boolean).notNull()
                t.column("employee_id", .text)
                t.column("from_run", .integer).notNull()
                t.column("from_at", .text).notNull()
                t.column("to_run", .integer)
                t.column("to_at", .text)
            }
            // One open interval per thing; lookups by person and by group; intervals by time.
            try db.execute(sql: """
                CREATE UNIQUE INDEX person_history_open ON person_history (employee_id) WHERE to_run IS NULL;
                CREATE INDEX person_history_person ON person_history (employee_id, from_at);
                CREATE UNIQUE INDEX link_history_open ON link_history (employee_id, directory) WHERE to_run IS NULL;
                CREATE INDEX link_history_person ON link_history (employee_id, from_at);
                CREATE INDEX link_history_account ON link_history (directory, anchor);
                CREATE UNIQUE INDEX account_history_open ON account_history (directory, anchor) WHERE to_run IS NULL;
                CREATE INDEX account_history_account ON account_history (directory, anchor, from_at);
                CREATE UNIQUE INDEX membership_history_open ON membership_history (directory, group_key, member_key) WHERE to_run IS NULL;
                CREATE INDEX membership_history_group ON membership_history (group_key, from_at);
                CREATE INDEX membership_history_person ON membership_history (employee_id);
                CREATE INDEX membership_history_member ON membership_history (directory, member_key);
                """)
            try History.seed(db)
        }
        migrator.registerMigration("v26-access-reviews") { db in
            // Access review campaigns (issue 14): items to keep or revoke, assigned to reviewers,
            // decided on the review page or the CLI; sign-in tokens stored as SHA-256 only.
            try db.execute(sql: """
                CREATE TABLE review_campaign (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, reviewer TEXT NOT NULL,
                    fallback TEXT, due TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL, closed_at TEXT);
                CREATE TABLE review_item (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id INTEGER NOT NULL REFERENCES review_campaign(id),
                    employee_id TEXT, directory TEXT NOT NULL, group_key TEXT NOT NULL, group_dn TEXT NOT NULL,
                    member_key TEXT NOT NULL, member_dn TEXT NOT NULL, how TEXT NOT NULL, reviewer TEXT NOT NULL, decision TEXT,
                    comment TEXT, decided_by TEXT, decided_at TEXT, decided_run INTEGER, escalated_at TEXT,
                    UNIQUE (campaign_id, directory, group_key, member_key));
                CREATE INDEX review_item_reviewer ON review_item (campaign_id, reviewer);
                CREATE INDEX review_item_person ON review_item (employee_id);
                CREATE TABLE review_token (
                    token_hash TEXT PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES review_campaign(id), reviewer TEXT NOT NULL,
                    admin BOOLEAN NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT);
                """)
        }
        return migrator
    }
}
