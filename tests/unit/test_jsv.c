/* test_jsv.c - src/core/jsv and src/core/re: JSON Schema validation and
 * the ECMA-262 matcher behind `pattern`.
 *
 * Most cases are rows of a table: schema, instance, and the path and
 * message expected (path NULL: valid). JSON in the tables is written with
 * single quotes, turned into double quotes before parsing, so the rows stay
 * readable. The real patterns the project uses are checked with good and
 * bad values; hostile ones must come back within the step budget. */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jsv.h"
#include "core/re.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

/* Parses JSON written with ' for " (no JSON here needs a real '). */
static json_t *q(const char *text)
{
    char buf[4096];
    size_t n = strlen(text);
    if (n >= sizeof buf) return NULL;
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t e;
    json_t *j = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j) test_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
    return j;
}

typedef struct vcase {
    const char *schema, *inst;
    const char *path; /* NULL: the instance is valid */
    const char *msg;  /* a trailing '*' matches any rest */
} vcase;

static bool msg_matches(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (n && want[n - 1] == '*') return strncmp(got, want, n - 1) == 0;
    return strcmp(got, want) == 0;
}

static void run_cases(const char *file, int line, const vcase *cs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *s = q(cs[i].schema), *in = q(cs[i].inst);
        if (!s || !in) {
            json_decref(s);
            json_decref(in);
            continue;
        }
        char path[256], msg[256];
        bool ok = jsv_validate(s, in, path, sizeof path, msg, sizeof msg);
        if (!cs[i].path) {
            if (!ok)
                test_fail(file, line, "case %zu: %s against %s: want valid, got %s: %s", i,
                          cs[i].inst, cs[i].schema, path, msg);
        } else if (ok) {
            test_fail(file, line, "case %zu: %s against %s: want %s: %s, got valid", i, cs[i].inst,
                      cs[i].schema, cs[i].path, cs[i].msg);
        } else if (strcmp(path, cs[i].path) != 0 || !msg_matches(msg, cs[i].msg)) {
            test_fail(file, line, "case %zu: %s against %s: want [%s] %s, got [%s] %s", i,
                      cs[i].inst, cs[i].schema, cs[i].path, cs[i].msg, path, msg);
        }
        json_decref(s);
        json_decref(in);
    }
}
#define RUN(cases) run_cases(__FILE__, __LINE__, cases, sizeof cases / sizeof cases[0])

/* Validates the string s[0..n) against {"type":"string","pattern":pat}. */
static bool pattern_ok(const char *pat, const char *s, size_t n, char *msg, size_t mcap)
{
    json_t *schema = json_pack("{s:s, s:s}", "type", "string", "pattern", pat);
    json_t *in = json_stringn(s, n);
    char path[64];
    bool ok = jsv_validate(schema, in, path, sizeof path, msg, mcap);
    json_decref(schema);
    json_decref(in);
    return ok;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ type/enum */

TEST(jsv_type)
{
    static const vcase cases[] = {
        {"{'type':'string'}", "'x'", NULL, NULL},
        {"{'type':'string'}", "1", "", "must be a string"},
        {"{'type':'integer'}", "3", NULL, NULL},
        {"{'type':'integer'}", "3.0", NULL, NULL},
        {"{'type':'integer'}", "-0.0", NULL, NULL},
        {"{'type':'integer'}", "3.5", "", "must be an integer"},
        {"{'type':'integer'}", "'3'", "", "must be an integer"},
        {"{'type':'number'}", "3", NULL, NULL},
        {"{'type':'number'}", "3.25", NULL, NULL},
        {"{'type':'number'}", "true", "", "must be a number"},
        {"{'type':'boolean'}", "false", NULL, NULL},
        {"{'type':'boolean'}", "0", "", "must be a boolean"},
        {"{'type':'null'}", "null", NULL, NULL},
        {"{'type':'null'}", "0", "", "must be null"},
        {"{'type':'object'}", "{}", NULL, NULL},
        {"{'type':'object'}", "[]", "", "must be an object"},
        {"{'type':'array'}", "[]", NULL, NULL},
        {"{'type':'array'}", "{}", "", "must be an array"},
        {"{'type':['string','null']}", "null", NULL, NULL},
        {"{'type':['string','null']}", "'a'", NULL, NULL},
        {"{'type':['string','null']}", "1", "", "must be a string or null"},
        {"{'type':['string','integer','null']}", "1.5", "", "must be a string, an integer or null"},
        {"{'type':'text'}", "1", "",
         "schema error: type must be a type name or a non-empty array of them"},
        {"{'type':[]}", "1", "", "schema error: *"},
    };
    RUN(cases);
}

TEST(jsv_enum_const)
{
    static const vcase cases[] = {
        {"{'enum':['open','won','lost']}", "'won'", NULL, NULL},
        {"{'enum':['open','won','lost']}", "'WON'", "", "must be one of: open, won, lost"},
        {"{'enum':[1,2.5,null,true,[1],{'a':1}]}", "2.5", NULL, NULL},
        {"{'enum':[1,2.5,null,true,[1],{'a':1}]}", "1.0", NULL, NULL},
        {"{'enum':[1,2.5,null,true,[1],{'a':1}]}", "{'a':1.0}", NULL, NULL},
        {"{'enum':[1,2.5,null,true,[1],{'a':1}]}", "false", "",
         "must be one of: 1, 2.5, null, true, [1], {\"a\":1}"},
        {"{'enum':[]}", "1", "", "must be one of: "},
        {"{'enum':'open'}", "1", "", "schema error: enum must be an array"},
        {"{'const':1}", "1.0", NULL, NULL},
        {"{'const':1.0}", "1", NULL, NULL},
        {"{'const':1}", "1.5", "", "must equal: 1"},
        {"{'const':'x'}", "'y'", "", "must equal: x"},
        {"{'const':{'a':[1,{'b':null}],'c':true}}", "{'c':true,'a':[1.0,{'b':null}]}", NULL, NULL},
        {"{'const':{'a':[1,{'b':null}],'c':true}}", "{'c':true,'a':[1,{'b':false}]}", "",
         "must equal: {\"a\":[1,{\"b\":null}],\"c\":true}"},
        {"{'const':{'a':1}}", "{'a':1,'b':2}", "", "must equal:*"},
        {"{'const':[1,2]}", "[2,1]", "", "must equal: [1,2]"},
        {"{'const':null}", "false", "", "must equal: null"},
        {"{'const':false}", "false", NULL, NULL},
        {"{'const':'a\\u0000b'}", "'a\\u0000b'", NULL, NULL},
        {"{'const':'a\\u0000b'}", "'a\\u0000c'", "", "must equal:*"},
    };
    RUN(cases);
}

/* -------------------------------------------------------------- objects */

TEST(jsv_objects)
{
    static const vcase cases[] = {
        {"{'properties':{'a':{'type':'integer'}}}", "{'a':1,'b':'x'}", NULL, NULL},
        {"{'properties':{'a':{'type':'integer'}}}", "{'a':'1'}", "a", "must be an integer"},
        {"{'properties':{'a':{'type':'integer'}}}", "'not an object'", NULL, NULL},
        {"{'required':['a','b']}", "{'a':1,'b':null}", NULL, NULL},
        {"{'required':['a','b']}", "{'a':1}", "b", "is required"},
        {"{'required':['a']}", "[]", NULL, NULL},
        {"{'required':'a'}", "{}", "", "schema error: required must be an array*"},
        {"{'properties':{'a':{}},'additionalProperties':false}", "{'a':1}", NULL, NULL},
        {"{'properties':{'a':{}},'additionalProperties':false}", "{'a':1,'zz':2}", "zz",
         "is not allowed (unknown member)"},
        {"{'properties':{'a':{}},'additionalProperties':{'type':'string'}}", "{'a':1,'b':'x'}",
         NULL, NULL},
        {"{'properties':{'a':{}},'additionalProperties':{'type':'string'}}", "{'a':1,'b':2}", "b",
         "must be a string"},
        {"{'patternProperties':{'^x_':{'type':'integer'}},'additionalProperties':false}",
         "{'x_a':1,'x_b':2}", NULL, NULL},
        {"{'patternProperties':{'^x_':{'type':'integer'}},'additionalProperties':false}",
         "{'x_a':'1'}", "x_a", "must be an integer"},
        {"{'patternProperties':{'^x_':{'type':'integer'}},'additionalProperties':false}", "{'y':1}",
         "y", "is not allowed (unknown member)"},
        {"{'properties':{'x_a':{'minimum':5}},'patternProperties':{'^x_':{'maximum':3}}}",
         "{'x_a':4}", "x_a", "must be >= 5"},
        {"{'patternProperties':{'((':{}}}", "{'a':1}", "a",
         "schema error: patternProperties (( cannot be used: missing )*"},
        {"{'propertyNames':{'pattern':'^[a-z_]+$'}}", "{'ok_name':1}", NULL, NULL},
        {"{'propertyNames':{'pattern':'^[a-z_]+$'}}", "{'ok':1,'Bad-Name':2}", "[\"Bad-Name\"]",
         "member name must match the pattern ^[a-z_]+$"},
        {"{'propertyNames':{'maxLength':3}}", "{'abcd':1}", "abcd",
         "member name must be at most 3 characters"},
        {"{'propertyNames':false}", "{}", NULL, NULL},
        {"{'propertyNames':false}", "{'a':1}", "a", "member name is not allowed"},
        {"{'minProperties':2}", "{'a':1,'b':2}", NULL, NULL},
        {"{'minProperties':2}", "{'a':1}", "", "must have at least 2 members"},
        {"{'maxProperties':1}", "{'a':1,'b':2}", "", "must have at most 1 member"},
        {"{'maxProperties':1.0}", "{'a':1}", NULL, NULL},
        {"{'maxProperties':-1}", "{}", "", "schema error: maxProperties must be a non-negative*"},
        {"{'dependentRequired':{'card':['cvc']}}", "{'card':'x','cvc':'1'}", NULL, NULL},
        {"{'dependentRequired':{'card':['cvc']}}", "{'other':1}", NULL, NULL},
        {"{'dependentRequired':{'card':['cvc']}}", "{'card':'x'}", "cvc",
         "is required when card is present"},
        {"{'dependentSchemas':{'card':{'required':['cvc']}}}", "{'card':'x'}", "cvc",
         "is required"},
        {"{'dependentSchemas':{'card':{'required':['cvc']}}}", "{'x':1}", NULL, NULL},
        {"{'properties':{'a':{'properties':{'b':{'properties':{'c':{'type':'string'}}}}}}}",
         "{'a':{'b':{'c':5}}}", "a.b.c", "must be a string"},
    };
    RUN(cases);
}

/* --------------------------------------------------------------- arrays */

TEST(jsv_arrays)
{
    static const vcase cases[] = {
        {"{'items':{'type':'integer'}}", "[1,2,3]", NULL, NULL},
        {"{'items':{'type':'integer'}}", "[1,2,'x']", "[2]", "must be an integer"},
        {"{'items':false}", "[]", NULL, NULL},
        {"{'items':false}", "[1]", "[0]", "is not allowed"},
        {"{'prefixItems':[{'type':'string'},{'type':'integer'}]}", "['a',1,null]", NULL, NULL},
        {"{'prefixItems':[{'type':'string'},{'type':'integer'}]}", "[1]", "[0]",
         "must be a string"},
        {"{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}", "['a',1,2]", NULL, NULL},
        {"{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}", "['a',1,'b']", "[2]",
         "must be an integer"},
        {"{'prefixItems':[{}],'items':false}", "[1,2]", "[1]", "is not allowed"},
        {"{'items':[{'type':'string'}]}", "['a']", "", "schema error: items must be a schema*"},
        {"{'minItems':2}", "[1,2]", NULL, NULL},
        {"{'minItems':2}", "[1]", "", "must have at least 2 items"},
        {"{'minItems':1}", "[]", "", "must have at least 1 item"},
        {"{'maxItems':2}", "[1,2,3]", "", "must have at most 2 items"},
        {"{'maxItems':2}", "'abc'", NULL, NULL},
        {"{'uniqueItems':true}", "[1,'1',[1],{'a':1},true,null]", NULL, NULL},
        {"{'uniqueItems':true}", "[1,2,1.0]", "",
         "must not contain duplicates (items 0 and 2 are equal)"},
        {"{'uniqueItems':true}", "[{'a':1,'b':[2]},{'b':[2.0],'a':1}]", "",
         "must not contain duplicates (items 0 and 1 are equal)"},
        {"{'uniqueItems':true}", "[false,0]", NULL, NULL},
        {"{'uniqueItems':false}", "[1,1]", NULL, NULL},
        {"{'uniqueItems':1}", "[1,1]", "", "schema error: uniqueItems must be a boolean"},
        {"{'contains':{'type':'string'}}", "[1,'a']", NULL, NULL},
        {"{'contains':{'type':'string'}}", "[1,2]", "",
         "must contain at least 1 item matching contains"},
        {"{'contains':{'type':'string'},'minContains':2}", "['a',1]", "",
         "must contain at least 2 items matching contains"},
        {"{'contains':{'type':'string'},'maxContains':1}", "['a','b']", "",
         "must contain at most 1 item matching contains"},
        {"{'contains':{'type':'string'},'minContains':0}", "[]", NULL, NULL},
    };
    RUN(cases);
}

/* -------------------------------------------------------------- strings */

TEST(jsv_strings)
{
    static const vcase cases[] = {
        {"{'maxLength':1}", "'\u00e9'", NULL, NULL},           /* 2 bytes, 1 code point */
        {"{'maxLength':1}", "'\xf0\x9f\x98\x80'", NULL, NULL}, /* 4 bytes, 1 code point */
        {"{'maxLength':1}", "'\\ud83d\\ude00'", NULL, NULL},   /* the same, escaped */
        {"{'maxLength':2}", "'\u00e9t\u00e9'", "", "must be at most 2 characters"},
        {"{'maxLength':255}", "''", NULL, NULL},
        {"{'minLength':3}", "'\u00e9t\u00e9'", NULL, NULL},
        {"{'minLength':4}", "'\u00e9t\u00e9'", "", "must be at least 4 characters"},
        {"{'minLength':1}", "''", "", "must be at least 1 character"},
        {"{'minLength':1}", "5", NULL, NULL},
        {"{'minLength':'1'}", "'a'", "", "schema error: minLength must be a non-negative integer"},
        {"{'minLength':1.5}", "'a'", "", "schema error: minLength must be a non-negative integer"},
        {"{'pattern':'^[A-Z]{3}$'}", "'USD'", NULL, NULL},
        {"{'pattern':'^[A-Z]{3}$'}", "'usd'", "", "must match the pattern ^[A-Z]{3}$"},
        {"{'pattern':'[0-9]'}", "'abc1def'", NULL, NULL}, /* a search, not a full match */
        {"{'pattern':'^\u00e9.$'}", "'\u00e9\u00e8'", NULL, NULL},
        {"{'pattern':'^(ab'}", "'ab'", "", "schema error: pattern ^(ab cannot be used: missing )*"},
        {"{'pattern':'^(ab'}", "5", NULL, NULL}, /* pattern only applies to strings */
        {"{'pattern':5}", "'a'", "", "schema error: pattern must be a string"},
        {"{'format':'email'}", "'not an email'", NULL, NULL}, /* an annotation */
        {"{'format':'date-time','title':'t','description':'d','examples':[1],'default':2,"
         "'$comment':'c','readOnly':true,'x-custom':{'type':'integer'},'deprecated':true}",
         "'x'", NULL, NULL},
    };
    RUN(cases);
}

/* -------------------------------------------------------------- numbers */

TEST(jsv_numbers)
{
    static const vcase cases[] = {
        {"{'minimum':1}", "1", NULL, NULL},
        {"{'minimum':1}", "0", "", "must be >= 1"},
        {"{'minimum':1}", "0.999", "", "must be >= 1"},
        {"{'minimum':0.5}", "0", "", "must be >= 0.5"},
        {"{'minimum':0.5}", "1", NULL, NULL},
        {"{'maximum':10}", "10.0", NULL, NULL},
        {"{'maximum':10}", "10.5", "", "must be <= 10"},
        {"{'exclusiveMinimum':0}", "0", "", "must be > 0"},
        {"{'exclusiveMinimum':0}", "0.0001", NULL, NULL},
        {"{'exclusiveMaximum':100}", "100", "", "must be < 100"},
        {"{'exclusiveMaximum':100}", "99", NULL, NULL},
        {"{'minimum':'1'}", "1", "", "schema error: minimum must be a number"},
        {"{'minimum':1}", "'0'", NULL, NULL},
        /* int64 compared exactly: as doubles these pairs are equal. */
        {"{'minimum':-9223372036854775808}", "-9223372036854775808", NULL, NULL},
        {"{'minimum':-9223372036854775807}", "-9223372036854775808", "",
         "must be >= -9223372036854775807"},
        {"{'maximum':9223372036854775807}", "9223372036854775807", NULL, NULL},
        {"{'maximum':9223372036854775806}", "9223372036854775807", "",
         "must be <= 9223372036854775806"},
        {"{'exclusiveMaximum':9223372036854775807}", "9223372036854775806", NULL, NULL},
        {"{'exclusiveMaximum':9223372036854775807}", "9223372036854775807", "",
         "must be < 9223372036854775807"},
        /* 9223372036854775807.0 is 2^63: above every int64. */
        {"{'exclusiveMaximum':9223372036854775807.0}", "9223372036854775807", NULL, NULL},
        {"{'exclusiveMinimum':-9223372036854775808.0}", "-9223372036854775808", "",
         "must be > -9.2233720368547758e+18"},
        {"{'minimum':9007199254740993}", "9007199254740992.0", "", "must be >= 9007199254740993"},
        {"{'maximum':1e300}", "9223372036854775807", NULL, NULL},
        {"{'minimum':-1e300}", "-9223372036854775808", NULL, NULL},
        {"{'multipleOf':5}", "25", NULL, NULL},
        {"{'multipleOf':5}", "-9223372036854775808", "", "must be a multiple of 5"},
        {"{'multipleOf':2}", "-9223372036854775808", NULL, NULL},
        {"{'multipleOf':5}", "26", "", "must be a multiple of 5"},
        {"{'multipleOf':5}", "25.0", NULL, NULL},
        {"{'multipleOf':0.01}", "19.99", NULL, NULL},
        {"{'multipleOf':0.01}", "0.07", NULL, NULL},
        {"{'multipleOf':0.01}", "10000000000", NULL, NULL},
        {"{'multipleOf':0.01}", "0.075", "", "must be a multiple of 0.01"},
        {"{'multipleOf':0.5}", "3", NULL, NULL},
        {"{'multipleOf':0.5}", "3.25", "", "must be a multiple of 0.5"},
        {"{'multipleOf':0}", "1", "", "schema error: multipleOf must be a number greater than 0"},
        {"{'multipleOf':-2}", "4", "", "schema error: *"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------- applicators */

TEST(jsv_applicators)
{
    static const vcase cases[] = {
        {"{'allOf':[{'type':'integer'},{'minimum':2}]}", "3", NULL, NULL},
        {"{'allOf':[{'type':'integer'},{'minimum':2}]}", "1", "", "must be >= 2"},
        {"{'allOf':[]}", "1", "", "schema error: allOf must be a non-empty array of schemas"},
        {"{'anyOf':[{'type':'string'},{'type':'integer'}]}", "1", NULL, NULL},
        {"{'anyOf':[{'type':'string'},{'type':'integer'}]}", "1.5", "",
         "must match at least one of the schemas in anyOf"},
        /* One branch is of the value's type: its own message is the useful one. */
        {"{'anyOf':[{'type':'string','maxLength':3},{'type':'null'}]}", "'abcd'", "",
         "must be at most 3 characters"},
        /* A tagged union: the branch whose tag matches tells what is wrong. */
        {"{'oneOf':[{'properties':{'kind':{'const':'call'},'minutes':{'type':'integer'}},"
         "'required':['kind','minutes']},{'properties':{'kind':{'const':'email'}},"
         "'required':['kind','subject']}]}",
         "{'kind':'email'}", "subject", "is required"},
        {"{'oneOf':[{'properties':{'kind':{'const':'call'},'minutes':{'type':'integer'}},"
         "'required':['kind','minutes']},{'properties':{'kind':{'const':'email'}},"
         "'required':['kind','subject']}]}",
         "{'kind':'call','minutes':'5'}", "minutes", "must be an integer"},
        {"{'oneOf':[{'properties':{'kind':{'const':'call'}}},{'properties':{'kind':{'const':'email'"
         "}}}]}",
         "{'kind':'fax'}", "", "must match exactly one of the schemas in oneOf"},
        /* The same through $ref, with an enum for a tag. */
        {"{'$defs':{'call':{'properties':{'kind':{'enum':['call','meeting']},'minutes':{'type':"
         "'integer'}}},'email':{'properties':{'kind':{'const':'email'},'subject':{'maxLength':5}}}}"
         ","
         "'anyOf':[{'$ref':'#/$defs/call'},{'$ref':'#/$defs/email'}]}",
         "{'kind':'meeting','minutes':1.5}", "minutes", "must be an integer"},
        {"{'$defs':{'call':{'properties':{'kind':{'enum':['call','meeting']},'minutes':{'type':"
         "'integer'}}},'email':{'properties':{'kind':{'const':'email'},'subject':{'maxLength':5}}}}"
         ","
         "'anyOf':[{'$ref':'#/$defs/call'},{'$ref':'#/$defs/email'}]}",
         "{'kind':'email','subject':'too long'}", "subject", "must be at most 5 characters"},
        {"{'oneOf':[{'type':'integer'},{'minimum':0}]}", "-1", NULL, NULL},
        {"{'oneOf':[{'type':'integer'},{'minimum':0}]}", "1", "",
         "must match exactly one schema in oneOf, but matches #0 and #1"},
        {"{'oneOf':[{'type':'integer'},{'minimum':0}]}", "-1.5", "",
         "must be >= 0"}, /* the integer branch was not meant for a real */
        {"{'not':{'type':'null'}}", "1", NULL, NULL},
        {"{'not':{'type':'null'}}", "null", "", "must not match the schema in not"},
        {"{'if':{'properties':{'kind':{'const':'won'}}},'then':{'required':['closed_at']},"
         "'else':{'not':{'required':['closed_at']}}}",
         "{'kind':'won','closed_at':1}", NULL, NULL},
        {"{'if':{'properties':{'kind':{'const':'won'}}},'then':{'required':['closed_at']},"
         "'else':{'not':{'required':['closed_at']}}}",
         "{'kind':'won'}", "closed_at", "is required"},
        {"{'if':{'properties':{'kind':{'const':'won'}}},'then':{'required':['closed_at']},"
         "'else':{'not':{'required':['closed_at']}}}",
         "{'kind':'open','closed_at':1}", "", "must not match the schema in not"},
        {"{'if':{'properties':{'kind':{'const':'won'}}},'then':{'required':['closed_at']},"
         "'else':{'not':{'required':['closed_at']}}}",
         "{'kind':'open'}", NULL, NULL},
        {"{'then':{'type':'string'}}", "1", NULL, NULL}, /* then without if: nothing */
        /* A schema error inside a branch is not a branch that failed. */
        {"{'not':{'pattern':'(('}}", "'x'", "", "schema error: pattern (( cannot be used*"},
        {"{'anyOf':[{'pattern':'(('},true]}", "'x'", "", "schema error: pattern ((*"},
        {"{'anyOf':[true,{'pattern':'(('}]}", "'x'", NULL, NULL}, /* never reached */
        {"{'if':{'minLength':'x'},'then':true}", "'x'", "", "schema error: minLength*"},
        {"{'unevaluatedProperties':false}", "{}", "",
         "schema error: unevaluatedProperties is not supported"},
    };
    RUN(cases);
}

/* ------------------------------------------------------- refs, booleans */

TEST(jsv_refs_and_booleans)
{
    static const vcase cases[] = {
        {"true", "{'anything':[1]}", NULL, NULL},
        {"false", "null", "", "is not allowed"},
        {"{}", "[1,{'a':2}]", NULL, NULL},
        {"{'properties':{'a':true,'b':false}}", "{'a':1}", NULL, NULL},
        {"{'properties':{'a':true,'b':false}}", "{'b':1}", "b", "is not allowed"},
        {"{'properties':{'a':5}}", "{'a':1}", "a", "schema error: a schema must be*"},
        {"{'$defs':{'money':{'type':'integer','minimum':0}},'properties':{'amount':{'$ref':'#/"
         "$defs/money'}}}",
         "{'amount':-1}", "amount", "must be >= 0"},
        {"{'definitions':{'money':{'type':'integer'}},'items':{'$ref':'#/definitions/money'}}",
         "[1,'2']", "[1]", "must be an integer"},
        /* 2020-12: keywords beside $ref apply too. */
        {"{'$defs':{'s':{'type':'string'}},'properties':{'a':{'$ref':'#/$defs/s','maxLength':2}}}",
         "{'a':'abc'}", "a", "must be at most 2 characters"},
        {"{'$defs':{'a/b':{'type':'string'},'t~':{'type':'integer'}},"
         "'properties':{'x':{'$ref':'#/$defs/a~1b'},'y':{'$ref':'#/$defs/t~0'}}}",
         "{'x':'s','y':1}", NULL, NULL},
        {"{'$defs':{'a b':{'type':'string'}},'properties':{'x':{'$ref':'#/$defs/a%20b'}}}",
         "{'x':1}", "x", "must be a string"},
        {"{'$defs':{'l':[{'type':'null'}]},'$ref':'#/$defs/l/0'}", "1", "", "must be null"},
        {"{'$ref':'#/$defs/missing'}", "1", "",
         "schema error: $ref #/$defs/missing cannot be resolved*"},
        {"{'$ref':'other.json#/a'}", "1", "", "schema error: $ref other.json#/a cannot be*"},
        {"{'$ref':'#anchor'}", "1", "", "schema error: *"},
        /* A tree through "#": recursion that consumes the instance. */
        {"{'type':'object','properties':{'name':{'type':'string'},'children':{'type':'array',"
         "'items':{'$ref':'#'}}},'required':['name']}",
         "{'name':'a','children':[{'name':'b','children':[{'name':'c'}]},{'name':'d'}]}", NULL,
         NULL},
        {"{'type':'object','properties':{'name':{'type':'string'},'children':{'type':'array',"
         "'items':{'$ref':'#'}}},'required':['name']}",
         "{'name':'a','children':[{'name':'b','children':[{'nom':'c'}]}]}",
         "children[0].children[0].name", "is required"},
        /* Cycles that never consume the instance. */
        {"{'$ref':'#'}", "1", "", "schema error: $ref # loops back to itself for the same value"},
        {"{'$defs':{'a':{'$ref':'#/$defs/b'},'b':{'anyOf':[{'$ref':'#/$defs/a'}]}},"
         "'$ref':'#/$defs/a'}",
         "1", "", "schema error: $ref #/$defs/a loops back*"},
        {"{'not':{'$ref':'#'}}", "1", "", "schema error: $ref # loops back*"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------- paths */

TEST(jsv_paths)
{
    static const vcase cases[] = {
        {"{'properties':{'line_items':{'items':{'properties':{'quantity':{'type':'integer',"
         "'minimum':1}}}}}}",
         "{'line_items':[{'quantity':1},{'quantity':2},{'quantity':0}]}", "line_items[2].quantity",
         "must be >= 1"},
        {"{'properties':{'lines':{'items':{'required':['account_id']}}}}",
         "{'lines':[{'debit':1}]}", "lines[0].account_id", "is required"},
        {"{'items':{'items':{'type':'string'}}}", "[['a'],['b',1]]", "[1][1]", "must be a string"},
        {"{'additionalProperties':false}", "{'na.me':1}", "[\"na.me\"]",
         "is not allowed (unknown member)"},
        {"{'additionalProperties':false}", "{'':1}", "[\"\"]", "is not allowed (unknown member)"},
        {"{'additionalProperties':false}", "{'a\\\"b\\\\c\\n\\u0001':1}",
         "[\"a\\\"b\\\\c\\n\\u0001\"]", "is not allowed (unknown member)"},
        {"{'additionalProperties':false}", "{'caf\u00e9':1}", "[\"caf\u00e9\"]",
         "is not allowed (unknown member)"},
        {"{'additionalProperties':false}", "{'2fa':1}", "2fa", "is not allowed (unknown member)"},
        {"{'properties':{'custom_fields':{'additionalProperties':{'type':'string'}}}}",
         "{'custom_fields':{'x.y-z':1}}", "custom_fields[\"x.y-z\"]", "must be a string"},
        {"{'properties':{'a b':{'items':{'properties':{'c':false}}}}}", "{'a b':[{'c':1}]}",
         "[\"a b\"][0].c", "is not allowed"},
        {"{'required':['na.me']}", "{}", "[\"na.me\"]", "is required"},
    };
    RUN(cases);
}

TEST(jsv_buffers_are_capped)
{
    json_t *s = q("{'properties':{'\u00e9\u00e9\u00e9\u00e9':{'type':'integer'}}}");
    json_t *in = q("{'\u00e9\u00e9\u00e9\u00e9':'x'}");
    char path[64], msg[64];
    memset(path, 'z', sizeof path);
    CHECK(!jsv_validate(s, in, path, sizeof path, msg, sizeof msg));
    CHECK_STR(path, "[\"\u00e9\u00e9\u00e9\u00e9\"]");
    CHECK_STR(msg, "must be an integer");
    /* Cut short at a character boundary: 7 bytes would end inside the third é. */
    char small[8];
    memset(small, 'z', sizeof small);
    CHECK(!jsv_validate(s, in, small, sizeof small, msg, 5));
    CHECK_STR(small, "[\"\u00e9\u00e9");
    CHECK_STR(msg, "must");
    char tiny[1] = {'z'};
    CHECK(!jsv_validate(s, in, tiny, sizeof tiny, NULL, 0));
    CHECK_EQ_INT(tiny[0], 0);
    /* Valid: both buffers become "". */
    json_t *good = q("{'\u00e9\u00e9\u00e9\u00e9':1}");
    memset(path, 'z', sizeof path);
    memset(msg, 'z', sizeof msg);
    CHECK(jsv_validate(s, good, path, sizeof path, msg, sizeof msg));
    CHECK_STR(path, "");
    CHECK_STR(msg, "");
    json_decref(s);
    json_decref(in);
    json_decref(good);
}

/* ------------------------------------------------------- real patterns */

static const char email_re[] =
    "^[^@\\x00-\\x20,<>();\"]+@(?!\\.)(?!.*\\.\\.)[^@\\x00-\\x20,<>();\"]*\\.[^@\\x00-\\x20,<>();"
    "\"]*[^@.\\x00-\\x20,<>();\"]$";
static const char url_re[] = "^https?://[^/\\x00-\\x20][^\\x00-\\x20]*$";
static const char id_re[] = "^con_[0-9A-HJKMNP-TV-Z]{26}$";
static const char currency_re[] = "^[A-Z]{3}$";
static const char key_re[] = "^[A-Za-z0-9_.-]{1,100}$";

typedef struct pcase {
    const char *pat;
    const char *s;
    size_t n; /* 0: strlen(s) */
    bool ok;
} pcase;

TEST(jsv_project_patterns)
{
    char k100[101], k101[102];
    memset(k100, 'k', 100), k100[100] = '\0';
    memset(k101, 'k', 101), k101[101] = '\0';
    const pcase cases[] = {
        {email_re, "a@b.co", 0, true},
        {email_re, "first.last+tag@example.com", 0, true},
        {email_re, "x@sub.domain.org", 0, true},
        {email_re, "\u00e9l\u00e8ve@\u00e9cole.fr", 0, true},
        {email_re, "a@b", 0, false},
        {email_re, "a@.b.c", 0, false},
        {email_re, "a@b..c", 0, false},
        {email_re, "a b@c.d", 0, false},
        {email_re, "a@b.c.", 0, false},
        {email_re, "@b.co", 0, false},
        {email_re, "a@@b.co", 0, false},
        {email_re, "a@b,c.co", 0, false},
        {email_re, "a\x01@b.co", 0, false},
        {email_re, "a@b.co\n", 0, false},
        {email_re, "a@b.co\x7f", 0, true}, /* DEL is past \x20: the pattern allows it */
        {email_re, "a@b.c\0o", 7, false},  /* an embedded NUL */
        {email_re, "\"a\"@b.co", 0, false},
        {url_re, "https://example.com/x?y=1", 0, true},
        {url_re, "http://a", 0, true},
        {url_re, "ftp://example.com", 0, false},
        {url_re, "https:///path", 0, false},
        {url_re, "https://", 0, false},
        {url_re, "https://exa mple.com", 0, false},
        {url_re, "https://example.com\t", 0, false},
        {url_re, "see https://example.com", 0, false},
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, true},
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FA", 0, false},   /* 25 */
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAVV", 0, false}, /* 27 */
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAI", 0, false},  /* I is not Crockford */
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAL", 0, false},
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAO", 0, false},
        {id_re, "con_01ARZ3NDEKTSV4RRFFQ69G5FAU", 0, false},
        {id_re, "con_01arz3ndektsv4rrffq69g5fav", 0, false},
        {id_re, "acc_01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, false},
        {currency_re, "USD", 0, true},
        {currency_re, "usd", 0, false},
        {currency_re, "USDX", 0, false},
        {currency_re, "US", 0, false},
        {currency_re, "US\u00c9", 0, false},
        {key_re, "a.b-c_D9", 0, true},
        {key_re, k100, 0, true},
        {key_re, k101, 0, false},
        {key_re, "", 0, false},
        {key_re, "a b", 0, false},
        {key_re, "a/b", 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256];
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);
        bool ok = pattern_ok(cases[i].pat, cases[i].s, n, msg, sizeof msg);
        if (ok != cases[i].ok)
            test_fail(__FILE__, __LINE__, "case %zu: \"%s\" against %s: want %s, got %s (%s)", i,
                      cases[i].s, cases[i].pat, cases[i].ok ? "valid" : "invalid",
                      ok ? "valid" : "invalid", msg);
        if (!ok && !cases[i].ok && strncmp(msg, "must match the pattern ^", 24) != 0)
            test_fail(__FILE__, __LINE__, "case %zu: message %s", i, msg);
    }
}

/* ------------------------------------------------------------ the matcher */

TEST(re_syntax)
{
    static const pcase cases[] = {
        {"abc", "xxabcxx", 0, true},
        {"abc", "ab", 0, false},
        {"", "", 0, true},
        {"", "abc", 0, true},
        {"^$", "", 0, true},
        {"^$", "a", 0, false},
        {"a.c", "abc", 0, true},
        {"a.c", "a\nc", 0, false},
        {"a.c", "a\u00e9c", 0, true}, /* . is one code point, not one byte */
        {"^.$", "\xf0\x9f\x98\x80", 0, true},
        {"^..$", "\xf0\x9f\x98\x80", 0, false},
        {"^\\d+$", "0123456789", 0, true},
        {"^\\d+$", "12a", 0, false},
        {"^\\D+$", "ab-", 0, true},
        {"^\\w+$", "a_Z9", 0, true},
        {"^\\w$", "\u00e9", 0, false},
        {"^\\W$", "\u00e9", 0, true},
        {"^\\s$", " ", 0, true},
        {"^\\s$", "\u00a0", 0, true},
        {"^\\S$", " ", 0, false},
        {"^\\.\\\\\\/\\-\\[\\]\\(\\)\\{\\}\\*\\+\\?\\|\\^\\$$", ".\\/-[](){}*+?|^$", 0, true},
        {"^\\x41\\u00e9\\n\\t\\r$", "A\u00e9\n\t\r", 0, true},
        {"^\\ud83d\\ude00$", "\xf0\x9f\x98\x80", 0, true},
        {"^\\u{1F600}$", "\xf0\x9f\x98\x80", 0, true},
        {"^[abc]+$", "abcabc", 0, true},
        {"^[abc]+$", "abd", 0, false},
        {"^[^abc]+$", "xyz", 0, true},
        {"^[^abc]+$", "xaz", 0, false},
        {"^[a-c\\d_]+$", "a1_c", 0, true},
        {"^[\\w-]+$", "a-b", 0, true},
        {"^[\\w.-]+$", "a.b-c", 0, true},
        {"^[-a]+$", "-a", 0, true},
        {"^[a-]+$", "-a", 0, true},
        {"^[\\]\\[]+$", "][", 0, true},
        {"^[\\D]$", "a", 0, true},
        {"^[\\D]$", "1", 0, false},
        {"^[^\\s]+$", "ab", 0, true},
        {"^[^\\S]$", " ", 0, true},
        {"^[\u00e0-\u00ff]$", "\u00e9", 0, true},
        {"^[^@\\x00-\\x20]$", " ", 0, false},
        {"^[^@\\x00-\\x20]$", "\x01", 0, false},
        {"^[^@\\x00-\\x20]$", "!", 0, true},
        {"[]", "a", 0, false},
        {"^[^]$", "\n", 0, true},
        {"^(ab)+$", "ababab", 0, true},
        {"^(?:ab)+$", "ababa", 0, false},
        {"^(?<word>ab)$", "ab", 0, true},
        {"^(a|bc|d)+$", "abcdbc", 0, true},
        {"^(a|bc|d)+$", "abce", 0, false},
        {"cat|dog", "hotdog", 0, true},
        {"^cat|dog$", "cats", 0, true},
        {"^(?:cat|dog)$", "cats", 0, false},
        {"^a*$", "", 0, true},
        {"^a+$", "", 0, false},
        {"^ab?c$", "ac", 0, true},
        {"^ab?c$", "abbc", 0, false},
        {"^a{3}$", "aaa", 0, true},
        {"^a{3}$", "aaaa", 0, false},
        {"^a{2,}$", "aaaaa", 0, true},
        {"^a{2,}$", "a", 0, false},
        {"^a{2,3}$", "aaa", 0, true},
        {"^a{2,3}$", "aaaa", 0, false},
        {"^a{0}$", "", 0, true},
        {"^a{,3}$", "a{,3}", 0, true}, /* not a quantifier: literal (Annex B) */
        {"^x{$", "x{", 0, true},
        {"^a*?b$", "aaab", 0, true},
        {"^a+?$", "aaa", 0, true},
        {"^a??b$", "ab", 0, true},
        {"^a{1,2}?$", "aa", 0, true},
        {"^(?=.*\\d)(?=.*[a-z]).{6,}$", "abc123", 0, true},
        {"^(?=.*\\d)(?=.*[a-z]).{6,}$", "abcdef", 0, false},
        {"^(?!.*\\.\\.).*$", "a.b.c", 0, true},
        {"^(?!.*\\.\\.).*$", "a..b", 0, false},
        {"^(?!ab)a", "ac", 0, true},
        {"\\bcat\\b", "the cat sat", 0, true},
        {"\\bcat\\b", "concatenate", 0, false},
        {"\\Bcat\\B", "concatenate", 0, true},
        {"^(a|b?)*c$", "ababbc", 0, true},
        {"(a|b?)*c", "xyz", 0, false}, /* an empty loop turn ends the loop */
        {"^(?:a?)*$", "aaa", 0, true},
        {"^(?:)*$", "", 0, true},
        {"^(a*)*b$", "aaab", 0, true},
        {"^(?:(?:a|b)c)*$", "acbc", 0, true},
        {"^\\cJ$", "\n", 0, true},
        {"^\\0$", "\0", 1, true},
        {"^a\\]b}$", "a]b}", 0, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        re *r = re_compile(cases[i].pat, strlen(cases[i].pat), err, sizeof err);
        if (!r) {
            test_fail(__FILE__, __LINE__, "case %zu: %s does not compile: %s", i, cases[i].pat,
                      err);
            continue;
        }
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);
        size_t steps = RE_DEFAULT_BUDGET;
        int got = re_search(r, cases[i].s, n, &steps);
        if (got != (cases[i].ok ? RE_MATCH : RE_NOMATCH))
            test_fail(__FILE__, __LINE__, "case %zu: %s against \"%s\": want %d, got %d", i,
                      cases[i].pat, cases[i].s, cases[i].ok, got);
        re_free(r);
    }
}

TEST(re_errors)
{
    static const struct {
        const char *pat, *err;
    } cases[] = {
        {"(ab", "missing ) at offset 3"},
        {"ab)", "unmatched ) at offset 2"},
        {"[ab", "missing ] at offset 3"},
        {"*a", "nothing to repeat at offset 0"},
        {"a**", "nothing to repeat at offset 2"},
        {"a{2}{3}", "nothing to repeat at offset 4"},
        {"^*", "nothing to repeat at offset 1"},
        {"{2}", "nothing to repeat at offset 0"},
        {"a|?", "nothing to repeat at offset 2"},
        {"[z-a]", "range out of order in character class at offset 1"},
        {"a{3,2}", "numbers out of order in {} quantifier at offset 1"},
        {"a{10001}", "repeat count over 10000 at offset 1"},
        {"(a)\\1", "backreferences are not supported at offset 3"},
        {"(?<=a)b", "lookbehind is not supported at offset 0"},
        {"\\p{L}", "Unicode property escapes are not supported at offset 0"},
        {"\\q", "unknown escape \\q at offset 0"},
        {"\\x4", "\\x needs two hex digits at offset 0"},
        {"\\u12", "\\u needs four hex digits at offset 0"},
        {"a\\", "\\ at end of pattern at offset 1"},
        {"(?x)", "unknown group (?x at offset 0"},
        {"[\\B]", "\\B inside a class at offset 1"},
        {"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
         "groups nested over 32 deep at offset 32"},
        {"((a{100}){100}){100}", "pattern too large once repeats are expanded*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        re *r = re_compile(cases[i].pat, strlen(cases[i].pat), err, sizeof err);
        if (r) {
            test_fail(__FILE__, __LINE__, "case %zu: %s compiled", i, cases[i].pat);
            re_free(r);
        } else if (!msg_matches(err, cases[i].err)) {
            test_fail(__FILE__, __LINE__, "case %zu: %s: want \"%s\", got \"%s\"", i, cases[i].pat,
                      cases[i].err, err);
        }
    }
    char tiny[4];
    CHECK(re_compile("(", 1, tiny, sizeof tiny) == NULL);
    CHECK_STR(tiny, "mis");
}

/* ------------------------------------------------------ hostile inputs */

TEST(jsv_catastrophic_pattern_is_bounded)
{
    const char *s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
    char err[64];
    re *r = re_compile("^(a+)+$", 7, err, sizeof err);
    if (!CHECK(r != NULL)) return;
    double t0 = now_s();
    size_t steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, strlen(s), &steps), RE_TOO_COMPLEX);
    CHECK_EQ_INT(steps, 0);
    CHECK(now_s() - t0 < 2.0);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, "aaaa", 4, &steps), RE_MATCH);
    CHECK(steps < RE_DEFAULT_BUDGET && steps > RE_DEFAULT_BUDGET - 100);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, "aaa!", 4, &steps), RE_NOMATCH);
    re_free(r);

    char msg[128];
    t0 = now_s();
    CHECK(!pattern_ok("^(a+)+$", s, strlen(s), msg, sizeof msg));
    CHECK_STR(msg, "pattern too complex to check: ^(a+)+$");
    CHECK(!pattern_ok("(x+x+)+y", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40, msg, sizeof msg));
    CHECK_STR(msg, "pattern too complex to check: (x+x+)+y");
    CHECK(now_s() - t0 < 2.0);

    /* `not` must not turn "could not check" into "valid". */
    json_t *schema = json_pack("{s:{s:s}}", "not", "pattern", "^(a+)+$");
    json_t *in = json_string(s);
    char path[16];
    CHECK(!jsv_validate(schema, in, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "pattern too complex to check: ^(a+)+$");
    json_decref(schema);
    json_decref(in);
}

TEST(re_long_subjects)
{
    /* One choice point per character on an explicit stack, not the C one. */
    size_t n = 200000;
    char *s = malloc(n + 2);
    if (!CHECK(s != NULL)) return;
    memset(s, 'x', n + 2);
    s[0] = 'a';
    s[n + 1] = 'b';
    char err[64];
    re *r = re_compile("^a.*b$", 6, err, sizeof err);
    size_t steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n + 2, &steps), RE_MATCH);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n + 1, &steps), RE_NOMATCH);
    re_free(r);
    /* Unanchored: a failed search from every position is still bounded. */
    r = re_compile("x*y", 3, err, sizeof err);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n, &steps), RE_TOO_COMPLEX);
    steps = 100;
    CHECK_EQ_INT(re_search(r, s, n, &steps), RE_TOO_COMPLEX);
    steps = 100;
    CHECK_EQ_INT(re_search(r, "xxy", 3, &steps), RE_MATCH);
    re_free(r);
    free(s);
}

TEST(jsv_total_pattern_budget)
{
    /* Each string matches at its very end (x*y fails from every position
     * first), under one search's budget; many of them exceed what one
     * validation may spend. */
    char x[601];
    memset(x, 'x', 600), x[600] = '\0';
    char err[64];
    re *r = re_compile("x*y|$", 5, err, sizeof err);
    size_t steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, x, 600, &steps), RE_MATCH);
    re_free(r);
    size_t one = RE_DEFAULT_BUDGET - steps;
    CHECK(one > RE_DEFAULT_BUDGET / 10);
    json_t *schema = q("{'items':{'pattern':'x*y|$'}}");
    json_t *few = json_array(), *many = json_array();
    for (size_t i = 0; i < 5; i++)
        json_array_append_new(few, json_string(x));
    for (size_t i = 0; i < 20 * RE_DEFAULT_BUDGET / one + 2; i++)
        json_array_append_new(many, json_string(x));
    char path[32], msg[128];
    CHECK(jsv_validate(schema, few, path, sizeof path, msg, sizeof msg));
    double t0 = now_s();
    CHECK(!jsv_validate(schema, many, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "cannot be checked: the input's patterns need over 20000000 steps in all");
    CHECK(now_s() - t0 < 5.0);
    json_decref(schema);
    json_decref(few);
    json_decref(many);
}

TEST(jsv_unique_items_is_not_quadratic)
{
    json_t *schema = q("{'uniqueItems':true}");
    json_t *a = json_array();
    for (json_int_t i = 0; i < 200000; i++)
        json_array_append_new(a, i % 2 ? json_integer(i) : json_real((double)i + 0.5));
    char path[32], msg[128];
    double t0 = now_s();
    CHECK(jsv_validate(schema, a, path, sizeof path, msg, sizeof msg));
    json_array_append_new(a, json_real(199999.0)); /* equals item 199999 */
    json_array_append_new(a, json_integer(7));     /* equals item 7, but later */
    CHECK(!jsv_validate(schema, a, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "must not contain duplicates (items 199999 and 200000 are equal)");
    CHECK(now_s() - t0 < 5.0);
    json_decref(schema);
    json_decref(a);
}

/* {"a":{"a":...{"a":leaf}}} n levels deep. */
static json_t *nested(int n, json_t *leaf)
{
    json_t *j = leaf;
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "a", j);
        j = o;
    }
    return j;
}

TEST(jsv_depth_limits)
{
    json_t *tree = q("{'type':'object','properties':{'a':{'$ref':'#'}}}");
    char path[512], msg[128];
    json_t *ok = nested(JSV_MAX_DEPTH, json_object());
    CHECK(jsv_validate(tree, ok, path, sizeof path, msg, sizeof msg));
    json_t *deep = nested(JSV_MAX_DEPTH + 1, json_object());
    CHECK(!jsv_validate(tree, deep, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "is nested too deeply (over 64 levels)");
    CHECK_EQ_INT(strlen(path), 2 * (JSV_MAX_DEPTH + 1) - 1); /* a.a. ... .a */
    /* A schema that does not descend lets a deep instance through. */
    json_t *any = q("{'type':'object'}");
    json_t *deeper = nested(1000, json_integer(1));
    CHECK(jsv_validate(any, deeper, path, sizeof path, msg, sizeof msg));
    /* Nor does anyOf over deep failures crash or pass. */
    json_t *alt = q("{'anyOf':[{'$ref':'#/$defs/t'},{'type':'string'}],"
                    "'$defs':{'t':{'type':'object','properties':{'a':{'$ref':'#'}}}}}");
    CHECK(!jsv_validate(alt, deep, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "is nested too deeply (over 64 levels)");
    /* A chain of 600 $refs, each to the next, hits the call cap. */
    json_t *defs = json_object();
    for (int i = 0; i < 600; i++) {
        char name[16], ref[32];
        snprintf(name, sizeof name, "d%d", i);
        snprintf(ref, sizeof ref, "#/$defs/d%d", i + 1);
        json_object_set_new(defs, name, json_pack("{s:s}", "$ref", ref));
    }
    json_object_set_new(defs, "d600", json_true());
    json_t *chain = json_pack("{s:o, s:s}", "$defs", defs, "$ref", "#/$defs/d0");
    CHECK(!jsv_validate(chain, ok, path, sizeof path, msg, sizeof msg));
    CHECK_STR(msg, "cannot be checked: the schema nests over 512 levels");
    json_decref(tree);
    json_decref(ok);
    json_decref(deep);
    json_decref(any);
    json_decref(deeper);
    json_decref(alt);
    json_decref(chain);
}

/* ------------------------------------------------------------- threads */

typedef struct job {
    const json_t *schema;
    int failures;
} job;

static void *validate_many(void *arg)
{
    job *j = arg;
    json_t *good = json_pack("{s:s, s:[{s:i}]}", "email", "a@b.co", "lines", "quantity", 2);
    json_t *bad = json_pack("{s:s, s:[{s:i}]}", "email", "a@b..co", "lines", "quantity", 2);
    char path[64], msg[128];
    for (int i = 0; i < 300; i++) {
        if (!jsv_validate(j->schema, good, path, sizeof path, msg, sizeof msg)) j->failures++;
        if (jsv_validate(j->schema, bad, path, sizeof path, msg, sizeof msg) ||
            strcmp(path, "email") != 0)
            j->failures++;
    }
    json_decref(good);
    json_decref(bad);
    return NULL;
}

TEST(jsv_threads_share_a_schema)
{
    json_t *schema = json_pack("{s:{s:{s:s}, s:{s:{s:{s:{s:s, s:i}}}}}, s:[s]}", "properties",
                               "email", "pattern", email_re, "lines", "items", "properties",
                               "quantity", "type", "integer", "minimum", 1, "required", "email");
    if (!CHECK(schema != NULL)) return;
    pthread_t t[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){schema, 0};
        pthread_create(&t[i], NULL, validate_many, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(jobs[i].failures, 0);
    }
    json_decref(schema);
}
