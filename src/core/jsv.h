/* jsv.h - a JSON Schema (2020-12) validator for tool and MCP inputs.
 *
 * Owns: deciding whether a JSON value satisfies a schema, and saying where
 * and why it does not, in words an agent or a person can act on. Agent tools
 * and MCP calls check their input against the tool's inputSchema before
 * anything runs, so the error must name the JSON path. Depends on Jansson
 * and libc only; keeps no global state, so threads may validate at once
 * (with one schema, too: it is only read).
 *
 * Asserted: type, enum, const, properties, required, additionalProperties,
 * patternProperties, propertyNames, minProperties, maxProperties,
 * dependentRequired, dependentSchemas, items, prefixItems, contains,
 * minContains, maxContains, minItems, maxItems, uniqueItems, minLength,
 * maxLength (code points), pattern (ECMA-262, see core/re.h), minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, allOf, anyOf,
 * oneOf, not, if/then/else, $ref to "#" or a JSON pointer in the same
 * document ("#/$defs/NAME", "#/definitions/NAME"), boolean schemas.
 * `format` and other annotations are not asserted; unknown keywords are
 * ignored. Keywords this validator cannot honour (unevaluatedProperties,
 * unevaluatedItems, $dynamicRef, $recursiveRef) and malformed keyword values
 * fail validation as schema errors, so a schema bug never lets input pass.
 *
 * Limits, each failing validation with a message that says so: instances
 * nested over JSV_MAX_DEPTH levels (only where the schema descends), a $ref
 * that returns to itself for the same value, a schema applied over
 * JSV_MAX_CALLS levels deep, a pattern search needing over a million steps
 * ("pattern too complex to check"), and 20 million pattern steps for one
 * whole input. Put maxLength beside a pattern: lengths are checked first, so
 * they bound what the pattern costs. */
#ifndef CAIRN_JSV_H
#define CAIRN_JSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JSV_MAX_DEPTH 64
#define JSV_MAX_CALLS 512

/* Validates inst against schema (both borrowed). true when valid, and then
 * path and msg are "". Otherwise false with the first failure:
 *   path: where in inst, e.g. `line_items[2].quantity`: members joined by
 *     '.', array indexes in brackets, "" for the root; a member name that is
 *     not [A-Za-z0-9_]+ is written ["na.me"] with JSON string escaping. For
 *     `required` it names the missing member itself (`lines[0].account_id`).
 *   msg: a sentence naming what is wrong ("must be an integer", "is
 *     required", "is not allowed (unknown member)", "must be one of: open,
 *     won, lost", "must be at most 255 characters", "must be >= 1"). Errors
 *     in the schema itself start with "schema error: ".
 * Both buffers are always NUL-terminated when their cap is not 0, and cut
 * at a UTF-8 character boundary when too small (a path is cut at 511 bytes,
 * a message at 319, whatever the caps). Evaluation order, hence
 * which failure is first: $ref, type, const, enum, then the keywords of the
 * instance's type (for objects: required first, then each member in the
 * instance's order), then the applicators. */
bool jsv_validate(const json_t *schema, const json_t *inst, char *path, size_t pcap, char *msg,
                  size_t mcap);

#endif
