import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local HR API on 127.0.0.1 (scripts/hr-http-server): serves records paged by next link or
/// offset, checks bearer or basic credentials, can fail the first requests or one page, and logs
/// every request. Stopped by its pid.
public final class HTTPFixture: Sendable {
    public let directory: URL
    public let port: Int
    public let pid: Int32
    public let scheme: String

    public struct Request: Sendable, Decodable {
        public var path: String
        public var authorization_scheme: String?
        public var status: Int
        public var conditional: Bool?
    }

    /// Serves these records from now on (the server reads its spec at each request).
    public func replaceRecords(_ records: [[String: Any]]) throws {
        let specFile = directory.appendingPathComponent("spec.json")
        guard var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: specFile)) as? [String: Any] else { return }
        spec["records"] = records
        let temporary = directory.appendingPathComponent("spec.json.tmp")
        try JSONSerialization.data(withJSONObject: spec).write(to: temporary)
        _ = rename(temporary.path, specFile.path)
    }

    /// - Parameter spec: see scripts/hr-http-server; `port` is chosen here.
    public static func start(_ spec: [String: Any]) async throws -> HTTPFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let specFile = directory.appendingPathComponent("spec.json")
        try JSONSerialization.data(withJSONObject: spec).write(to: specFile)
        let script = RepositoryPaths.script("hr-http-server")
        let launched = try await Shell.run("/bin/bash", ["-c", "\"$0\" \"$1\" >\"$1.out\" 2>&1 & echo $!", script, specFile.path])
        guard launched.status == 0, let pid = Int32(launched.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw FixtureError("hr-http-server did not start: \(launched.error)")
        }
        let portFile = specFile.path + ".port"
        // Up to 60 s: under a full parallel test run (Samba DCs starting) Python can take a while.
        for _ in 0..<1200 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return HTTPFixture(directory: directory, port: port, pid: pid, scheme: spec["tls"] == nil ? "http" : "https")
            }
            if Glibc.kill(pid, 0) != 0 { break }  // it exited: say why below
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = Glibc.kill(pid, SIGKILL)
        let output = (try? String(contentsOfFile: specFile.path + ".out", encoding: .utf8)) ?? ""
        throw FixtureError("hr-http-server did not report its port: \(output)")
    }

    init(directory: URL, port: Int, pid: Int32, scheme: String) {
        self.directory = directory
        self.port = port
        self.pid = pid
        self.scheme = scheme
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    public func stop() {
        _ = Glibc.kill(pid, SIGTERM)
    }

    /// The requests served so far, in order.
    public func requests() throws -> [Request] {
        let path = directory.appendingPathComponent("spec.json.log").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}
