"""CMS (004's shapes; cms:read/cms:write; module cms): collections with a
schema (/v1/cms/collections, key unique), sites (/v1/cms/sites), entries
(/v1/cms/entries) whose fields must meet their collection's schema on
create and PATCH (400 naming fields.<key>; references and assets must be
records of the workspace: another workspace's id is refused as a missing
one is; unique fields 409), a revision per change
(/v1/cms/entries/{id}/revisions), schema changes checked against the stored
entries (409 naming the schema's field), `query` on the list and
GET /v1/cms/entries/search (title hits first, with a snippet). Every
refused write is checked to change nothing."""

from harness import Server, eq, expect, ids, list_all, ok, uniq

S = A = B = RO = CRM = None
COL = None          # A's blog collection (004's example schema, slug unique)
BCOL = None         # B's


def setup_module():
    global S, A, B, RO, CRM, COL, BCOL
    S = Server(name="cms")
    A = S.key("cms-a")
    B = S.key("cms-b")
    RO = S.key("cms-a", "cms:read")
    CRM = S.key("cms-a", "crm:read,crm:write")
    S.start()
    COL = A.create("/v1/cms/collections", _blog("blog_posts"))
    BCOL = B.create("/v1/cms/collections", _blog("blog_posts"))


def teardown_module():
    S.stop_ok()


def _blog(key, **more):
    fields = [{"key": "title", "type": "string", "required": True},
              {"key": "slug", "type": "string", "required": True, "unique": True},
              {"key": "body", "type": "markdown", "required": True}]
    body = {"name": "Blog Posts", "key": key, "schema": {"fields": fields}}
    body.update(more)
    return body


def _entry(client=None, col=None, **kw):
    body = {"collection_id": (col or COL)["id"], "title": "AI follow-up workflows",
            "fields": {"slug": uniq("slug"), "body": "Draft content..."}}
    body.update(kw)
    return (client or A).create("/v1/cms/entries", body)


def _collection(fields, client=None):
    return (client or A).create("/v1/cms/collections", {"name": "Typed", "key": uniq("typed"),
                                                        "schema": {"fields": fields}})


def _unchanged(path, before, client=None):
    eq(expect((client or A).get(path), 200)["data"], before, "%s after a refused write" % path)


def _count(path, params=None, client=None):
    return len(list_all(client or A, path, params))


# ---------------------------------------------------------------- collections

def test_collection_create_as_004_shows():
    eq(COL["key"], "blog_posts", "key")
    eq(COL["name"], "Blog Posts", "name")
    ok(COL["id"].startswith("col_"), "collection id prefix: %s" % COL["id"])
    eq([f["key"] for f in COL["schema"]["fields"]], ["title", "slug", "body"], "schema keys in order")
    eq(COL["schema"]["fields"][1], {"key": "slug", "type": "string", "required": True, "unique": True,
                                    "options": None, "to": None}, "a field answers every member")
    eq(COL["schema"]["fields"][2]["unique"], False, "unique defaults to false")
    got = expect(A.get("/v1/cms/collections/" + COL["id"]), 200)["data"]
    eq(got, COL, "GET by id answers what create did")
    listed = expect(A.get("/v1/cms/collections", params={"key": "blog_posts"}), 200)["data"]
    eq(ids(listed), [COL["id"]], "?key= filter")
    eq(ids(expect(A.get("/v1/cms/collections", params={"query": "blog"}), 200)["data"]), [COL["id"]],
       "?query= finds it by name")
    # A collection without a schema has no fields.
    bare = A.create("/v1/cms/collections", {"name": "Bare", "key": uniq("bare")})
    eq(bare["schema"], {"fields": []}, "schema of a collection created without one")


def test_collection_key_unique_per_workspace():
    r = expect(A.post("/v1/cms/collections", _blog("blog_posts")), 409, "conflict")
    eq(r["error"]["param"], "key", "duplicate key names key")
    eq(BCOL["key"], "blog_posts", "another workspace has its own keys")


CASES = [
    # (what, body change, param)
    ("missing name", {"name": None}, "name"),
    ("bad key", {"key": "blog posts!"}, "key"),
    ("schema not an object", {"schema": [1]}, "schema"),
    ("unknown schema member", {"schema": {"fields": [], "extra": 1}}, "schema.extra"),
    ("fields not a list", {"schema": {"fields": "x"}}, "schema.fields"),
    ("field without key", {"schema": {"fields": [{"type": "string"}]}}, "schema.fields[0].key"),
    ("bad field type", {"schema": {"fields": [{"key": "a", "type": "color"}]}}, "schema.fields[0].type"),
    ("unknown field member", {"schema": {"fields": [{"key": "a", "type": "string", "size": 3}]}},
     "schema.fields[0].size"),
    ("bad field key", {"schema": {"fields": [{"key": "a b", "type": "string"}]}}, "schema.fields[0].key"),
    ("repeated field key", {"schema": {"fields": [{"key": "a", "type": "string"},
                                                  {"key": "a", "type": "text"}]}}, "schema.fields[1].key"),
    ("enum without options", {"schema": {"fields": [{"key": "a", "type": "enum"}]}}, "schema.fields[0].options"),
    ("options on a string", {"schema": {"fields": [{"key": "a", "type": "string", "options": ["x"]}]}},
     "schema.fields[0].options"),
    ("repeated option", {"schema": {"fields": [{"key": "a", "type": "enum", "options": ["x", "x"]}]}},
     "schema.fields[0].options[1]"),
    ("reference without to", {"schema": {"fields": [{"key": "a", "type": "reference"}]}}, "schema.fields[0].to"),
    ("reference to nothing", {"schema": {"fields": [{"key": "a", "type": "reference", "to": "planets"}]}},
     "schema.fields[0].to"),
    ("to on a string", {"schema": {"fields": [{"key": "a", "type": "string", "to": "contacts"}]}},
     "schema.fields[0].to"),
    ("unique markdown", {"schema": {"fields": [{"key": "a", "type": "markdown", "unique": True}]}},
     "schema.fields[0].unique"),
    ("required not a boolean", {"schema": {"fields": [{"key": "a", "type": "string", "required": "yes"}]}},
     "schema.fields[0].required"),
]


def test_collection_refusals_name_the_field_and_store_nothing():
    before = _count("/v1/cms/collections")
    for what, change, param in CASES:
        body = _blog(uniq("refused"))
        for k, v in change.items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
        r = expect(A.post("/v1/cms/collections", body), 400, "validation_failed")
        eq(r["error"]["param"], param, what)
    eq(_count("/v1/cms/collections"), before, "no collection stored by refused creates")


def test_collection_reference_to_is_canonical():
    col = _collection([{"key": "author", "type": "reference", "to": "contact"},
                       {"key": "deal", "type": "reference", "to": "deals"},
                       {"key": "related", "type": "reference", "to": "cms/entries"}])
    eq([f["to"] for f in col["schema"]["fields"]], ["contacts", "deals", "cms-entries"],
       "to is stored as the table names the resource")


def test_collection_patch_and_delete():
    col = A.create("/v1/cms/collections", _blog(uniq("tmp")))
    got = expect(A.patch("/v1/cms/collections/" + col["id"], {"name": "Renamed", "description": "d"}), 200)["data"]
    eq((got["name"], got["description"], got["schema"]), ("Renamed", "d", col["schema"]),
       "PATCH changes what it names only")
    e = _entry(col=col)
    r = expect(A.delete("/v1/cms/collections/" + col["id"]), 409, "conflict")
    ok(e["id"] in r["error"]["message"], "409 names an entry: %s" % r["error"]["message"])
    expect(A.get("/v1/cms/collections/" + col["id"]), 200)
    archived = expect(A.delete("/v1/cms/entries/" + e["id"]), 200)["data"]
    eq((archived["id"], archived["status"]), (e["id"], "archived"), "DELETE archives an entry")
    expect(A.delete("/v1/cms/collections/" + col["id"]), 200)
    expect(A.get("/v1/cms/collections/" + col["id"]), 404)
    expect(A.get("/v1/cms/entries/" + e["id"]), 404)


# ---------------------------------------------------------------- schema changes

def test_schema_change_the_entries_would_fail_is_409_and_changes_nothing():
    col = A.create("/v1/cms/collections", _blog(uniq("change")))
    e1 = _entry(col=col, fields={"slug": "one", "body": "first"})
    _entry(col=col, fields={"slug": "two", "body": "second"})
    path = "/v1/cms/collections/" + col["id"]
    fields = col["schema"]["fields"]

    def change(new_fields, status, param=None):
        r = expect(A.patch(path, {"schema": {"fields": new_fields}}), status)
        if status == 409:
            eq(r["error"]["code"], "conflict", "code")
            eq(r["error"]["param"], param, "param of %s" % new_fields)
            _unchanged(path, col)
        return r

    # A new required field the entries lack: 409 naming it.
    change(fields + [{"key": "summary", "type": "text", "required": True}], 409, "schema.fields[3]")
    # A type the stored values are not.
    change([fields[0], {"key": "slug", "type": "integer", "required": True}, fields[2]], 409,
           "schema.fields[1]")
    # An enum the values are not among.
    change([fields[0], fields[1], {"key": "body", "type": "enum", "options": ["first"]}], 409,
           "schema.fields[2]")
    # Dropping a field the entries hold.
    r = change([fields[0], fields[1]], 409, "schema.fields")
    ok("fields.body" in r["error"]["message"], "names the dropped field: %s" % r["error"]["message"])
    # Unique over values two entries share.
    expect(A.patch("/v1/cms/entries/" + e1["id"], {"fields": {"body": "second"}}), 200)
    col = expect(A.get(path), 200)["data"]
    change([fields[0], fields[1], {"key": "body", "type": "markdown", "unique": False, "required": True}],
           200)
    col = expect(A.get(path), 200)["data"]
    change([fields[0], fields[1], {"key": "body", "type": "string", "unique": True, "required": True}],
           409, "schema.fields[2]")
    # What the entries meet passes: an optional field, a looser type.
    got = change(fields + [{"key": "hero", "type": "asset"}, {"key": "tags", "type": "string"}], 200)["data"]
    eq([f["key"] for f in got["schema"]["fields"]], ["title", "slug", "body", "hero", "tags"], "new schema")


# ---------------------------------------------------------------- entries

def test_entry_create_as_004_shows():
    e = A.create("/v1/cms/entries", {"collection_id": COL["id"], "title": "AI follow-up workflows",
                                     "status": "draft",
                                     "fields": {"slug": "ai-follow-up-workflows", "body": "Draft content..."}})
    ok(e["id"].startswith("ent_"), "entry id prefix: %s" % e["id"])
    eq((e["collection_id"], e["status"], e["revision"]), (COL["id"], "draft", 1), "004's answer")
    eq(e["fields"], {"slug": "ai-follow-up-workflows", "body": "Draft content..."}, "fields")
    ok("search_text" not in e, "the search document is not answered")
    eq(expect(A.get("/v1/cms/entries/" + e["id"]), 200)["data"], e, "GET by id")
    d = _entry(fields={"slug": uniq("d"), "body": "x"})
    eq(d["status"], "draft", "status defaults to draft")


def test_entry_title_is_required_and_satisfies_a_title_field():
    expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "fields": {"slug": "t", "body": "b"}}),
           400, "validation_failed", "title")
    r = expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "T",
                                          "fields": {"title": "T", "slug": uniq("t"), "body": "b"}}),
               400, "validation_failed", "fields.title")
    ok("top-level" in r["error"]["message"], r["error"]["message"])


def test_entry_failing_its_schema_names_the_path_and_stores_nothing():
    col = _collection([
        {"key": "slug", "type": "string", "required": True},
        {"key": "views", "type": "integer"},
        {"key": "score", "type": "number"},
        {"key": "featured", "type": "boolean"},
        {"key": "day", "type": "date"},
        {"key": "at", "type": "datetime"},
        {"key": "tone", "type": "enum", "options": ["formal", "casual"]},
        {"key": "author", "type": "reference", "to": "contacts"},
        {"key": "hero", "type": "asset"},
        {"key": "long", "type": "string"},
    ])
    good = {"slug": "s", "views": 3, "score": 1.5, "featured": True, "day": "2031-01-10",
            "at": "2031-01-10T09:00:00.000Z", "tone": "formal"}
    e = A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "Typed", "fields": good})
    eq(e["fields"], good, "every type accepted")
    b_contact = B.create("/v1/contacts", {"name": "Other Workspace"})
    cases = [
        ("unknown key", {"nope": 1}, "fields.nope"),
        ("required missing", {"slug": None}, "fields.slug"),
        ("string not a string", {"slug": 5}, "fields.slug"),
        ("integer", {"views": 1.5}, "fields.views"),
        ("number", {"score": "high"}, "fields.score"),
        ("boolean", {"featured": "yes"}, "fields.featured"),
        ("date", {"day": "10/01/2031"}, "fields.day"),
        ("datetime", {"at": "tomorrow"}, "fields.at"),
        ("enum", {"tone": "shouty"}, "fields.tone"),
        ("missing reference", {"author": "con_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "fields.author"),
        ("reference of another kind", {"author": COL["id"]}, "fields.author"),
        ("reference of another workspace", {"author": b_contact["id"]}, "fields.author"),
        ("asset", {"hero": "asset_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "fields.hero"),
        ("too long", {"long": "x" * 1001}, "fields.long"),
        ("nested value", {"slug": {"a": 1}}, "fields.slug"),
    ]
    before = _count("/v1/cms/entries", {"collection_id": col["id"]})
    for what, change, param in cases:
        fields = dict(good)
        for k, v in change.items():
            if v is None:
                fields.pop(k)
            else:
                fields[k] = v
        r = expect(A.post("/v1/cms/entries", {"collection_id": col["id"], "title": "X", "fields": fields}),
                   400, "validation_failed")
        eq(r["error"]["param"], param, what)
        # The same on PATCH: the entry stays as it was.
        r = expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": change}), 400, "validation_failed")
        eq(r["error"]["param"], param, "PATCH: " + what)
        _unchanged("/v1/cms/entries/" + e["id"], e)
    eq(_count("/v1/cms/entries", {"collection_id": col["id"]}), before, "nothing stored")
    eq(len(expect(A.get("/v1/cms/entries/%s/revisions" % e["id"]), 200)["data"]), 1,
       "refused PATCHes add no revision")
    # The reference that exists in the workspace is taken.
    mine = A.create("/v1/contacts", {"name": "Author"})
    got = expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": {"author": mine["id"]}}), 200)["data"]
    eq(got["fields"]["author"], mine["id"], "a reference of the workspace")
    # So is an asset of the workspace; another workspace's is refused as a missing one.
    def asset(client, contact):
        return client.create("/v1/assets", {"asset_type": "image", "file_name": "hero.png",
                                            "mime_type": "image/png", "related_resource_type": "contact",
                                            "related_resource_id": contact["id"]})
    hero = asset(A, mine)
    got = expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": {"hero": hero["id"]}}), 200)["data"]
    eq(got["fields"]["hero"], hero["id"], "an asset of the workspace")
    theirs = asset(B, b_contact)
    r = expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": {"hero": theirs["id"]}}), 400,
               "validation_failed")
    eq(r["error"]["param"], "fields.hero", "another workspace's asset")
    eq(expect(A.get("/v1/cms/entries/" + e["id"]), 200)["data"]["fields"]["hero"], hero["id"],
       "the refused PATCH changed nothing")


def test_entry_top_level_references_follow_the_engine():
    r = expect(A.post("/v1/cms/entries", {"collection_id": BCOL["id"], "title": "x", "fields": {}}), 404)
    eq(r["error"]["param"], "collection_id", "another workspace's collection is not found")
    site = B.create("/v1/cms/sites", {"key": uniq("s"), "name": "B site"})
    before = _count("/v1/cms/entries")
    expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "x", "site_id": site["id"],
                                      "fields": {"slug": uniq("s"), "body": "b"}}), 404)
    eq(_count("/v1/cms/entries"), before, "nothing stored")
    expect(B.get("/v1/cms/entries/" + _entry()["id"]), 404)
    expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "x", "content_type": "poem",
                                      "fields": {"slug": uniq("s"), "body": "b"}}), 400, "validation_failed",
           "content_type")
    expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "x", "status": "live",
                                      "fields": {"slug": uniq("s"), "body": "b"}}), 400, "validation_failed",
           "status")


def test_unique_field_is_409_per_collection():
    a = _entry(fields={"slug": "same-slug", "body": "a"})
    r = expect(A.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "again",
                                          "fields": {"slug": "same-slug", "body": "b"}}), 409, "conflict")
    eq(r["error"]["param"], "fields.slug", "409 names fields.slug")
    ok(a["id"] in r["error"]["message"], "names the entry holding it")
    other = _entry(fields={"slug": "other-slug", "body": "b"})
    expect(A.patch("/v1/cms/entries/" + other["id"], {"fields": {"slug": "same-slug"}}), 409, "conflict",
           "fields.slug")
    expect(A.patch("/v1/cms/entries/" + a["id"], {"fields": {"slug": "same-slug", "body": "c"}}), 200)
    # Another collection, and another workspace, are free to hold it.
    col2 = A.create("/v1/cms/collections", _blog(uniq("second")))
    _entry(col=col2, fields={"slug": "same-slug", "body": "x"})
    _entry(client=B, col=BCOL, fields={"slug": "same-slug", "body": "x"})


def test_unique_check_follows_schema_changes():
    # The first unique field is looked up by an index the entries keep;
    # a schema change that makes another field the first must re-key them.
    col = _collection([{"key": "slug", "type": "string", "required": True, "unique": True},
                       {"key": "code", "type": "string"}, {"key": "rank", "type": "integer"}])
    path = "/v1/cms/collections/" + col["id"]
    post = lambda fields: A.post("/v1/cms/entries", {"collection_id": col["id"], "title": "t",
                                                     "fields": fields})
    a = _entry(col=col, fields={"slug": "s1", "code": "c1", "rank": 1})
    b = _entry(col=col, fields={"slug": "s2", "code": "c2", "rank": 2})
    expect(post({"slug": "s1"}), 409, "conflict", "fields.slug")
    expect(post({"slug": "S1", "code": "c1"}), 201)  # values compare exactly, case too
    expect(A.patch(path, {"schema": {"fields": [
        {"key": "code", "type": "string", "unique": True},
        {"key": "slug", "type": "string", "required": True, "unique": True},
        {"key": "rank", "type": "integer"}]}}), 409, "conflict", "schema.fields[0]")
    expect(A.patch(path, {"schema": {"fields": [
        {"key": "rank", "type": "integer", "unique": True},
        {"key": "slug", "type": "string", "required": True, "unique": True},
        {"key": "code", "type": "string"}]}}), 200)
    r = expect(post({"slug": "s9", "rank": 2}), 409, "conflict", "fields.rank")
    ok(b["id"] in r["error"]["message"], "names the entry holding it: %s" % r["error"]["message"])
    expect(post({"slug": "s2", "rank": 7}), 409, "conflict", "fields.slug")
    expect(post({"slug": "s8", "rank": 2.5}), 400, "validation_failed", "fields.rank")
    # An entry's own value is no conflict; a changed one is checked.
    expect(A.patch("/v1/cms/entries/" + a["id"], {"fields": {"rank": 1, "code": "x"}}), 200)
    expect(A.patch("/v1/cms/entries/" + a["id"], {"fields": {"rank": 2}}), 409, "conflict",
           "fields.rank")
    # Slug no longer unique: a taken one is free again; rank still is not.
    expect(A.patch(path, {"schema": {"fields": [
        {"key": "rank", "type": "integer", "unique": True},
        {"key": "slug", "type": "string", "required": True},
        {"key": "code", "type": "string"}]}}), 200)
    expect(post({"slug": "s1", "rank": 3}), 201)
    expect(post({"slug": "s1", "rank": 1}), 409, "conflict", "fields.rank")
    # Without a unique field, nothing is refused.
    expect(A.patch(path, {"schema": {"fields": [
        {"key": "rank", "type": "integer"}, {"key": "slug", "type": "string", "required": True},
        {"key": "code", "type": "string"}]}}), 200)
    expect(post({"slug": "s1", "rank": 1}), 201)


def test_patch_merges_fields_and_appends_revisions():
    e = _entry(fields={"slug": uniq("m"), "body": "v1"})
    col = _collection([{"key": "slug", "type": "string", "required": True},
                       {"key": "note", "type": "text"}])
    n = A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "N",
                                     "fields": {"slug": "n", "note": "keep me"}})
    got = expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": {"body": "v2"}, "status": "review"}),
                 200)["data"]
    eq(got["fields"], {"slug": e["fields"]["slug"], "body": "v2"}, "PATCH merges keys")
    eq((got["status"], got["revision"]), ("review", 2), "status and revision")
    got = expect(A.patch("/v1/cms/entries/" + n["id"], {"fields": {"note": None}}), 200)["data"]
    eq(got["fields"], {"slug": "n"}, "null removes an optional key")
    expect(A.patch("/v1/cms/entries/" + e["id"], {"fields": {"body": None}}), 400, "validation_failed",
           "fields.body")
    got = expect(A.patch("/v1/cms/entries/" + e["id"], {"title": "Renamed", "status": "published"}),
                 200)["data"]
    ok(got["published_at"], "published_at set on publishing")
    eq(got["revision"], 3, "third revision")
    expect(A.patch("/v1/cms/entries/" + e["id"], {"collection_id": BCOL["id"]}), 400, "validation_failed",
           "collection_id")
    revs = expect(A.get("/v1/cms/entries/%s/revisions" % e["id"]), 200)
    eq([(r["revision"], r["change"], r["status"], r["title"]) for r in revs["data"]],
       [(1, "created", "draft", "AI follow-up workflows"), (2, "updated", "review", "AI follow-up workflows"),
        (3, "updated", "published", "Renamed")], "revisions oldest first")
    eq(revs["data"][0]["fields"]["body"], "v1", "a revision keeps the fields of its time")
    eq(revs["data"][1]["actor"], A.id, "the key that made the change")
    one = revs["data"][0]
    eq(expect(A.get("/v1/cms/entries/%s/revisions/%s" % (e["id"], one["id"])), 200)["data"], one,
       "a revision by id")
    expect(B.get("/v1/cms/entries/%s/revisions" % e["id"]), 404)
    expect(A.post("/v1/cms/entries/%s/revisions" % e["id"], {"title": "x"}), 405)
    got = expect(A.delete("/v1/cms/entries/" + e["id"]), 200)["data"]
    eq((got["status"], got["revision"]), ("archived", 4), "DELETE archives, as a change")
    eq(expect(A.get("/v1/cms/entries/" + e["id"]), 200)["data"], got, "the archived entry stays")
    eq([r["status"] for r in list_all(A, "/v1/cms/entries/%s/revisions" % e["id"])][-1], "archived",
       "its last revision")
    ok(e["id"] in ids(list_all(A, "/v1/cms/entries", {"status": "archived"})), "listed under status=archived")


def test_entry_list_filters():
    site = A.create("/v1/cms/sites", {"key": uniq("site"), "name": "slab5.com", "primary_domain": "slab5.com"})
    camp = A.create("/v1/marketing/campaigns", {"key": uniq("camp"), "name": "Launch", "channel": "website"})
    e = _entry(title="Filtered entry", site_id=site["id"], campaign_id=camp["id"], content_type="landing_page",
               status="review", custom_fields={"tier": "gold"})
    _entry(title="Other entry", content_type="blog_post")
    for params in ({"site_id": site["id"]}, {"campaign_id": camp["id"]},
                   {"content_type": "landing_page", "status": "review", "collection_id": COL["id"]},
                   {"custom_field_key": "tier", "custom_field_value": "gold"}):
        eq(ids(expect(A.get("/v1/cms/entries", params=params), 200)["data"]), [e["id"]], "filter %s" % params)
    expect(A.get("/v1/cms/entries", params={"status": "gone"}), 400, "validation_failed", "status")
    eq(expect(A.get("/v1/cms/entries", params={"site_id": site["id"]}, token=B.token), 200)["data"], [],
       "B sees none of A's")


# ---------------------------------------------------------------- search

def test_search_a_text_word_like_a_marked_title_word_is_no_title_hit():
    # Title words are indexed under a one-character mark ("0"): a text word
    # that starts with it is not a title hit, nor a hit of the word after it.
    word = uniq("okapi").replace("_", "")
    e = _entry(title="Plain title", fields={"slug": uniq("s"), "body": "Code 0%s here" % word})
    r = expect(A.get("/v1/cms/entries/search", params={"query": word}), 200)
    ok(e["id"] not in ids(r["data"]), "0%s is not %s" % (word, word))
    r = expect(A.get("/v1/cms/entries/search", params={"query": "0" + word}), 200)
    eq(ids(r["data"]), [e["id"]], "found as the text word it is")


def test_query_and_search_title_hits_first_with_snippet():
    col = A.create("/v1/cms/collections", {"name": "Search", "key": uniq("search"), "schema": {"fields": [
        {"key": "slug", "type": "string"}, {"key": "body", "type": "markdown"},
        {"key": "views", "type": "integer"}]}})
    word = uniq("zebra").replace("_", "")
    body_old = A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "Savanna notes",
                                            "fields": {"body": "Long text before. The %s crossed the road "
                                                               "at dawn, and more text after it." % word}})
    title_hit = A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "All about %s" % word.upper(),
                                             "fields": {"body": "Nothing here"}})
    body_new = A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "Field guide",
                                            "fields": {"slug": "x", "body": "A %sish animal" % word}})
    A.create("/v1/cms/entries", {"collection_id": col["id"], "title": "Unrelated", "fields": {"body": "nothing"}})
    listed = ids(expect(A.get("/v1/cms/entries", params={"query": word}), 200)["data"])
    eq(sorted(listed), sorted([body_old["id"], title_hit["id"], body_new["id"]]), "?query= over title and text")
    r = expect(A.get("/v1/cms/entries/search", params={"query": word[:6]}), 200)
    eq(ids(r["data"]), [title_hit["id"], body_new["id"], body_old["id"]],
       "title hits first, then text hits, newest first")
    eq(r["next_cursor"], None, "one page")
    snip = {x["id"]: x["snippet"] for x in r["data"]}
    ok(word.upper() in snip[title_hit["id"]], "a title hit's snippet is its title: %r" % snip[title_hit["id"]])
    ok(word in snip[body_old["id"]] and len(snip[body_old["id"]]) <= 162, "snippet around the match: %r"
       % snip[body_old["id"]])
    eq(r["data"][0]["title"], title_hit["title"], "items are entries")
    # Paging: one per page through both phases, each entry once.
    seen, cursor = [], None
    for _ in range(10):
        params = {"query": word, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = expect(A.get("/v1/cms/entries/search", params=params), 200)
        seen += ids(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    eq(seen, [title_hit["id"], body_new["id"], body_old["id"]], "pages follow the same order")
    # Filters apply; B finds nothing of A's.
    eq(ids(expect(A.get("/v1/cms/entries/search", params={"query": word, "collection_id": COL["id"]}),
                  200)["data"]), [], "collection filter")
    eq(expect(B.get("/v1/cms/entries/search", params={"query": word}), 200)["data"], [], "B's search")
    # A changed body is found by its new words only.
    A.patch("/v1/cms/entries/" + body_new["id"], {"fields": {"body": "quiet now"}})
    eq(ids(expect(A.get("/v1/cms/entries/search", params={"query": word}), 200)["data"]),
       [title_hit["id"], body_old["id"]], "search follows PATCH")
    eq(ids(expect(A.get("/v1/cms/entries/search", params={"query": "quiet"}), 200)["data"])[:1],
       [body_new["id"]], "new words found")
    # Non-text fields are not searched; punctuation finds nothing.
    eq(expect(A.get("/v1/cms/entries/search", params={"query": "!!"}), 200)["data"], [], "punctuation")
    everything = expect(A.get("/v1/cms/entries/search", params={"collection_id": col["id"]}), 200)["data"]
    eq(len(everything), 4, "without a query: every entry the filters select")
    eq(everything[0]["title"], "Unrelated", "newest first")
    eq(everything[0]["snippet"], "nothing", "snippet: the first text field's start")
    expect(A.get("/v1/cms/entries/search", params={"query": word, "cursor": "nope"}), 400, None, "cursor")
    expect(A.get("/v1/cms/entries/search", params={"query": word, "limit": 0}), 400, "validation_failed", "limit")
    expect(A.get("/v1/cms/entries/search", params={"query": word, "colour": "red"}), 400, "validation_failed")


# ---------------------------------------------------------------- sites

def test_sites_crud_filter_and_unique_key():
    s = A.create("/v1/cms/sites", {"key": "slab5_com", "name": "slab5.com", "primary_domain": "slab5.com"})
    ok(s["id"].startswith("site_"), "site id prefix")
    eq((s["key"], s["name"], s["primary_domain"]), ("slab5_com", "slab5.com", "slab5.com"), "004's fields")
    expect(A.post("/v1/cms/sites", {"key": "slab5_com", "name": "again"}), 409, "conflict", "key")
    B.create("/v1/cms/sites", {"key": "slab5_com", "name": "B's own"})
    eq(s["id"] in ids(expect(A.get("/v1/cms/sites", params={"query": "slab5"}), 200)["data"]), True, "?query=")
    eq(ids(expect(A.get("/v1/cms/sites", params={"key": "slab5_com"}), 200)["data"]), [s["id"]], "?key=")
    eq(expect(B.get("/v1/cms/sites", params={"query": "slab5", "key": "slab5_com"}), 200)["data"][0]["name"],
       "B's own", "B's list")
    expect(A.post("/v1/cms/sites", {"name": "no key"}), 400, "validation_failed", "key")
    got = expect(A.patch("/v1/cms/sites/" + s["id"], {"name": "Slab5"}), 200)["data"]
    eq(got["name"], "Slab5", "PATCH")
    e = _entry(site_id=s["id"])
    expect(A.delete("/v1/cms/sites/" + s["id"]), 200)
    eq(expect(A.get("/v1/cms/entries/" + e["id"]), 200)["data"]["site_id"], None,
       "an entry of a deleted site keeps going without it")


# ---------------------------------------------------------------- scopes and modules

def test_scopes_and_module():
    e = _entry()
    expect(RO.get("/v1/cms/entries/" + e["id"]), 200)
    expect(RO.get("/v1/cms/entries/search", params={"query": "ai"}), 200)
    r = expect(RO.post("/v1/cms/entries", {"collection_id": COL["id"], "title": "x"}), 403)
    ok("cms:write" in r["error"]["message"], "403 names cms:write")
    expect(RO.patch("/v1/cms/collections/" + COL["id"], {"name": "x"}), 403)
    expect(CRM.get("/v1/cms/entries"), 403)
    expect(CRM.get("/v1/cms/sites"), 403)
    expect(A.patch("/v1/workspace", {"enabled_modules": ["crm", "marketing"]}), 200)
    try:
        r = expect(A.get("/v1/cms/entries"), 403)
        eq(r["error"]["code"], "module_disabled", "cms switched off")
        expect(A.get("/v1/cms/entries/search", params={"query": "ai"}), 403)
        expect(A.get("/v1/cms/entries/%s/revisions" % e["id"]), 403)
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": [
            "crm", "tasks", "activity_log", "support", "cms", "assets", "integrations", "analytics_governance",
            "billing", "accounting", "knowledge", "marketing", "bi", "outbound", "calendar"]}), 200)
    expect(A.get("/v1/cms/entries"), 200)
