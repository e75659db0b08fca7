#ifndef ROLLCALL_COPENLDAP_SHIM_H
#define ROLLCALL_COPENLDAP_SHIM_H
// libldap and liblber for Swift. Only what Swift cannot import from <ldap.h> is added here.
#include <ldap.h>
#include <lber.h>

// Scope values are cast macros ((ber_int_t) 0x0002), which Swift does not import.
static inline int rollcall_ldap_scope_base(void) { return LDAP_SCOPE_BASE; }
static inline int rollcall_ldap_scope_onelevel(void) { return LDAP_SCOPE_ONELEVEL; }
static inline int rollcall_ldap_scope_subtree(void) { return LDAP_SCOPE_SUBTREE; }

// LDAP_OPT_ON is a pointer to a C global; Swift 6 rejects touching it.
static inline int rollcall_ldap_set_flag(LDAP *ld, int option, int on) {
    return ldap_set_option(ld, option, on ? LDAP_OPT_ON : LDAP_OPT_OFF);
}

// Active Directory DirSync control (1.2.840.113556.1.4.841). ber_printf/ber_scanf are variadic,
// which Swift cannot call, so the encoding and decoding live here.
// Request value: SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }. `out` is
// allocated by liblber: free out->bv_val with ber_memfree.
static inline int rollcall_dirsync_request(int flags, int max_bytes, const struct berval *cookie, struct berval *out) {
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    if (ber == NULL) return -1;
    struct berval empty = { 0, (char *)"" };
    const struct berval *value = (cookie != NULL && cookie->bv_len > 0) ? cookie : &empty;
    if (ber_printf(ber, "{iiO}", flags, max_bytes, value) == -1) { ber_free(ber, 1); return -1; }
    int rc = ber_flatten2(ber, out, 1);
    ber_free(ber, 1);
    return rc;
}

// Response value: SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING }.
// `cookie` is allocated by liblber: free cookie->bv_val with ber_memfree.
// A control without a value (bv_val NULL) is refused here: ber_init accepts it, and liblber's
// decoder then reads through the NULL pointer (found by scripts/fuzz).
static inline int rollcall_dirsync_response(struct berval *value, int *more, struct berval *cookie) {
    if (value == NULL || value->bv_val == NULL || value->bv_len == 0) return -1;
    BerElement *ber = ber_init(value);
    if (ber == NULL) return -1;
    ber_int_t more_results = 0, unused = 0;
    ber_tag_t tag = ber_scanf(ber, "{iio}", &more_results, &unused, cookie);
    ber_free(ber, 1);
    if (tag == LBER_ERROR) return -1;
    *more = more_results;
    return 0;
}

#endif
