@testable import RollcallDaemon
import Testing

/// The review page labels a group by its first RDN's value; an escaped comma is part of it.
@Suite struct ReviewLabelTests {
    @Test(arguments: [
        ("cn=payments-approve,ou=groups,dc=example,dc=test", "payments-approve"),
        ("CN=Smith\\, Jo,OU=Groups,DC=example", "Smith, Jo"),
        ("cn=solo", "solo"),
        ("not a dn", "not a dn"),
    ])
    func theFirstValueNamesTheGroup(_ dn: String, _ label: String) {
        #expect(ReviewPages.shortName(dn) == label)
    }
}
