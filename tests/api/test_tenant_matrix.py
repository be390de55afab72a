"""Tenant matrix, generated from the server's own OpenAPI document: a key of
workspace A, given ids of workspace B's records anywhere (path, query,
body), gets 404 (never 403, never 2xx, never 5xx) and finds nothing; both
workspaces' data, dumped through every GET route before and after, is
unchanged.

Nothing here names a resource. From GET /v1/openapi.json the test derives:
  - resources: component schemas with an `object` const; a resource's item
    route is the path `<collection>/{param}` whose GET answers it, its
    create body the collection's POST schema, its update body the item's
    PATCH schema (nested collections, e.g. a contact's company-memberships,
    the same way);
  - which record a path parameter names: the resource whose collection is
    the path up to that parameter;
  - references: a property described as "id of a <singular> in the same
    workspace" (or "of the type <field> names": a typed reference, the
    field being an enum of singulars), arrays of such ids (their items so
    described), and other arrays of strings, which name records of the
    route's own resource (merge's from_ids).
Both workspaces get two records of every resource, created in dependency
order with every field the schemas let us fill (required fields, enum
defaults, formats, references to the workspace's own records); a field the
server refuses with a 400 naming it is dropped and the create retried, so a
new resource needs no edit here.

Then, with A's key:
  - every method of every path with parameters, with each mix of A's and
    B's ids (B's record; A's parent with B's child; B's parent with A's
    child), a valid body, and again with ?dry_run=true: 404 not_found. The
    same call with A's own ids (writes as dry runs) must not be 404, so no
    case passes because the test built a wrong path;
  - every list parameter that takes an id (and every `<ref>.<field>`
    filter, `query`, custom fields) with B's values: an empty list or 404;
  - every body field that references a record, set to B's record (creates,
    updates, actions, sub-list creates, batch items), live and as dry run:
    404 or 400, nothing written; batch updates of B's ids fail item by item;
    an upsert on B's natural key never answers with B's record.
"""

import json
import re

from harness import Server, eq, expect, list_all, ok, uniq, xfail

S = A = B = None
DOC = None
M = None            # the model derived from DOC
W = {}              # "A"/"B" -> Workspace
BEFORE = None       # the dumps taken after set-up

REF_RE = re.compile(r"\bid of an? ([a-z][a-z0-9_]*) in the same workspace")
TYPED_REF_RE = re.compile(r"\bid of a record, of the type ([a-z][a-z0-9_]*) names")
PARAM_RE = re.compile(r"\{([^}]+)\}")
# Routes that are not data: their answers change with every request.
# An asset's bytes, and an export's file, are behind a signed link (download_url), not a key.
NOT_DATA = ("/metrics", "/healthz", "/readyz", "/v1/openapi.json", "/v1/assets/{id}/content",
            "/v1/bi/exports/{id}/content")
# URLs of routes the document marks x-append-only (a log every call adds
# to, refused calls too): what they held before must be there unchanged,
# and more may follow.
APPEND_ONLY = set()
MAX_REPORTED = 25
# Server bugs found here that need a fix in C, as (method, path template,
# body field); left out of test_foreign_ids_in_bodies_are_refused and
# checked by test_known_server_bugs_are_still_there, which fails once the
# server is fixed.
KNOWN_BUGS = {}
# Fields whose value is the time of the request, not data; and the
# server's own bookkeeping of an endpoint it is trying to deliver to.
VOLATILE = ("generated_at", "failing_since", "download_url")  # a link signed when asked
# Records the server works on by itself meanwhile (the webhook worker's
# attempts on the deliveries the matrix's writes queued, the mail worker's
# on the emails: an attempt that fails defers the email, and its status,
# attempts, error and next attempt move on): the same ones must be there,
# their attempt fields may have moved on.
WORKED = ("/v1/webhook-deliveries", "/deliveries", "/v1/outbound/emails")
# The event log: that work appends events (email.deferred) while the
# matrix runs; what the log held before must be there unchanged.
LOGS = ("/v1/events",)


# ---------------------------------------------------------------- the model

class Resource:
    def __init__(self, schema_name, singular):
        self.schema_name = schema_name
        self.singular = singular
        self.item = None          # item path template, e.g. /v1/contacts/{id}
        self.collection = None    # its collection template
        self.create = None        # create body schema (resolved)
        self.update = None        # update body schema (resolved)

    def __repr__(self):
        return self.singular


class Model:
    def __init__(self, doc):
        self.doc = doc
        self.schemas = doc["components"]["schemas"]
        self.res = {}             # singular -> Resource
        by_schema = {}
        for name, s in self.schemas.items():
            props = s.get("properties") or {}
            const = (props.get("object") or {}).get("const")
            if const and "id" in props:
                by_schema[name] = self.res[const] = Resource(name, const)
        for path, ops in doc["paths"].items():
            last = path.rsplit("/", 1)[-1]
            if not PARAM_RE.fullmatch(last) or "get" not in ops:
                continue
            name = self._ref_name(self._data_schema(ops["get"]))
            if name in by_schema and by_schema[name].item is None:
                r = by_schema[name]
                r.item, r.collection = path, path.rsplit("/", 1)[0]
        # Schemas with no item route (a timeline's items) are views, not records.
        self.res = {k: r for k, r in self.res.items() if r.item}
        self.by_collection = {r.collection: r for r in self.res.values()}
        for r in self.res.values():
            if r.collection is None:
                continue
            post = doc["paths"].get(r.collection, {}).get("post")
            r.create = self.body_schema(post) if post else None
            patch = doc["paths"][r.item].get("patch")
            r.update = self.body_schema(patch) if patch else None

    def resolve(self, s):
        """s with $refs followed, and of alternatives (anyOf: a create or an
        upsert's update) the first."""
        while isinstance(s, dict) and ("$ref" in s or ("anyOf" in s and "properties" not in s)):
            s = self.schemas[s["$ref"].rsplit("/", 1)[-1]] if "$ref" in s else s["anyOf"][0]
        return s

    @staticmethod
    def _ref_name(s):
        return s.get("$ref", "").rsplit("/", 1)[-1] if isinstance(s, dict) else ""

    def _data_schema(self, op):
        try:
            s = self.resolve(op["responses"]["200"]["content"]["application/json"]["schema"])
        except KeyError:
            return {}
        return (s.get("properties") or {}).get("data") or {}

    def is_list(self, op):
        return self._data_schema(op).get("type") == "array"

    def body_schema(self, op):
        try:
            return self.resolve(op["requestBody"]["content"]["application/json"]["schema"])
        except (KeyError, TypeError):
            return None

    def param_resources(self, path):
        """[(param, Resource)] for the path's parameters, outermost first."""
        out = []
        for m in PARAM_RE.finditer(path):
            prefix = path[:m.start()].rstrip("/")
            r = self.by_collection.get(prefix)
            if r is None:
                raise AssertionError("%s: no resource has the collection %s, so the test cannot tell whose id {%s} is"
                                     % (path, prefix, m.group(1)))
            out.append((m.group(1), r))
        return out

    def ref_of(self, prop, props):
        """What a property references: ('ref', singular), ('typed', type_field), ('ids', None) or None."""
        prop = self.resolve(prop) or {}
        desc = prop.get("description") or ""
        m = REF_RE.search(desc)
        if m and m.group(1) in self.res:
            return ("ref", m.group(1))
        m = TYPED_REF_RE.search(desc)
        if m and m.group(1) in props:
            return ("typed", m.group(1))
        items = self.resolve(prop.get("items")) or {}
        if prop.get("type") == "array" and items.get("type") == "string" and "enum" not in items:
            m = REF_RE.search(items.get("description") or "")
            if m and m.group(1) in self.res:
                return ("refs", m.group(1))  # an array of ids its items' schema names
            if prop.get("examples"):
                return None  # names the document shows (a webhook's event types), not ids
            return ("ids", None)
        return None

    def typed_choices(self, props, type_field):
        return [v for v in (self.resolve(props[type_field]) or {}).get("enum", []) if v in self.res]

    def deps(self, r):
        """Resources whose records r's create needs first (its parents and references)."""
        d = [pr for _, pr in self.param_resources(r.collection)]
        props = (r.create or {}).get("properties") or {}
        for name, p in props.items():
            ref = self.ref_of(p, props)
            if ref and ref[0] == "ref":
                d.append(self.res[ref[1]])
            elif ref and ref[0] == "typed":
                d += [self.res[t] for t in self.typed_choices(props, ref[1])]
        return [x for x in d if x is not r]

    def creation_order(self):
        todo = [r for r in self.res.values() if r.create is not None]
        order = []
        while todo:
            ready = [r for r in todo if all(d in order or d.create is None for d in self.deps(r))]
            if not ready:
                raise AssertionError("references form a cycle among %s" % todo)
            order += ready
            todo = [r for r in todo if r not in ready]
        return order


# ---------------------------------------------------------------- workspaces

class Workspace:
    def __init__(self, label, client, mark):
        self.label, self.c, self.mark = label, client, mark
        self.recs = {}            # singular -> [(record, path ids outermost first)] in creation order
        self.dropped = {}         # singular -> fields the server refused and the test dropped

    def rec(self, singular, i=0):
        lst = self.recs.get(singular) or []
        return lst[min(i, len(lst) - 1)] if lst else (None, None)

    def rid(self, singular, i=0):
        rec = self.rec(singular, i)[0]
        return rec["id"] if rec else None

    def ids_of(self, singular):
        return {rec["id"] for rec, _ in self.recs.get(singular, [])}


def fill(path, ids):
    """The path with its parameters replaced by ids, in order."""
    it = iter(ids)
    out = PARAM_RE.sub(lambda m: next(it), path)
    ok(next(it, None) is None and len(ids) == len(PARAM_RE.findall(path)), "ids %r for %s" % (ids, path))
    return out


def value_for(name, s, ws, i, props, seen_refs):
    """A plausible value for one property in workspace ws (record number i), or None."""
    s = M.resolve(s) or {}
    if s.get("examples"):  # a value the document gives (a list of line items)
        v = json.loads(json.dumps(s["examples"][0]))
        if name == "key" and isinstance(v, str):  # a natural key (an event type's): one each
            v = "%s.%s_%d" % (v, ws.mark.lower(), i)
        return v
    ref = M.ref_of(s, props)
    if ref:
        kind, what = ref
        if kind == "ref":
            return ws.rid(what, i)
        if kind == "refs":  # two records where it has two (a comparison needs them)
            return [x for x in dict.fromkeys([ws.rid(what, i), ws.rid(what, i + 1)]) if x]
        if kind == "typed":
            for t in M.typed_choices(props, what):
                if ws.rid(t, i):
                    seen_refs[what] = t
                    return ws.rid(t, i)
        return None
    if "enum" in s:
        return seen_refs.get(name) or s.get("default", [v for v in s["enum"] if v is not None][0])
    t = s.get("type")
    if isinstance(t, list):  # nullable: [T, "null"]
        t = [x for x in t if x != "null"][0]
    if t == "boolean":
        d = s.get("default", False)
        return d if isinstance(d, bool) else d == "true"
    if t == "integer":
        lo, hi = s.get("minimum", 0), s.get("maximum", 1 << 40)
        return max(lo, min(hi, 1200 + i))
    if t == "array":
        # A list of choices (a workspace's modules): all of them, so
        # sending it changes nothing; else one plausible item.
        items = M.resolve(s.get("items")) or {}
        if "enum" in items:
            return list(items["enum"])
        item = value_for(name, items, ws, i, props, seen_refs)
        return [] if item is None else [item]
    if t == "object":
        if s.get("additionalProperties"):
            return {"mx": "%s-%d" % (ws.mark, i)}
        return None
    if t != "string":
        return None
    fmt, pat = s.get("format"), s.get("pattern")
    desc = s.get("description") or ""
    # The document gives emails and URLs as the server's own patterns.
    if "email address" in desc:
        fmt = "email"
    elif "http(s) URL" in desc:
        fmt = "uri"
    tag = "%s%d%s" % (ws.mark, i, re.sub(r"[^a-z]", "", name))
    if fmt == "email":
        return "%s@%s.example" % (tag, ws.mark)
    if fmt == "uri":
        return "https://%s.example/%s" % (ws.mark, tag)
    if fmt == "date":
        return "2031-0%d-1%d" % (1 + i % 9, i % 10)
    if fmt == "date-time":
        return "2031-0%d-1%dT09:30:00.000Z" % (1 + i % 9, i % 10)
    if pat == "^[A-Z]{3}$":
        return "EUR"
    if pat or fmt:
        return None
    v = "%s %s %d" % (ws.mark.capitalize(), name.replace("_", " "), i)
    return v[:s.get("maxLength", len(v))]


def make_body(schema, ws, i, only_required=False, skip=()):
    """A body for a write schema: every property a value can be made for (or the required ones)."""
    if not schema:
        return None
    props = schema.get("properties") or {}
    req = set(schema.get("required") or [])
    body, typed = {}, {}
    # References first: a typed reference picks the value of its type field.
    for n in sorted(props, key=lambda n: M.ref_of(props[n], props) is None):
        if n in skip or (only_required and n not in req):
            continue
        v = value_for(n, props[n], ws, i, props, typed)
        if v is not None:
            body[n] = v
    for tf, t in typed.items():
        if tf in props:
            body[tf] = t
    missing = [n for n in req if n not in body and M.ref_of(props.get(n, {}), props) != ("ids", None)]
    if missing:
        raise AssertionError("no value can be made for required %s of %s" % (missing, json.dumps(schema)[:300]))
    return body


def patch_body(schema, ws):
    """One plain field a PATCH can change: the first unformatted string, else the first enum."""
    props = (schema or {}).get("properties") or {}
    # Fields set on create take only their own value again.
    props = {n: p for n, p in props.items()
             if "set on create" not in ((M.resolve(p) or {}).get("description") or "")}
    for n, p in props.items():
        p = M.resolve(p)
        if p.get("type") == "string" and not (p.get("format") or p.get("pattern") or p.get("enum")
                                              or M.ref_of(p, props)):
            return {n: "%s patched" % ws.mark.capitalize()}
    for n, p in props.items():
        p = M.resolve(p)
        if "enum" in p and not M.ref_of(p, props):
            return {n: p.get("default", p["enum"][0])}
    return {}


def ready(ws, rid):
    """A create refused (409) for the state of the record `rid` it references
    (a payment of a draft invoice): the record's first POST action without a
    required body (sending it) is tried. True when one succeeded."""
    for path, ops in DOC["paths"].items():
        m = re.match(r"^(.*)/\{[^}]+\}/[a-z-]+$", path)
        op = ops.get("post")
        if not m or not op or "x-required-scopes" not in op or (M.body_schema(op) or {}).get("required"):
            continue
        r = M.by_collection.get(m.group(1))
        if r is None or rid not in ws.ids_of(r.singular):
            continue
        if ws.c.post(fill(path, (rid,)), {}).status in (200, 201):
            return True
    return False


def create_record(ws, r, i):
    """Create record i of resource r in ws; drops fields the server refuses by name."""
    parents = M.param_resources(r.collection)
    ids = ()
    if parents:
        pr = parents[-1][1]
        rec, ids = ws.rec(pr.singular, i)
        ok(rec, "%s: no %s to create a %s under" % (ws.label, pr.singular, r.singular))
    skip = set(ws.dropped.get(r.singular, ()))
    required = set(r.create.get("required") or [])
    for _ in range(len(r.create.get("properties") or {}) + 1):
        body = make_body(r.create, ws, i, skip=skip)
        resp = ws.c.post(fill(r.collection, ids), body)
        if resp.status == 201:
            rec = resp.json["data"]
            ws.recs.setdefault(r.singular, []).append((rec, ids + (rec["id"],)))
            return
        if resp.status == 200 and (resp.json["data"] or {}).get("object") != r.singular:
            # A POST that adds records without answering one (a marketing
            # list's members): the new record is the one the list gained.
            known = set(rec["id"] for rec, _ in ws.recs.get(r.singular, []))
            new = [x for x in list_all(ws.c, fill(r.collection, ids)) if x["id"] not in known]
            ok(len(new) == 1, "creating a %s: %s added %d records" % (r.singular, resp.describe(), len(new)))
            ws.recs.setdefault(r.singular, []).append((new[0], ids + (new[0]["id"],)))
            return
        param = resp.error.get("param")
        if isinstance(param, str):
            param = re.sub(r"\[\d+\]$", "", param)  # a list's element (properties[0]): the list
        if resp.status == 409 and param in body and ready(ws, body[param]):
            continue
        if resp.status in (400, 422) and param in body and param not in required:
            skip.add(param)
            ws.dropped.setdefault(r.singular, set()).add(param)
            continue
        raise AssertionError("creating a %s: %s" % (r.singular, resp.describe()))
    raise AssertionError("creating a %s: every field refused" % r.singular)


# ---------------------------------------------------------------- the dump

def dump(ws):
    """Everything the workspace's key can read: every list (walked to the end)
    and every GET route with parameters, for every record listed."""
    out, known = {}, {}          # known: singular -> [path ids of each record listed]
    paths = [p for p, ops in DOC["paths"].items() if "get" in ops and p not in NOT_DATA]
    # Collections first, outermost first, so that nested ones find their parents.
    by_depth = sorted(paths, key=lambda p: (len(PARAM_RE.findall(p)), p))
    for p in by_depth:
        params = M.param_resources(p)
        if params:
            # Every combination of the workspace's own records along the path.
            anchor = params[-1][1]
            combos = known.get(anchor.singular, [])
        else:
            combos = [()]
        for ids in combos:
            url = fill(p, ids)
            if DOC["paths"][p]["get"].get("x-append-only"):
                APPEND_ONLY.add(url)
            if M.is_list(DOC["paths"][p]["get"]):
                items = list_all(ws.c, url)
                out[url] = _stable(items)
                r = M.by_collection.get(p)
                if r is not None:
                    for it in items:
                        k = ids + (it["id"],)
                        lst = known.setdefault(r.singular, [])
                        if k not in lst:
                            lst.append(k)
            else:
                out[url] = _stable(expect(ws.c.get(url), 200)["data"])
    return out


def _stable(v):
    if isinstance(v, dict):
        return {k: _stable(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [_stable(x) for x in v]
    return v


def _ids(v):
    return sorted(x.get("id") for x in v) if isinstance(v, list) else (v or {}).get("id")


def diff(before, after):
    lines = []
    for k in sorted(set(before) | set(after)):
        if any(w in k.split("?")[0] for w in WORKED):
            if _ids(before.get(k)) != _ids(after.get(k)):
                lines.append("GET %s (worked on by the server): ids before %s, after %s" % (
                    k, json.dumps(_ids(before.get(k)))[:300], json.dumps(_ids(after.get(k)))[:300]))
            continue
        if k in APPEND_ONLY or k.split("?")[0] in LOGS:
            b, a = before.get(k), after.get(k)
            kept = b is None or (isinstance(b, list) and all(x in (a or []) for x in b)) or b == a
            if not kept:
                lines.append("GET %s (append-only): before %s, after %s" % (
                    k, json.dumps(b)[:300], json.dumps(a)[:300]))
            continue
        if before.get(k) != after.get(k):
            lines.append("GET %s: before %s, after %s" % (k, json.dumps(before.get(k))[:300],
                                                             json.dumps(after.get(k))[:300]))
    return lines


# ---------------------------------------------------------------- set-up

def setup_module():
    global S, A, B, DOC, M, BEFORE
    S = Server(name="matrix")
    A = S.key("matrix-a")
    B = S.key("matrix-b")
    S.start()
    DOC = expect(S.request("GET", "/v1/openapi.json"), 200)
    M = Model(DOC)
    mark = uniq("m")
    W["A"] = Workspace("A", A, "alpha" + mark)
    W["B"] = Workspace("B", B, "bravo" + mark)
    for r in M.creation_order():
        for i in range(2):
            for ws in W.values():
                create_record(ws, r, i)
    # Resources no route creates (a ledger's lines, an import's rows) get
    # their records from the writes above (a payment posts, an import has
    # rows); the first two listed stand in, under each parent record in
    # turn for a nested one, outermost resources first.
    for r in sorted(M.res.values(), key=lambda r: r.collection.count("/{")):
        if r.create is not None:
            continue
        parents = M.param_resources(r.collection)
        for ws in W.values():
            under = [ids for _, ids in ws.recs.get(parents[-1][1].singular, [])] if parents else [()]
            for ids in under:
                for rec in list_all(ws.c, fill(r.collection, ids)):
                    if len(ws.recs.get(r.singular, [])) < 2:
                        ws.recs.setdefault(r.singular, []).append((rec, ids + (rec["id"],)))
    BEFORE = {k: dump(ws) for k, ws in W.items()}


def teardown_module():
    S.stop_ok()


def report(bad, total, what):
    if bad:
        raise AssertionError("%d of %d %s: %s" % (len(bad), total, what, " || ".join(bad[:MAX_REPORTED])))


def ghost(rid):
    """A well-formed id of the same type that no workspace has."""
    return rid[:-8] + "7ZZZZZZZ"


def shape(resp, ids):
    """What an answer tells about the ids it was given: status, code, param,
    and the message with the ids blanked."""
    msg = resp.error.get("message") or ""
    for i in ids:
        msg = msg.replace(i, "<id>")
    return resp.status, resp.error.get("code"), resp.error.get("param"), msg


def oracle(method, url, body, q, resp, b_ids):
    """Why resp (to a request naming B's ids) differs from the answer to the
    same request with ids no workspace has (None when it does not): a
    difference would tell A that B's records exist."""
    swap = {i: ghost(i) for i in b_ids}

    def sub(v):
        if isinstance(v, str):
            return url_sub(v)
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    def url_sub(u):
        for i, g in swap.items():
            u = u.replace(i, g)
        return u

    other = A.request(method, url_sub(url), body=sub(body), params=q)
    if shape(resp, b_ids) == shape(other, swap.values()):
        return None
    return "B's ids: %s; ids of no workspace: %s" % (resp.describe(), other.describe())


def wrong_404(resp):
    """Why resp is not the 404 not_found a foreign id must get (None when it is)."""
    if resp.status == 404 and resp.error.get("code") == "not_found":
        return None
    return "%s (want 404 not_found)" % resp.describe()


# ---------------------------------------------------------------- tests

def test_every_resource_has_records_in_both_workspaces():
    ok(len(M.res) >= 8, "the document names only %d resources: %s" % (len(M.res), sorted(M.res)))
    missing = [(k, r.singular) for r in M.res.values() for k, ws in W.items()
               if len(ws.recs.get(r.singular, [])) < 2]
    eq(missing, [], "resources with fewer than 2 records in a workspace")


def _id_sets(path):
    """([(label, ids)] for every mix of A's and B's ids along the path but
    all-A's, and all-A's (the control)), from record 0 of the path's last
    resource in each workspace."""
    params = M.param_resources(path)
    anchor = params[-1][1].singular
    a_ids, b_ids = W["A"].rec(anchor, 0)[1], W["B"].rec(anchor, 0)[1]
    names = [p for p, _ in params]
    mixes = []
    for mask in range(1, 1 << len(names)):
        ids = tuple((b_ids if mask >> k & 1 else a_ids)[k] for k in range(len(names)))
        label = ",".join("%s=%s" % (n, "B" if mask >> k & 1 else "A") for k, n in enumerate(names))
        mixes.append((label, ids))
    return mixes, a_ids


def _matrix_body(path, method, op, ws):
    schema = M.body_schema(op)
    if schema is None:
        return None
    r = M.by_collection.get(path.rsplit("/", 1)[0])
    if method == "patch" and r is not None and r.item == path:
        return patch_body(schema, ws)
    # Actions and sub-list creates: required fields, references to record 0
    # (as is the record the path names: a deal moves to a stage of its own
    # pipeline), ids arrays with record 1 of the route's own resource (the
    # contact merged into record 0).
    body = make_body(schema, ws, 0, only_required=True)
    props = schema.get("properties") or {}
    for n in schema.get("required") or []:
        if M.ref_of(props[n], props) == ("ids", None):
            body[n] = [ws.rid(M.param_resources(path)[-1][1].singular, 1)]
    return body


def _param_routes():
    for path, ops in DOC["paths"].items():
        if not PARAM_RE.search(path) or path in NOT_DATA:
            continue
        for method, op in ops.items():
            yield path, method, op


def test_foreign_ids_in_paths_are_404():
    bad, n = [], 0
    for path, method, op in _param_routes():
        mixes, own = _id_sets(path)
        body = _matrix_body(path, method, op, W["A"])
        for label, ids in mixes:
            url = fill(path, ids)
            b_ids = [i for i in ids if i not in own]
            variants = [{}] if method == "get" else [{}, {"dry_run": "true"}]
            for q in variants:
                n += 1
                resp = A.request(method.upper(), url, body=body, params=q)
                why = wrong_404(resp) or oracle(method.upper(), url, body, q, resp, b_ids)
                if why:
                    bad.append("[%s %s %s] %s" % (method.upper(), path, label, why))
    ok(n >= 50, "only %d requests in the matrix" % n)
    report(bad, n, "requests with another workspace's ids in the path were not 404 not_found")


def test_own_ids_in_paths_resolve():
    """The control for the matrix: the same routes and bodies with A's own ids
    (writes as dry runs) are not 404, so the matrix's 404s come from B's ids."""
    bad, n = [], 0
    for path, method, op in _param_routes():
        _, own = _id_sets(path)
        body = _matrix_body(path, method, op, W["A"])
        n += 1
        if method == "get":
            resp = A.get(fill(path, own))
            good = resp.status == 200
        else:
            resp = A.request(method.upper(), fill(path, own), body=body, params={"dry_run": "true"})
            # 409: the record was found and the write refused (a won stage, a membership that exists).
            good = resp.status in (200, 201) or (resp.status == 409 and resp.error.get("code") == "conflict")
        if not good:
            bad.append("[%s %s] %s" % (method.upper(), path, resp.describe()))
    report(bad, n, "requests with the workspace's own ids failed (the matrix would prove nothing)")


def _filter_cases():
    """(list path, A's path ids, B's query, A's query) for every list
    parameter that names a record, or takes a value only B's records hold."""
    for path, ops in DOC["paths"].items():
        if "get" not in ops or path in NOT_DATA or not M.is_list(ops["get"]):
            continue
        own = _id_sets(path)[1] if PARAM_RE.search(path) else ()
        listed = M.by_collection.get(path)
        params = {p["name"]: p for p in ops["get"].get("parameters", []) if p.get("in") == "query"}
        props = {n: p.get("schema") or {} for n, p in params.items()}
        for name, p in params.items():
            ref = M.ref_of(props[name], props)
            if ref and ref[0] == "ref":
                yield path, own, {name: W["B"].rid(ref[1])}, {name: W["A"].rid(ref[1])}
            elif ref and ref[0] == "typed":
                for t in M.typed_choices(props, ref[1]):
                    yield (path, own, {ref[1]: t, name: W["B"].rid(t)}, {ref[1]: t, name: W["A"].rid(t)})
            elif "." in name:
                # A filter through a reference: B's referenced record's value.
                singular, field = name.split(".", 1)
                if singular in M.res:
                    bv = W["B"].rec(singular)[0].get(field)
                    av = W["A"].rec(singular)[0].get(field)
                    if isinstance(bv, str) and W["B"].mark in bv:
                        yield path, own, {name: bv}, {name: av}
            elif name == "query":
                yield path, own, {"query": W["B"].mark}, {"query": W["A"].mark}
            elif name == "custom_field_key" and "custom_field_value" in params:
                yield (path, own, {"custom_field_key": "mx", "custom_field_value": W["B"].mark + "-0"},
                       {"custom_field_key": "mx", "custom_field_value": W["A"].mark + "-0"})
            elif listed is not None and not p.get("schema", {}).get("enum"):
                # A plain filter: B's record's value when only B's records hold it.
                bv = W["B"].rec(listed.singular)[0].get(name)
                av = W["A"].rec(listed.singular)[0].get(name)
                if isinstance(bv, str) and W["B"].mark in bv:
                    yield path, own, {name: bv}, {name: av}


def test_foreign_ids_in_list_filters_match_nothing():
    bad, n, hits = [], 0, 0
    for path, own, bq, aq in _filter_cases():
        n += 1
        url = fill(path, own)
        resp = A.get(url, params=dict(bq, limit=100))
        if resp.status == 200:
            if resp.json.get("data") != []:
                bad.append("[GET %s %s] %s (want an empty list)" % (path, bq, resp.describe()))
        elif wrong_404(resp):
            bad.append("[GET %s %s] %s (want 200 and [] or 404)" % (path, bq, resp.describe()))
        # Control: A's own value is accepted (so B's is not refused as malformed).
        ctl = A.get(url, params=dict(aq, limit=100))
        if ctl.status != 200:
            bad.append("[control GET %s %s] %s (want 200)" % (path, aq, ctl.describe()))
        elif ctl.json.get("data"):
            hits += 1
    ok(n >= 20, "only %d filter cases derived from the document" % n)
    report(bad, n, "list filters with another workspace's ids or values")
    ok(hits >= n // 3, "A's own values matched records in only %d of %d filters: the filters tested nothing" % (hits, n))


def _write_ops():
    """(path template, method, op, schema) for every write with a JSON body."""
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            if method == "get":
                continue
            schema = M.body_schema(op)
            if schema and schema.get("properties") and "operations" not in schema["properties"]:
                yield path, method, op, schema


def _body_ref_cases():
    """(method, path template, field, url, body) for every body field that
    references a record, set to B's record, in an otherwise valid body."""
    a, b = W["A"], W["B"]
    a_ids = {rec["id"] for lst in a.recs.values() for rec, _ in lst}
    for path, method, op, schema in _write_ops():
        props = schema["properties"]
        own = _id_sets(path)[1] if PARAM_RE.search(path) else ()
        url = fill(path, own)
        base = _matrix_body(path, method, op, a) or {}
        if method == "post" and path in M.by_collection:
            # A create: a full body (references to record 1 everywhere).
            r = M.by_collection[path]
            base = make_body(schema, a, 1, skip=a.dropped.get(r.singular, ()))
        for name, p in props.items():
            ref = M.ref_of(p, props)
            cases = []
            if ref and ref[0] == "ref":
                cases.append({name: b.rid(ref[1])})
            elif ref and ref[0] == "typed":
                cases += [{ref[1]: t, name: b.rid(t)} for t in M.typed_choices(props, ref[1])]
            elif ref and ref[0] == "ids" and own:
                cases.append({name: [b.rid(M.param_resources(path)[-1][1].singular, 1)]})
            elif ref and ref[0] == "refs":
                # B's record among A's, and alone.
                cases.append({name: [a.rid(ref[1]), b.rid(ref[1])]})
                cases.append({name: [b.rid(ref[1])]})
            for change in cases:
                b_ids = change[name] if isinstance(change[name], list) else [change[name]]
                b_ids = [i for i in b_ids if i not in a_ids]  # an array may hold A's ids too
                yield method.upper(), path, name, url, dict(base, **change), b_ids


def _refused(resp):
    return (resp.status == 404 and resp.error.get("code") == "not_found") or \
           (resp.status in (400, 422) and resp.error.get("code") == "validation_failed")


def test_foreign_ids_in_bodies_are_refused():
    bad, n = [], 0
    for method, path, name, url, body, b_ids in _body_ref_cases():
        if (method, path, name) in KNOWN_BUGS:
            continue  # test_known_server_bugs_are_still_there
        for q in ({}, {"dry_run": "true"}):
            n += 1
            resp = A.request(method, url, body=body, params=q)
            if not _refused(resp):
                bad.append("[%s %s, %s=B's] %s (want 404 not_found or 400 validation_failed)"
                           % (method, path, name, resp.describe()))
            else:
                why = oracle(method, url, body, q, resp, b_ids)
                if why:
                    bad.append("[%s %s, %s=B's] %s" % (method, path, name, why))
    ok(n >= 30, "only %d body reference cases derived from the document" % n)
    report(bad, n, "writes referencing another workspace's record were not refused")


def test_known_server_bugs_are_still_there():
    """Each KNOWN_BUGS case, as a dry run (a live one would change A): still
    accepted is an expected failure (reported as skipped); refused means the
    server was fixed and the entry must go, so the case is tested again."""
    seen, still = set(), []
    for method, path, name, url, body, _ in _body_ref_cases():
        if (method, path, name) not in KNOWN_BUGS:
            continue
        seen.add((method, path, name))
        resp = A.request(method, url, body=body, params={"dry_run": "true"})
        if _refused(resp):
            raise AssertionError("fixed: %s now answers %s; remove it from KNOWN_BUGS"
                                 % ((method, path, name), resp.describe()))
        still.append("%s [%s]: %s" % (KNOWN_BUGS[(method, path, name)], resp.request_line(), resp.status))
    eq(sorted(set(KNOWN_BUGS) - seen), [], "KNOWN_BUGS entries that match no case")
    if still:
        xfail("server bug, needs a C fix: " + " || ".join(still))


def test_batch_items_with_foreign_ids_fail():
    bad, n = [], 0
    a, b = W["A"], W["B"]
    for path, ops in DOC["paths"].items():
        op = ops.get("post")
        schema = M.body_schema(op) if op else None
        if not schema or "operations" not in (schema.get("properties") or {}):
            continue
        r = M.by_collection.get(path.rsplit("/", 1)[0])
        ok(r is not None, "%s: no resource for this batch route" % path)
        items = [{"action": "update", "id": b.rid(r.singular, i), "data": patch_body(r.update, a)}
                 for i in range(2)]
        props = r.create.get("properties") or {}
        full = make_body(r.create, a, 1, skip=a.dropped.get(r.singular, ()))
        for name, p in props.items():
            ref = M.ref_of(p, props)
            if ref and ref[0] == "ref":
                items.append({"action": "create", "data": dict(full, **{name: b.rid(ref[1])})})
                items.append({"action": "update", "id": a.rid(r.singular, 1), "data": {name: b.rid(ref[1])}})
            elif ref and ref[0] == "typed":
                for t in M.typed_choices(props, ref[1]):
                    items.append({"action": "create", "data": dict(full, **{ref[1]: t, name: b.rid(t)})})
        for q in ({}, {"dry_run": "true"}):
            n += len(items)
            resp = A.post(path, {"operations": items}, params=q)
            if resp.status != 200 or not isinstance(resp.data, dict):
                bad.append("[POST %s %s] %s (want 200 with a failed result per item)" % (path, q, resp.describe()))
                continue
            for it, res in zip(items, resp.data.get("results") or []):
                if res.get("status") not in (400, 404, 422):
                    bad.append("[POST %s %s item %s] result %s (want 404 or 400)"
                               % (path, q, json.dumps(it)[:200], json.dumps(res)[:300]))
            if resp.data.get("succeeded") != 0:
                bad.append("[POST %s %s] succeeded=%s (want 0): %s" % (path, q, resp.data.get("succeeded"),
                                                                       resp.describe()))
    ok(n >= 10, "only %d batch items derived from the document" % n)
    report(bad, n, "batch items with another workspace's ids did not fail")


def test_upsert_never_matches_a_foreign_record():
    """A create with ?upsert_on=<field> and B's value of that field creates in
    A (as a dry run here); it never answers with B's record."""
    bad, n = [], 0
    a, b = W["A"], W["B"]
    for r in M.res.values():
        op = DOC["paths"].get(r.collection or "", {}).get("post") or {}
        if not any(p.get("name") == "upsert_on" for p in op.get("parameters", [])):
            continue
        brec = b.rec(r.singular)[0]
        for field, p in (r.create.get("properties") or {}).items():
            bv = brec.get(field)
            if not isinstance(bv, str) or b.mark not in bv:
                continue
            body = make_body(r.create, a, 1, skip=a.dropped.get(r.singular, ()))
            body[field] = bv
            resp = A.post(r.collection, body, params={"upsert_on": field, "dry_run": "true"})
            if resp.status in (400, 422):
                continue  # not a natural key of this resource
            n += 1
            got = (resp.data or {}).get("id") if isinstance(resp.data, dict) else None
            if resp.status >= 300 or got in b.ids_of(r.singular) or got in a.ids_of(r.singular):
                bad.append("[POST %s?upsert_on=%s with B's value] %s (want a new record)"
                           % (r.collection, field, resp.describe()))
    ok(n >= 1, "no upsert key found in the document's resources")
    report(bad, n, "upserts on another workspace's natural key")


def test_zz_both_workspaces_unchanged_and_apart():
    """Runs last (tests run in file order): every GET of both workspaces
    answers as it did before the tests above, and no answer of one
    workspace holds an id or a value of the other's."""
    after = {}
    for k, ws in W.items():
        after[k] = dump(ws)
        d = diff(BEFORE[k], after[k])
        ok(not d, "workspace %s changed (%d of %d routes): %s" % (k, len(d), len(after[k]), " || ".join(d[:8])))
        ok(len(after[k]) >= 40, "workspace %s's dump has only %d routes" % (k, len(after[k])))
    ids = {k: set(re.findall(r"\b[a-z]+_[0-9A-Z]{26}\b", json.dumps(d))) for k, d in after.items()}
    for k, other in (("A", "B"), ("B", "A")):
        ok(len(ids[other]) >= 20, "workspace %s's answers hold only %d ids" % (other, len(ids[other])))
        leaked = sorted(ids[k] & ids[other]) + ([W[other].mark] if W[other].mark in json.dumps(after[k]) else [])
        eq(leaked, [], "ids or values of workspace %s in workspace %s's answers" % (other, k))
