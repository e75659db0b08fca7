import RollcallCore
import Testing

@Suite struct GroupExpansionTests {
    static func group(_ name: String, _ members: [String]) -> DirectoryGroup {
        DirectoryGroup(anchor: name, dn: "cn=\(name),ou=groups", members: members.map { $0.hasPrefix("g:") ? "cn=\($0.dropFirst(2)),ou=groups" : "uid=\($0)" })
    }

    @Test func nestedMembersAreIncludedAndCyclesTerminate() {
        let groups = [
            Self.group("a", ["alice", "g:b"]),
            Self.group("b", ["bob", "g:c"]),
            Self.group("c", ["carol", "g:a"]),      // a → b → c → a
            Self.group("d", ["dave", "g:c"]),       // reaches the cycle
            Self.group("e", ["erin"]),
            Self.group("f", ["g:f", "frank"]),      // contains itself
        ]
        let members = GroupExpansion.effectiveMembers(groups)
        let cycle: Set<String> = ["uid=alice", "uid=bob", "uid=carol"]
        #expect(members["cn=a,ou=groups"] == cycle)
        #expect(members["cn=b,ou=groups"] == cycle)
        #expect(members["cn=c,ou=groups"] == cycle)
        #expect(members["cn=d,ou=groups"] == cycle.union(["uid=dave"]))
        #expect(members["cn=e,ou=groups"] == ["uid=erin"])
        #expect(members["cn=f,ou=groups"] == ["uid=frank"])
    }

    @Test func dnsCompareCaseInsensitively() {
        let groups = [
            DirectoryGroup(anchor: "1", dn: "CN=Outer,OU=Groups", members: ["cn=inner,ou=groups", "UID=X"]),
            DirectoryGroup(anchor: "2", dn: "cn=Inner,ou=Groups", members: ["uid=y"]),
        ]
        #expect(GroupExpansion.effectiveMembers(groups)["cn=outer,ou=groups"] == ["uid=x", "uid=y"])
    }

    @Test func aLongChainNeedsNoDeepRecursion() {
        // 100 000 groups each nesting the next, one user at the end: recursion this deep would
        // overflow the stack; the iterative walk does not.
        let count = 100_000
        let groups = (0..<count).map { i in
            DirectoryGroup(anchor: "\(i)", dn: "cn=g\(i)", members: i + 1 < count ? ["cn=g\(i + 1)"] : ["uid=last"])
        }
        let members = GroupExpansion.effectiveMembers(groups)
        #expect(members["cn=g0"] == ["uid=last"])
        #expect(members.count == count)
    }
}
