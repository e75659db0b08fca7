import Foundation
import RollcallDirectory
import RollcallTestSupport
import Testing

@Suite struct ADValuesTests {
    /// `member;range=LOW-HIGH` as a hostile or broken server might send it: errors, never a trap.
    @Test func rangesFromAServerAreChecked() throws {
        #expect(try LDAPConnection.nextRangeStart("0-1499", after: 0, place: "cn=g") == 1500)
        #expect(try LDAPConnection.nextRangeStart("1500-*", after: 1500, place: "cn=g") == nil)
        for hostile in ["0-9223372036854775807", "0-99999999999999999999999", "1500-2999", "0-", "-5", "5-3", "0-1-2", "x-y", ""] {
            #expect(throws: LDAPError.self, "\(hostile)") { try LDAPConnection.nextRangeStart(Substring(hostile), after: 0, place: "cn=g") }
        }
        #expect(throws: LDAPError.self) { try LDAPConnection.nextRangeStart("9223372036854775807-*", after: 1500, place: "cn=g") }
    }

    @Test func guidByteOrderIsMicrosofts() {
        // Bytes as AD sends them for 73d1a702-3078-43c3-8470-8792973e2c61.
        let bytes: [UInt8] = [0x02, 0xA7, 0xD1, 0x73, 0x78, 0x30, 0xC3, 0x43, 0x84, 0x70, 0x87, 0x92, 0x97, 0x3E, 0x2C, 0x61]
        #expect(ADValues.guid(bytes) == "73d1a702-3078-43c3-8470-8792973e2c61")
        #expect(ADValues.guid(Array(bytes.prefix(15))) == nil)
    }

    @Test func sidsDecode() {
        #expect(ADValues.sid([1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x2B, 0x02, 0, 0]) == "S-1-5-32-555")
        #expect(ADValues.sid([1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0]) == nil)
    }

    @Test(arguments: [
        ("512", ["normal_account"]),
        ("514", ["account_disabled", "normal_account"]),
        ("546", ["account_disabled", "password_not_required", "normal_account"]),
        ("66082", ["account_disabled", "password_not_required", "normal_account", "password_never_expires"]),
        ("-2147483136", ["normal_account", "0x80000000"]),
    ])
    func userAccountControlFlags(_ text: String, _ names: [String]) throws {
        let uac = try #require(UserAccountControl(text: text))
        #expect(uac.flagNames == names)
        #expect(uac.isDisabled == names.contains("account_disabled"))
    }

    @Test func fileTimesAndNever() throws {
        #expect(ADValues.fileTime("0") == nil)
        #expect(ADValues.fileTime("9223372036854775807") == nil)
        // 2026-11-27T00:00:00Z = 1795737600 s since 1970.
        let date = try #require(ADValues.fileTime("134402112000000000"))
        #expect(date.timeIntervalSince1970 == 1_795_737_600)
        #expect(ADValues.generalizedTime("20261127032517.0Z")?.timeIntervalSince1970 == 1_795_749_917)
        #expect(ADValues.generalizedTime("garbage") == nil)
    }
}

/// Samba's real AD export: binary GUIDs and SIDs as AD sends them, checked against the text forms
/// ldbsearch printed from the same provisioning run.
@Suite(.enabled(if: RepositoryPaths.externalTestData("samba-ad-dc-provision") != nil,
                "../shared/testdata/external/samba-ad-dc-provision is not present next to the repository"))
struct ADWireExportTests {
    static func load(_ name: String) throws -> [LDIFReader.Entry] {
        let folder = try #require(RepositoryPaths.externalTestData("samba-ad-dc-provision"))
        return LDIFReader.entries(try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8))
    }

    @Test func binaryGUIDsAndSIDsMatchTheirTextForms() throws {
        let wire = try Self.load("ad_wire_export.ldif")
        let text = Dictionary(try Self.load("ldbsearch_cn_users.ldif").map { ($0.dn.lowercased(), $0) }) { first, _ in first }
        #expect(wire.count == 41)
        var compared = 0
        for entry in wire {
            guard let twin = text[entry.dn.lowercased()] else { continue }
            let guid = try #require(entry.values("objectGUID").first)
            let sid = try #require(entry.values("objectSid").first)
            #expect(ADValues.guid(guid) == twin.strings("objectGUID").first, "\(entry.dn)")
            #expect(ADValues.sid(sid) == twin.strings("objectSid").first, "\(entry.dn)")
            compared += 1
        }
        #expect(compared == 19)
    }

    @Test func builtInAccountsDecode() throws {
        let wire = try Self.load("ad_wire_export.ldif")
        func account(_ name: String) throws -> LDIFReader.Entry {
            try #require(wire.first { $0.strings("sAMAccountName").first == name })
        }
        let uac = { (name: String) throws -> UserAccountControl? in UserAccountControl(text: try account(name).strings("userAccountControl").first ?? "") }
        #expect(try uac("Administrator")?.isDisabled == false)
        #expect(try uac("Guest")?.isDisabled == true)
        #expect(try uac("Guest")?.contains(.passwordNeverExpires) == true)
        #expect(try uac("krbtgt")?.isDisabled == true)
        #expect(ADValues.fileTime(try account("Administrator").strings("accountExpires").first ?? "") == nil)
        #expect(ADValues.sid(try account("Administrator").values("objectSid").first ?? [])?.hasSuffix("-500") == true)
    }
}
