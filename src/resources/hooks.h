/* hooks.h - the hook tables of each resource family, one file each. */
#ifndef CAIRN_HOOKS_H
#define CAIRN_HOOKS_H

#include "resources/registry.h"

extern const res_hooks contact_hooks;    /* contacts.c */
extern const res_hooks membership_hooks; /* contacts.c */

#endif
