import RollcallDirectory
import Testing

/// DNs compared as a directory compares them (RFC 4514), not as strings.
@Suite struct DistinguishedNameTests {
    @Test(arguments: [
        ("OU=Staff, DC=corp, DC=example, DC=test", "ou=staff,dc=corp,dc=example,dc=test"),
        ("OU=Staff,DC=Corp,DC=Example,DC=Test", "ou=STAFF , dc=corp ,dc=example,dc=test"),
        ("cn=Smith\\, John,ou=People,dc=x", "CN=smith\\2c john, OU=people, DC=X"),
        ("cn=A  B,dc=x", "cn=a b,dc=x"),
        ("uid=1+cn=a,dc=x", "cn=A+uid=1,dc=x"),
        ("cn=Lost\\0ADEL:fb0c,CN=Deleted Objects,DC=x", "cn=lost\\0adel:fb0c,cn=deleted objects,dc=x"),
    ])
    func theSameDNWrittenTwoWays(a: String, b: String) throws {
        let first = try #require(DistinguishedName(a))
        let second = try #require(DistinguishedName(b))
        #expect(first == second)
        #expect(first.isWithin(second) && second.isWithin(first))
    }

    @Test func underTheBaseWrittenThreeWays() {
        let entry = "CN=User 00001,OU=People,DC=acc,DC=test"
        for base in ["OU=People,DC=acc,DC=test", "OU=People, DC=acc, DC=test", "ou=people,dc=ACC,dc=Test"] {
            #expect(DistinguishedName.isWithin(entry, base: base), "\(base)")
            #expect(DistinguishedName.isWithin(base, base: base))
        }
        // A suffix as a string is not a suffix as a DN.
        #expect(!DistinguishedName.isWithin("CN=x,OU=OtherPeople,DC=acc,DC=test", base: "OU=People,DC=acc,DC=test"))
        #expect(!DistinguishedName.isWithin("CN=x,OU=Elsewhere,DC=acc,DC=test", base: "OU=People,DC=acc,DC=test"))
        #expect(!DistinguishedName.isWithin("CN=a\\,OU=People,DC=acc,DC=test", base: "OU=People,DC=acc,DC=test"))
        #expect(!DistinguishedName.isWithin("DC=test", base: "DC=acc,DC=test"))
    }

    @Test(arguments: ["cn", "cn=a,=b", "cn=a\\", "cn=a\\4", "cn=a,dc"])
    func notADN(_ text: String) {
        #expect(DistinguishedName(text) == nil)
    }
}

@Suite struct LDAPFilterAttributeTests {
    @Test func theAttributesAFilterTests() {
        #expect(LDAPFilterAttributes.names(in: "(&(objectCategory=person)(objectClass=user))") == ["objectCategory", "objectClass"])
        #expect(LDAPFilterAttributes.names(in: "(&(objectClass=user)(department=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")
                == ["objectClass", "department", "userAccountControl"])
        #expect(LDAPFilterAttributes.names(in: "(|(cn=a\\28b)(CN>=x)(mail~=y))") == ["cn", "mail"])
    }
}
