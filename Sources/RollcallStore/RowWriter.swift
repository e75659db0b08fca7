import GRDB
import GRDBSQLite

/// Writes rows through a cached statement with `sqlite3_bind_*` and `sqlite3_step` directly.
/// GRDB's `StatementArguments` boxes each value into an array per row; for the million rows of
/// a first load (persons, accounts, links, events, audit entries) that was 7 % of its CPU
/// (docs/benchmarks.md). Bind each `?` in order, then `step()`. Inside the caller's transaction;
/// errors are GRDB's `DatabaseError`, as from any other statement.
struct RowWriter {
    private let statement: Statement
    private var position: Int32 = 0

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    /// SQLite copies the bytes (SQLITE_TRANSIENT): the string need not outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func text(_ value: String?) {
        position += 1
        guard var value else {
            note(sqlite3_bind_null(statement.sqliteStatement, position))
            return
        }
        let handle = statement.sqliteStatement
        let index = position
        note(value.withUTF8 { bytes in
            // An empty buffer may have no base address; SQLite needs a pointer for '' (not NULL).
            if let base = bytes.baseAddress {
                sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), RowWriter.transient)
            } else {
                sqlite3_bind_text(handle, index, "", 0, RowWriter.transient)
            }
        })
    }

    /// The first bind that failed (too big, out of memory): `step` reports it instead of writing
    /// the row with that value missing.
    private var bindFailure: Int32 = SQLITE_OK

    private mutating func note(_ code: Int32) {
        if code != SQLITE_OK && bindFailure == SQLITE_OK { bindFailure = code }
    }

    mutating func int(_ value: Int64?) {
        position += 1
        note(value.map { sqlite3_bind_int64(statement.sqliteStatement, position, $0) } ?? sqlite3_bind_null(statement.sqliteStatement, position))
    }

    mutating func bool(_ value: Bool?) {
        int(value.map { $0 ? 1 : 0 })
    }

    /// Runs the statement with the values bound since the last step, then makes it ready for the next row.
    mutating func step() throws {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            position = 0
            bindFailure = SQLITE_OK
        }
        guard bindFailure == SQLITE_OK else {
            let connection = sqlite3_db_handle(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: bindFailure), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let connection = sqlite3_db_handle(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                                message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
    }
}
