"""List endpoints: full-text search, filters (incl. custom fields), cursor
pagination, and validation of list parameters. Each concern uses its own
workspace so result sets can be asserted exactly."""

from harness import Server, count, eq, expect, ids, list_all, member, ok

S = SR = PG = PC = SW = None
C = {}   # search workspace contacts by label
CO = {}  # search workspace companies by label
PAGE_IDS = []  # pagination workspace contact ids, in creation order


def setup_module():
    global S, SR, PG, PC, SW
    S = Server(name="lists")
    SR = S.key("lists-search")
    SW = S.key("lists-search-window")
    PG = S.key("lists-paging")
    PC = S.key("lists-paging-companies")
    S.start()
    CO["globex"] = SR.create("/v1/companies", {"name": "Globex Corporation", "domain": "globex.com",
                                                "industry": "Manufacturing", "country": "US", "owner_id": member(SR, "usr_1")})
    CO["initech"] = SR.create("/v1/companies", {"name": "Initech", "domain": "initech.io", "industry": "Software",
                                                 "notes": "makers of tps reports", "country": "US", "status": "inactive"})
    CO["piper"] = SR.create("/v1/companies", {"name": "Pied Piper", "domain": "piedpiper.com",
                                               "website": "https://www.middleout.example", "industry": "Software",
                                               "country": "DE", "owner_id": member(SR, "usr_2"),
                                               "custom_fields": {"segment": "startup"}})
    mk = [
        ("jane", {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com", "company_name": "Acme Corp",
                  "country": "DE", "status": "active", "lifecycle_stage": "customer", "owner_id": member(SR, "usr_1"),
                  "custom_fields": {"tier": "gold"}}),
        ("janet", {"first_name": "Janet", "last_name": "Jackson", "email": "janet@initech.io", "country": "US",
                   "lifecycle_stage": "lead", "owner_id": member(SR, "usr_2"), "custom_fields": {"tier": "silver"}}),
        ("john", {"first_name": "John", "last_name": "Smith", "email": "jsmith@zenithmail.net", "country": "DE",
                  "status": "inactive", "lifecycle_stage": "lead", "custom_fields": {"tier": "gold"}}),
        ("bob", {"first_name": "Bob", "last_name": "Builder", "email": "bob@example.org",
                 "company_name": "Umbrella Holdings", "status": "archived"}),
        ("carol", {"first_name": "Carol", "last_name": "Ng", "company_id": "GLOBEX", "country": "SG"}),
        ("dave", {"first_name": "Dave", "last_name": "Quill", "notes": "met at the quarkcon conference"}),
    ]
    for label, body in mk:
        if body.get("company_id") == "GLOBEX":
            body["company_id"] = CO["globex"]["id"]
        C[label] = SR.create("/v1/contacts", body)
    for i in range(45):
        PAGE_IDS.append(PG.create("/v1/contacts", {"name": "Page Person %02d" % i})["id"])
    for i in range(25):
        PC.create("/v1/companies", {"name": "Paged Co %02d" % i})


def teardown_module():
    S.stop_ok()


def _labels(items, table):
    back = {v["id"]: k for k, v in table.items()}
    return sorted(back.get(i, i) for i in ids(items))


# ------------------------------------------------------------ search

CONTACT_SEARCH = [
    # query, expected labels (exact set)
    ("zenithmail", ["john"]),          # email fragment (domain part)
    ("acme", ["jane"]),                # email domain + company_name
    ("jsmith", ["john"]),              # email local part
    ("Jan", ["jane", "janet"]),        # name prefix
    ("jan", ["jane", "janet"]),        # case-insensitive prefix
    ("JANET", ["janet"]),              # case-insensitive full word
    ("Doe", ["jane"]),                 # last name
    ("umbrella", ["bob"]),             # company_name
    ("Globex", ["carol"]),             # company_name filled from company_id
    ("quarkcon", ["dave"]),            # notes
    ("nosuchwordanywhere", []),
]

COMPANY_SEARCH = [
    ("globex", ["globex"]),            # name + domain
    ("INITECH", ["initech"]),
    ("tps", ["initech"]),              # notes
    ("middleout", ["piper"]),          # website
    ("piedpiper", ["piper"]),          # domain
    ("Pied", ["piper"]),               # name word
    ("nosuchwordanywhere", []),
]


def _make_search_test(path, table, query, want):
    def t():
        items = list_all(SR, path, {"query": query})
        eq(_labels(items, table), sorted(want), "GET %s?query=%s result set" % (path, query))
    return t


for _i, (_q, _w) in enumerate(CONTACT_SEARCH):
    globals()["test_search_contacts_%02d_%s" % (_i, _q)] = _make_search_test("/v1/contacts", C, _q, _w)
for _i, (_q, _w) in enumerate(COMPANY_SEARCH):
    globals()["test_search_companies_%02d_%s" % (_i, _q)] = _make_search_test("/v1/companies", CO, _q, _w)


def test_search_multiword_and_filter_combination():
    eq(_labels(list_all(SR, "/v1/contacts", {"query": "Jane Doe"}), C), ["jane"], "query=Jane Doe")
    eq(_labels(list_all(SR, "/v1/contacts", {"query": "Jan", "country": "US"}), C), ["janet"], "query=Jan&country=US")


def test_search_pages_rare_and_common_words():
    """PostgreSQL walks the postings of a search's longest word newest first
    and checks each row against the whole query: a word found only in the
    oldest rows and a word in every newer row must both page exactly, as
    must words of one character, which have no postings."""
    old = [SW.create("/v1/contacts", {"name": "Zephyrine Old%d" % i})["id"] for i in range(3)]
    new = []
    for chunk in range(2):
        ops = [{"action": "create", "data": {"name": "Commonword Person%03d" % (chunk * 65 + i)}}
               for i in range(65)]
        j = expect(SW.post("/v1/contacts/batch", {"operations": ops}), 200)
        eq([x.get("status") for x in j["data"]["results"]], [201] * 65, "batch of contacts")
        new += [x["data"]["id"] for x in j["data"]["results"]]
    eq(ids(list_all(SW, "/v1/contacts", {"query": "zephyrine"}, limit=2)), list(reversed(old)),
       "query=zephyrine (oldest rows only), limit=2")
    eq(ids(list_all(SW, "/v1/contacts", {"query": "commonword"}, limit=20)), list(reversed(new)),
       "query=commonword (every newer row), limit=20")
    eq(ids(list_all(SW, "/v1/contacts", {"query": "person1"}, limit=3)),
       list(reversed(new[100:])), "query=person1 (the newest 30), limit=3")
    eq(ids(list_all(SW, "/v1/contacts", {"query": "commonword person00"}, limit=4)),
       list(reversed(new[:10])), "query=commonword person00 (the oldest 10 of them), limit=4")
    # One-character words have no postings on PostgreSQL: the newest rows are walked.
    eq(ids(list_all(SW, "/v1/contacts", {"query": "z"}, limit=2)), list(reversed(old)),
       "query=z, limit=2")
    eq(ids(list_all(SW, "/v1/contacts", {"query": "c p"}, limit=50)), list(reversed(new)),
       "query=c p, limit=50")
    eq(ids(list_all(SW, "/v1/contacts", {"query": "zephyrine o"}, limit=1)), list(reversed(old)),
       "query=zephyrine o (a long and a one-character word), limit=1")


def test_search_non_ascii_words():
    """Accented letters are word characters: prefixes match across case
    and diacritics (é as e, Ü as U), but ø and æ are letters of their own."""
    a = SW.create("/v1/contacts", {"first_name": "José", "last_name": "Müller", "email": "jose@bücher.example"})
    b = SW.create("/v1/contacts", {"first_name": "Åse", "last_name": "Øvergård"})
    for q, want in [("jos", [a]), ("JOSÉ", [a]), ("müll", [a]), ("MÜLLER jo", [a]), ("bü", [a]),
                    ("åse", [b]), ("ØVERG", [b]), ("øv å", [b]), ("müllerx", []),
                    ("mull", [a]), ("MULLER jose", [a]), ("bucher", [a]), ("ase", [b]),
                    ("overg", []), ("øvergard", [b])]:
        eq(ids(list_all(SW, "/v1/contacts", {"query": q})), [c["id"] for c in want], "query=%s" % q)
    for c in (a, b):
        expect(SW.delete("/v1/contacts/" + c["id"]), 200)


def test_search_sees_updates_and_deletes():
    c = SR.create("/v1/contacts", {"name": "Xylophone Player"})
    eq(ids(list_all(SR, "/v1/contacts", {"query": "xylophone"})), [c["id"]], "search after create")
    expect(SR.patch("/v1/contacts/" + c["id"], {"name": "Marimba Player"}), 200)
    eq(ids(list_all(SR, "/v1/contacts", {"query": "xylophone"})), [], "search for the old name after PATCH")
    eq(ids(list_all(SR, "/v1/contacts", {"query": "marimba"})), [c["id"]], "search for the new name after PATCH")
    expect(SR.delete("/v1/contacts/" + c["id"]), 200)
    eq(ids(list_all(SR, "/v1/contacts", {"query": "marimba"})), [], "search after DELETE")


HOSTILE_QUERIES = ['"', '"unbalanced', "jane*", "*", "a OR b", "NEAR(a b)", "(", "-jane", "jane:doe",
                   "'; DROP TABLE contacts; --", "%", "_", "\\", "^", "AND", "col:val", "{a b}"]


def test_search_hostile_query_syntax_never_5xx():
    for q in HOSTILE_QUERIES:
        r = SR.get("/v1/contacts", params={"query": q})
        ok(r.status in (200, 400), "%s: expected 200 or 400, got %s" % (r.request_line(), r.describe()))
        if r.status == 400:
            expect(r, 400, "validation_failed", "query")
    eq(count(SR, "/v1/contacts"), len(C), "contacts intact after hostile queries")


def test_search_without_a_word_matches_nothing():
    # Words the index drops (symbols, punctuation, emoji) can match no
    # record: an empty list, never the unfiltered one.
    for q in ["\u2713", "!!", "\u2713 \u2713", "jane \u2713", "\U0001F600", "\u00bf?", "\u2014", ""]:
        eq(ids(expect(SR.get("/v1/contacts", params={"query": q}), 200)["data"]), [], "query=%r" % q)
    eq(len(expect(SR.get("/v1/contacts", params={"query": "jane"}), 200)["data"]) > 0, True, "query=jane")


# ------------------------------------------------------------ filters

CONTACT_FILTERS = [
    ({"email": "jane@acme.com"}, ["jane"]),
    ({"company_id": "GLOBEX"}, ["carol"]),
    ({"owner_id": "usr_1"}, ["jane"]),
    ({"status": "active"}, ["carol", "dave", "jane", "janet"]),
    ({"status": "inactive"}, ["john"]),
    ({"status": "archived"}, ["bob"]),
    ({"lifecycle_stage": "lead"}, ["janet", "john"]),
    ({"lifecycle_stage": "evangelist"}, []),
    ({"country": "DE"}, ["jane", "john"]),
    ({"country": "DE", "status": "inactive"}, ["john"]),
    ({"custom_field_key": "tier", "custom_field_value": "gold"}, ["jane", "john"]),
    ({"custom_field_key": "tier", "custom_field_value": "silver"}, ["janet"]),
    ({"custom_field_key": "tier", "custom_field_value": "gold", "country": "DE", "lifecycle_stage": "customer"}, ["jane"]),
    ({"custom_field_key": "nosuchkey", "custom_field_value": "gold"}, []),
]

COMPANY_FILTERS = [
    ({"domain": "initech.io"}, ["initech"]),
    ({"industry": "Software"}, ["initech", "piper"]),
    ({"owner_id": "usr_2"}, ["piper"]),
    ({"status": "inactive"}, ["initech"]),
    ({"status": "active"}, ["globex", "piper"]),
    ({"country": "US"}, ["globex", "initech"]),
    ({"country": "US", "industry": "Software"}, ["initech"]),
    ({"custom_field_key": "segment", "custom_field_value": "startup"}, ["piper"]),
]


def _resolve(params):
    return {k: (CO["globex"]["id"] if v == "GLOBEX" else member(SR, v) if k == "owner_id" else v)
            for k, v in params.items()}


def _make_filter_test(path, table, params, want):
    def t():
        items = list_all(SR, path, _resolve(params))
        eq(_labels(items, table), sorted(want), "GET %s?%s result set" % (path, params))
    return t


for _i, (_p, _w) in enumerate(CONTACT_FILTERS):
    globals()["test_filter_contacts_%02d_%s" % (_i, "_".join(_p))] = _make_filter_test("/v1/contacts", C, _p, _w)
for _i, (_p, _w) in enumerate(COMPANY_FILTERS):
    globals()["test_filter_companies_%02d_%s" % (_i, "_".join(_p))] = _make_filter_test("/v1/companies", CO, _p, _w)


BAD_PARAMS = [
    # path, params, param named in the error (a tuple: any of these)
    ("/v1/contacts", {"limit": "0"}, "limit"),
    ("/v1/contacts", {"limit": "101"}, "limit"),
    ("/v1/contacts", {"limit": "abc"}, "limit"),
    ("/v1/contacts", {"limit": "-1"}, "limit"),
    ("/v1/contacts", {"limit": "1.5"}, "limit"),
    ("/v1/contacts", {"cursor": "garbage"}, "cursor"),
    ("/v1/contacts", {"foo": "1"}, "foo"),
    ("/v1/contacts", {"domain": "acme.com"}, "domain"),         # a companies filter, not a contacts one
    ("/v1/contacts", {"status": "deleted"}, "status"),
    ("/v1/contacts", {"lifecycle_stage": "whale"}, "lifecycle_stage"),
    ("/v1/contacts", {"custom_field_key": "tier"}, ("custom_field_key", "custom_field_value")),
    ("/v1/contacts", {"custom_field_value": "gold"}, ("custom_field_key", "custom_field_value")),
    ("/v1/companies", {"limit": "0"}, "limit"),
    ("/v1/companies", {"cursor": "!!!"}, "cursor"),
    ("/v1/companies", {"email": "x@y.z"}, "email"),
    ("/v1/companies", {"status": "bogus"}, "status"),
    ("/v1/companies", {"custom_field_key": "segment"}, ("custom_field_key", "custom_field_value")),
]


def _make_bad_param_test(path, params, param):
    def t():
        r = SR.get(path, params=params)
        allowed = param if isinstance(param, tuple) else (param,)
        expect(r, 400, "invalid_cursor" if "cursor" in params else "validation_failed")
        ok(r.error.get("param") in allowed, "%s: expected param in %s, got %s" % (r.request_line(), list(allowed), r.describe()))
    return t


for _i, (_path, _p, _n) in enumerate(BAD_PARAMS):
    globals()["test_bad_param_%02d_%s_%s" % (_i, _path.split("/")[-1], "_".join(_p))] = _make_bad_param_test(_path, _p, _n)


# ------------------------------------------------------------ pagination

def test_pagination_walk_45_with_limit_20():
    pages = []
    cursor = None
    for _ in range(10):
        params = {"limit": 20}
        if cursor:
            params["cursor"] = cursor
        j = expect(PG.get("/v1/contacts", params=params), 200)
        ok("next_cursor" in j, "list response has no next_cursor key")
        pages.append(ids(j["data"]))
        cursor = j["next_cursor"]
        if cursor is None:
            break
        ok(isinstance(cursor, str) and cursor, "next_cursor is not a non-empty string: %r" % cursor)
    eq([len(p) for p in pages], [20, 20, 5], "page sizes walking 45 contacts with limit=20")
    flat = [i for p in pages for i in p]
    eq(len(set(flat)), 45, "distinct ids over all pages")
    eq(flat, list(reversed(PAGE_IDS)), "order over all pages (newest first)")


def test_pagination_default_limit_is_20():
    j = expect(PG.get("/v1/contacts"), 200)
    eq(len(j["data"]), 20, "default page size")
    ok(isinstance(j.get("next_cursor"), str), "next_cursor on a full first page: %r" % j.get("next_cursor"))


def test_pagination_exact_fit_has_null_cursor():
    for limit in (45, 100):
        j = expect(PG.get("/v1/contacts", params={"limit": limit}), 200)
        eq(len(j["data"]), 45, "items with limit=%d" % limit)
        ok("next_cursor" in j and j["next_cursor"] is None, "next_cursor with limit=%d: %r" % (limit, j.get("next_cursor")))


def test_pagination_small_pages_visit_each_once():
    items = list_all(PG, "/v1/contacts", limit=7)
    eq(ids(items), list(reversed(PAGE_IDS)), "walk with limit=7")
    items = list_all(PG, "/v1/contacts", limit=1)
    eq(len(items), 45, "walk with limit=1")


def test_pagination_is_stable_under_inserts():
    j = expect(PG.get("/v1/contacts", params={"limit": 20}), 200)
    first = ids(j["data"])
    extra = PG.create("/v1/contacts", {"name": "Inserted Mid Walk"})
    try:
        rest, cursor = [], j["next_cursor"]
        while cursor:
            jj = expect(PG.get("/v1/contacts", params={"limit": 20, "cursor": cursor}), 200)
            rest += ids(jj["data"])
            cursor = jj["next_cursor"]
        eq(first + rest, list(reversed(PAGE_IDS)), "walk while a new contact is inserted after page 1")
    finally:
        expect(PG.delete("/v1/contacts/" + extra["id"]), 200)


def test_pagination_with_filter_keeps_filter():
    items = list_all(PG, "/v1/contacts", {"query": "Page"}, limit=10)
    eq(len(items), 45, "walk query=Page with limit=10")
    eq(len(set(ids(items))), 45, "distinct ids walking query=Page")


def test_cursor_from_another_list_or_workspace_is_not_a_leak():
    j = expect(PG.get("/v1/contacts", params={"limit": 5}), 200)
    expect(SR.get("/v1/contacts", params={"limit": 5, "cursor": j["next_cursor"]}), 400, "invalid_cursor",
           "cursor")
    expect(PG.get("/v1/companies", params={"limit": 5, "cursor": j["next_cursor"]}), 400, "invalid_cursor",
           "cursor")


def test_cursors_are_opaque_and_tamper_proof():
    import base64
    cur = expect(PG.get("/v1/contacts", params={"limit": 5}), 200)["next_cursor"]
    raw = base64.urlsafe_b64decode(cur + "=" * (-len(cur) % 4))
    ok(b"contacts" not in raw, "the cursor shows its list: %r" % raw)
    again = expect(PG.get("/v1/contacts", params={"limit": 5}), 200)["next_cursor"]
    ok(again != cur, "two cursors of the same page are the same bytes (no nonce): %s" % cur)
    # every changed, cut or extended cursor is refused; the real one works
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    forged = [cur[:-1], cur[:len(cur) // 2], cur + "A", cur[1:]]
    for i in range(0, len(cur), max(1, len(cur) // 12)):
        forged.append(cur[:i] + alphabet[(alphabet.index(cur[i]) + 1) % 64] + cur[i + 1:])
    for f in forged:
        expect(PG.get("/v1/contacts", params={"limit": 5, "cursor": f}), 400, "invalid_cursor", "cursor")
    eq(len(expect(PG.get("/v1/contacts", params={"limit": 5, "cursor": cur}), 200)["data"]), 5,
       "the real cursor's page")


def test_companies_pagination():
    items = list_all(PC, "/v1/companies", limit=10)
    eq(len(items), 25, "companies walked with limit=10")
    eq(len(set(ids(items))), 25, "distinct companies")
    created = [x["created_at"] for x in items]
    eq(created, sorted(created, reverse=True), "companies newest first")
    j = expect(PC.get("/v1/companies", params={"limit": 10}), 200)
    eq(len(j["data"]), 10, "first page size")


# ---- sort: keyset pagination over a sortable field, NULLs lowest ----

def test_sort_by_field_walks_every_record_in_order():
    S2 = Server(name="sort")
    K = S2.key("sort-ws")
    S2.start()
    try:
        names = ["delta", "Alpha", "charlie", "bravo", "alpha", "Echo", "delta"]
        made = [K.create("/v1/contacts", {"name": n, "email": "s%d@example.com" % i})["id"]
                for i, n in enumerate(names)]
        # two with no last_name sort key set differently: last_name NULL vs set
        for i, ln in enumerate([None, "Zed", None, "Able"]):
            body = {"first_name": "F%d" % i}
            if ln:
                body["last_name"] = ln
            made.append(K.create("/v1/contacts", body)["id"])
        for sort, key, rev in [("name", "name", False), ("-name", "name", True),
                               ("last_name", "last_name", False), ("-last_name", "last_name", True)]:
            got = list_all(K, "/v1/contacts", {"sort": sort}, limit=2)
            eq(sorted(ids(got)), sorted(made), "sort=%s visits every record once" % sort)
            eq(len(ids(got)), len(set(ids(got))), "sort=%s has no duplicates" % sort)
            vals = [(r[key] is not None, (r[key] or "").lower()) for r in got]
            eq(vals, sorted(vals, reverse=rev), "sort=%s order (NULLs lowest)" % sort)
        asc = list_all(K, "/v1/contacts", {"sort": "created_at"}, limit=3)
        eq(ids(asc), made, "sort=created_at is creation order")
        desc = list_all(K, "/v1/contacts", {}, limit=3)
        eq(ids(desc), list(reversed(made)), "default order is newest first")
    finally:
        S2.stop_ok()


def test_sort_errors():
    expect(SR.get("/v1/contacts", params={"sort": "email"}), 400, "validation_failed", param="sort")
    expect(SR.get("/v1/contacts", params={"sort": "-nope"}), 400, "validation_failed", param="sort")
    expect(SR.get("/v1/contacts", params={"sort": "name", "query": "jane"}), 400,
           "validation_failed", param="sort")
    page = expect(SR.get("/v1/contacts", params={"sort": "name", "limit": 1}), 200)
    cur = page["next_cursor"]
    ok(cur, "a next_cursor on a sorted first page")
    # a cursor is bound to its order
    expect(SR.get("/v1/contacts", params={"cursor": cur, "limit": 1}), 400, "invalid_cursor",
           param="cursor")
    expect(SR.get("/v1/contacts", params={"sort": "-name", "cursor": cur}), 400,
           "invalid_cursor", param="cursor")
