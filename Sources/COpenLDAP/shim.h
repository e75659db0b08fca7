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

#endif
