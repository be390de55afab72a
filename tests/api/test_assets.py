"""Assets (/v1/assets; assets:read/assets:write, module assets): an upload
intent answers a signed upload_url on the server itself; the bytes are
PUT there (streamed to disk and hashed, capped by --asset-max-bytes and
the declared byte_size, Content-Type equal to mime_type); complete checks
byte_size and checksum_sha256 against what arrived; GET signs a
download_url served as an attachment; DELETE archives. Every refusal is a
clear 4xx naming the field and stores nothing: a too big upload, another
type, a wrong size or checksum, an expired, forged or other asset's link,
a file_name with ../, \\ or NUL. kill -9 mid-upload leaves nothing
half-written visible, and the next start removes the temporary file.
Also filters, PATCH, scopes, the query's asset_id, other workspaces' ids,
and uploads over 1 MiB (streamed, not buffered)."""

import hashlib
import hmac
import json
import os
import socket
import time
import urllib.parse

from harness import (HTTP_TIMEOUT, Server, check_record, count, eq, expect, list_all, ok,
                     raw_exchange, tmpdir)

S = A = B = RO = NOSCOPE = None
CON = DEAL = BCON = None
DATA = KEYFILE = None
KEY = os.urandom(32)
CAP = 3 * 1024 * 1024  # --asset-max-bytes of the server under test
ASSETS = "/v1/assets"


def setup_module():
    global S, A, B, RO, NOSCOPE, CON, DEAL, BCON, DATA, KEYFILE
    d = tmpdir("assets")
    DATA = os.path.join(d, "blobs-here")
    KEYFILE = os.path.join(d, "server.key")
    # A known server key: the test can sign a link the server would have
    # signed (an expired one) without waiting an hour.
    fd = os.open(KEYFILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, KEY)
    os.close(fd)
    S = Server(name="assets", extra_args=["--data-dir", DATA, "--secret-key-file", KEYFILE,
                                          "--asset-max-bytes", str(CAP)])
    A = S.key("assets-a")
    B = S.key("assets-b")
    RO = S.key("assets-a", "assets:read")
    NOSCOPE = S.key("assets-a", "crm:read,crm:write")
    S.start()
    CON = A.create("/v1/contacts", {"name": "Asset Owner"})
    DEAL = A.create("/v1/deals", {"name": "Asset Deal"})
    BCON = B.create("/v1/contacts", {"name": "B Owner"})


def teardown_module():
    S.stop_ok()


def intent(client=None, **kw):
    body = {"asset_type": "image", "file_name": "hero.png", "mime_type": "image/png",
            "related_resource_type": "contact", "related_resource_id": CON["id"]}
    body.update(kw)
    return (client or A).create(ASSETS, body)


def path_of(url):
    """The path and query of an absolute link on this server."""
    u = urllib.parse.urlsplit(url)
    eq(u.scheme, "http", "link scheme")
    eq(u.hostname, "127.0.0.1", "link host (the request's Host)")
    return u.path + "?" + u.query


def put(url, data, ctype="image/png", headers=None):
    return S.request("PUT", path_of(url), raw=data, ctype=ctype, headers=headers, direct=True)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def complete(asset_id, size, checksum, client=None):
    return (client or A).post("%s/%s/complete" % (ASSETS, asset_id),
                              {"byte_size": size, "checksum_sha256": checksum})


def uploaded(data=b"\x89PNG-bytes", **kw):
    """An asset with its bytes uploaded and completed."""
    a = intent(**kw)
    expect(put(a["upload_url"], data, ctype=kw.get("mime_type", "image/png")), 200)
    expect(complete(a["id"], len(data), sha(data)), 200)
    return a


def get(aid, client=None, **params):
    return expect((client or A).get("%s/%s" % (ASSETS, aid), params=params or None), 200)["data"]


def blobs():
    """Every file in the blob store, and in its temporary directory."""
    out = {"blobs": [], "tmp": []}
    for sub in out:
        for root, _, files in os.walk(os.path.join(DATA, sub)):
            out[sub] += [os.path.join(root, f) for f in files]
    return out


def signed(method, ws, asset_id, expires):
    """A link signed as the server signs: HMAC-SHA256 under the key it
    derives from the server key (core/crypto.c)."""
    sign_key = hmac.new(KEY, b"cairn signed urls v1", hashlib.sha256).digest()
    msg = ("%s\n%s\n%s\n%d" % (method, ws, asset_id, expires)).encode()
    sig = hmac.new(sign_key, msg, hashlib.sha256).hexdigest()
    return "http://127.0.0.1:%d/v1/assets/%s/content?workspace_id=%s&expires=%d&signature=%s" % (
        S.port, asset_id, ws, expires, sig)


# ------------------------------------------------------------ happy path

def test_intent_upload_complete_download():
    data = os.urandom(200000)
    a = intent(name="Hero", description="the landing page hero")
    check_record(a, "asset_", "asset")
    eq(a["status"], "upload_pending", "status")
    eq((a["name"], a["file_name"], a["mime_type"], a["asset_type"]),
       ("Hero", "hero.png", "image/png", "image"), "fields")
    eq((a["byte_size"], a["checksum_sha256"]), (None, None), "nothing arrived yet")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(a["upload_url"]).query)
    exp = int(q["expires"][0])
    ok(3500 <= exp - time.time() <= 3700, "upload_url is valid about an hour: %s" % a["upload_url"])
    eq(q["workspace_id"], [A.workspace_id], "the link names the workspace")
    # Not kept: a later GET has no upload_url, and no download_url yet.
    g = get(a["id"])
    ok("upload_url" not in g, "upload_url is answered once: %s" % g)
    eq(g["download_url"], None, "no download before complete")
    # The PUT takes the bytes (a bearer header is accepted, not needed).
    r = put(a["upload_url"], data, headers={"Authorization": "Bearer " + A.token})
    d = expect(r, 200)["data"]
    eq((d["id"], d["status"]), (a["id"], "upload_pending"), "PUT answers the asset")
    done = expect(complete(a["id"], len(data), sha(data).upper()), 200)["data"]
    eq((done["status"], done["byte_size"], done["checksum_sha256"]),
       ("available", len(data), sha(data)), "complete")
    ok(done["completed_at"], "completed_at set")
    # Completing again with the same facts answers the same.
    eq(expect(complete(a["id"], len(data), sha(data)), 200)["data"]["status"], "available", "retry")
    g = get(a["id"], asset_id=a["id"])
    url = g["download_url"]
    qd = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    ok(800 <= int(qd["expires"][0]) - time.time() <= 1000, "download_url lives 15 minutes: %s" % url)
    r = S.request("GET", path_of(url), direct=True)
    eq(r.status, 200, "download status")
    eq(r.body, data, "downloaded bytes")
    eq(r.headers.get("content-type"), "image/png", "download content-type")
    eq(r.headers.get("content-disposition"), 'attachment; filename="hero.png"', "disposition")
    eq(r.headers.get("content-length"), str(len(data)), "download length")
    # No bearer needed, and a key's header does not replace the signature.
    r = S.request("GET", path_of(url).split("&signature=")[0], direct=True,
                  headers={"Authorization": "Bearer " + A.token})
    expect(r, 403, "forbidden", param="signature")


def test_upload_over_one_mib_streams():
    data = os.urandom(2 * 1024 * 1024 + 17)  # past the 1 MiB JSON body limit
    a = intent(asset_type="video", file_name="clip.mp4", mime_type="video/mp4")
    expect(put(a["upload_url"], data, ctype="video/mp4"), 200)
    expect(complete(a["id"], len(data), sha(data)), 200)
    r = S.request("GET", path_of(get(a["id"])["download_url"]), direct=True)
    eq((r.status, len(r.body), sha(r.body)), (200, len(data), sha(data)), "download of 2 MiB")


def test_file_name_with_unicode_downloads_with_filename_star():
    a = uploaded(data=b"%PDF-1.7", asset_type="document", file_name='Rapport "été".pdf',
                 mime_type="application/pdf")
    r = S.request("GET", path_of(get(a["id"])["download_url"]), direct=True)
    eq(r.status, 200, "status")
    eq(r.headers.get("content-disposition"),
       "attachment; filename=\"Rapport ___t___.pdf\"; "
       "filename*=UTF-8''Rapport%20%22%C3%A9t%C3%A9%22.pdf",
       "disposition of a non-ASCII name")


def test_reupload_before_complete_replaces():
    a = intent()
    expect(put(a["upload_url"], b"first"), 200)
    expect(put(a["upload_url"], b"second!"), 200)
    expect(complete(a["id"], 5, sha(b"first")), 422, "validation_failed", param="byte_size")
    expect(complete(a["id"], 7, sha(b"second!")), 200)
    r = S.request("GET", path_of(get(a["id"])["download_url"]), direct=True)
    eq(r.body, b"second!", "the last upload is the asset")


def test_zero_bytes():
    a = uploaded(data=b"", file_name="empty.png")
    eq(get(a["id"])["byte_size"], 0, "an empty file is a file")


# ------------------------------------------------------------ create refusals

def test_create_refusals_name_the_field_and_store_nothing():
    before = count(A, ASSETS)
    base = {"asset_type": "image", "file_name": "x.png", "mime_type": "image/png",
            "related_resource_type": "contact", "related_resource_id": CON["id"]}
    cases = [
        ({"asset_type": None}, 400, "asset_type"),
        ({"asset_type": "spreadsheet"}, 400, "asset_type"),
        ({"file_name": None}, 400, "file_name"),
        ({"file_name": "../etc/passwd"}, 400, "file_name"),
        ({"file_name": "..\\boot.ini"}, 400, "file_name"),
        ({"file_name": "a\\b.png"}, 400, "file_name"),
        ({"file_name": "dir/x.png"}, 400, "file_name"),
        ({"file_name": ".."}, 400, "file_name"),
        ({"file_name": "tab\there.png"}, 400, "file_name"),
        ({"file_name": ""}, 400, "file_name"),
        ({"mime_type": "png"}, 400, "mime_type"),
        ({"mime_type": "image/png; charset=x"}, 400, "mime_type"),
        ({"mime_type": None}, 400, "mime_type"),
        ({"related_resource_type": "planet"}, 400, "related_resource_type"),
        ({"related_resource_id": "con_00000000000000000000000000"}, 400, "related_resource_id"),
        ({"related_resource_id": BCON["id"]}, 400, "related_resource_id"),
        ({"related_resource_type": "deal"}, 400, "related_resource_id"),  # a contact's id
        ({"byte_size": -1}, 400, "byte_size"),
        ({"status": "available"}, 400, "status"),
        ({"checksum_sha256": "00"}, 400, "checksum_sha256"),
        ({"upload_url": "http://evil.example/"}, 400, "upload_url"),
    ]
    for change, status, param in cases:
        body = dict(base)
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        expect(A.post(ASSETS, body), status, "validation_failed", param=param)
    # NUL in file_name, as JSON's \u0000 (the raw body: json.dumps would
    # escape it the same way).
    raw = json.dumps(dict(base, file_name="a\u0000.png"))
    ok("\\u0000" in raw, "the body carries an escaped NUL")
    r = A.post(ASSETS, raw=raw)
    expect(r, 400, "validation_failed", param="file_name")
    eq(count(A, ASSETS), before, "refused creates stored nothing")
    eq(blobs()["tmp"], [], "no temporary file")


def test_related_to_a_deal_and_other_types():
    a = intent(related_resource_type="deal", related_resource_id=DEAL["id"])
    eq(a["related_resource_id"], DEAL["id"], "deal")


# ------------------------------------------------------------ upload refusals

def test_upload_of_another_type_is_415_and_stores_nothing():
    a = intent()
    before = blobs()
    for ctype in ("image/jpeg", "application/octet-stream", "text/plain", None):
        r = put(a["upload_url"], b"bytes", ctype=ctype)
        expect(r, 415, "unsupported_media_type", param="Content-Type")
    # Parameters and case do not matter: the media type does.
    expect(put(a["upload_url"], b"bytes", ctype="IMAGE/PNG; q=1"), 200)
    eq(blobs()["tmp"], before["tmp"], "no temporary file left")


def test_upload_over_declared_byte_size_is_413():
    a = intent(byte_size=10)
    before = blobs()
    r = put(a["upload_url"], b"x" * 11)
    expect(r, 413, "payload_too_large", param="byte_size")
    eq(blobs(), before, "nothing stored")
    expect(complete(a["id"], 11, sha(b"x" * 11)), 409, "conflict", message_has=["no upload"])
    eq(get(a["id"])["status"], "upload_pending", "still pending")
    # Exactly the declared size is fine, and less too.
    expect(put(a["upload_url"], b"y" * 10), 200)
    expect(put(a["upload_url"], b"y" * 3), 200)


def test_upload_over_the_server_cap_is_413():
    a = intent()
    before = blobs()
    r = put(a["upload_url"], b"z" * (CAP + 1))
    expect(r, 413, "payload_too_large", param="Content-Length")
    eq(blobs(), before, "nothing stored")
    # A declared byte_size above the cap does not lift it.
    b = intent(byte_size=CAP * 2)
    expect(put(b["upload_url"], b"z" * (CAP + 1)), 413, "payload_too_large", param="Content-Length")


def test_complete_with_wrong_size_or_checksum_is_422_and_stays_pending():
    data = b"some bytes"
    a = intent()
    expect(complete(a["id"], len(data), sha(data)), 409, "conflict", message_has=["no upload"])
    expect(put(a["upload_url"], data), 200)
    expect(complete(a["id"], len(data) + 1, sha(data)), 422, "validation_failed", param="byte_size")
    expect(complete(a["id"], len(data), sha(b"other")), 422, "validation_failed",
           param="checksum_sha256")
    expect(complete(a["id"], len(data), "zz" * 32), 400, "validation_failed", param="checksum_sha256")
    expect(complete(a["id"], len(data), sha(data)[:-1]), 400, "validation_failed",
           param="checksum_sha256")
    expect(A.post("%s/%s/complete" % (ASSETS, a["id"]), {"byte_size": len(data)}), 400,
           "validation_failed", param="checksum_sha256")
    expect(A.post("%s/%s/complete" % (ASSETS, a["id"]),
                  {"byte_size": len(data), "checksum_sha256": sha(data), "x": 1}), 400,
           "validation_failed", param="x")
    g = get(a["id"])
    eq((g["status"], g["byte_size"], g["checksum_sha256"], g["download_url"]),
       ("upload_pending", None, None, None), "nothing changed")
    expect(complete(a["id"], len(data), sha(data)), 200)


def test_upload_after_complete_or_archive_is_409():
    a = uploaded()
    expect(put(a["upload_url"], b"late"), 409, "conflict")
    b = intent()
    expect(A.delete("%s/%s" % (ASSETS, b["id"])), 200)
    expect(put(b["upload_url"], b"late"), 409, "conflict")
    expect(complete(b["id"], 4, sha(b"late")), 409, "conflict")


def test_refused_on_the_head_before_the_body():
    """A chunked upload is 411; a too large one with Expect: 100-continue is
    413 at once, without 100 Continue, and no byte of the body is needed."""
    a = intent(byte_size=100)
    u = urllib.parse.urlsplit(a["upload_url"])
    head = "PUT %s?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n" % (u.path, u.query)
    st, _, body = raw_exchange(S.port, (head + "Transfer-Encoding: chunked\r\n\r\n"
                                        "5\r\nhello\r\n0\r\n\r\n").encode())
    err = json.loads(body)["error"]
    eq((st, err["code"], err["param"]), (411, "length_required", "Content-Length"), "chunked")
    st, _, body = raw_exchange(S.port, (head + "Content-Length: 101\r\nExpect: 100-continue\r\n\r\n")
                               .encode())
    err = json.loads(body)["error"]
    eq((st, err["code"], err["param"]), (413, "payload_too_large", "byte_size"), "too large")
    eq(blobs()["tmp"], [], "nothing begun")
    eq(get(a["id"])["status"], "upload_pending", "still pending")


def test_completed_asset_refuses_other_facts():
    a = uploaded(data=b"abc")
    expect(complete(a["id"], 3, sha(b"abd")), 409, "conflict")


# ------------------------------------------------------------ signed links

def test_forged_expired_and_other_assets_links_are_403():
    a, b = intent(), intent()
    url = a["upload_url"]
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    before = blobs()

    def with_q(**over):
        qq = dict(q)
        qq.update(over)
        qq = {k: v for k, v in qq.items() if v is not None}
        return "%s://%s%s?%s" % (u.scheme, u.netloc, u.path, urllib.parse.urlencode(qq))

    sig = q["signature"]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    for bad, param in [
        (with_q(signature=flipped), "signature"),
        (with_q(signature=None), "signature"),
        (with_q(signature=sig[:-2]), "signature"),
        (with_q(expires=str(int(q["expires"]) + 3600)), "signature"),  # pushed forward
        (with_q(expires="abc"), "signature"),
        (with_q(workspace_id=B.workspace_id), "signature"),
        (url.replace(a["id"], b["id"]), "signature"),  # a's link, b's path
        (signed("GET", A.workspace_id, a["id"], int(time.time()) + 600), "signature"),  # a GET's
        (signed("PUT", A.workspace_id, a["id"], int(time.time()) - 5), "expires"),
    ]:
        expect(put(bad, b"bytes"), 403, "forbidden", param=param)
    eq(blobs(), before, "nothing stored")
    # The test's own signature is the server's: a fresh one works.
    expect(put(signed("PUT", A.workspace_id, a["id"], int(time.time()) + 60), b"ok"), 200)
    # Downloads too.
    c = uploaded()
    good = get(c["id"])["download_url"]
    expect(S.request("GET", path_of(good.replace(c["id"], a["id"])), direct=True), 403,
           "forbidden", param="signature")
    expired = signed("GET", A.workspace_id, c["id"], int(time.time()) - 1)
    expect(S.request("GET", path_of(expired), direct=True), 403, "forbidden", param="expires")
    upload_link = signed("PUT", A.workspace_id, c["id"], int(time.time()) + 60)
    expect(S.request("GET", path_of(upload_link), direct=True), 403, "forbidden", param="signature")


def test_download_of_pending_or_archived_is_404():
    a = intent()
    link = signed("GET", A.workspace_id, a["id"], int(time.time()) + 60)
    expect(S.request("GET", path_of(link), direct=True), 404, "not_found")
    c = uploaded()
    url = get(c["id"])["download_url"]
    expect(A.delete("%s/%s" % (ASSETS, c["id"])), 200)
    expect(S.request("GET", path_of(url), direct=True), 404, "not_found")
    eq(get(c["id"])["download_url"], None, "an archived asset has no download_url")


def test_link_of_another_workspace_asset():
    a = intent(B, related_resource_id=BCON["id"])
    # B's link works for B's asset; signed for A's workspace it does not.
    link = signed("PUT", A.workspace_id, a["id"], int(time.time()) + 60)
    expect(put(link, b"x"), 404, "not_found")
    expect(put(a["upload_url"], b"x"), 200)


# ------------------------------------------------------------ the rest of the API

def test_get_with_query_asset_id():
    a = intent()
    get(a["id"], asset_id=a["id"])
    expect(A.get("%s/%s" % (ASSETS, a["id"]), params={"asset_id": "asset_other"}), 400,
           "validation_failed", param="asset_id")
    expect(A.get("%s/%s" % (ASSETS, a["id"]), params={"bogus": "1"}), 400, "validation_failed",
           param="bogus")


def test_patch_and_delete_archives():
    a = intent()
    p = expect(A.patch("%s/%s" % (ASSETS, a["id"]), {"name": "Renamed", "description": "d",
                                                     "custom_fields": {"campaign": "spring"}}), 200)
    eq((p["data"]["name"], p["data"]["custom_fields"]), ("Renamed", {"campaign": "spring"}), "patched")
    for field, value in [("file_name", "y.png"), ("mime_type", "image/gif"), ("status", "available"),
                         ("byte_size", 5), ("asset_type", "video"), ("checksum_sha256", "ab")]:
        expect(A.patch("%s/%s" % (ASSETS, a["id"]), {field: value}), 400, "validation_failed",
               param=field)
    d = expect(A.delete("%s/%s" % (ASSETS, a["id"])), 200)["data"]
    eq(d["status"], "archived", "DELETE archives")
    eq(expect(A.delete("%s/%s" % (ASSETS, a["id"])), 200)["data"]["status"], "archived", "again")
    eq(get(a["id"])["status"], "archived", "still there")


def test_list_filters():
    tag = "flt%d" % int(time.time() * 1000)
    d1 = uploaded(asset_type="document", file_name="%s-plan.pdf" % tag, mime_type="application/pdf",
                  related_resource_type="deal", related_resource_id=DEAL["id"])
    i1 = intent(file_name="%s-photo.png" % tag, custom_fields={"tag": tag})
    i2 = intent(file_name="%s-old.png" % tag)
    expect(A.delete("%s/%s" % (ASSETS, i2["id"])), 200)

    def ids(**params):
        return {x["id"] for x in list_all(A, ASSETS, params)}

    mine = {d1["id"], i1["id"], i2["id"]}
    eq(ids(query=tag) & mine, mine, "query finds file names")
    eq(ids(query=tag, asset_type="document") & mine, {d1["id"]}, "asset_type")
    eq(ids(query=tag, status="available") & mine, {d1["id"]}, "status available")
    eq(ids(query=tag, status="upload_pending") & mine, {i1["id"]}, "status pending")
    eq(ids(query=tag, status="archived") & mine, {i2["id"]}, "status archived")
    eq(ids(related_resource_type="deal") & mine, {d1["id"]}, "related_resource_type")
    eq(ids(related_resource_id=DEAL["id"]) & mine, {d1["id"]}, "related_resource_id")
    eq(ids(custom_field_key="tag", custom_field_value=tag), {i1["id"]}, "custom fields")
    expect(A.get(ASSETS, params={"status": "lost"}), 400, "validation_failed", param="status")


def test_scopes_and_workspaces():
    a = intent()
    expect(RO.get("%s/%s" % (ASSETS, a["id"])), 200)
    expect(RO.post(ASSETS, {"asset_type": "image", "file_name": "r.png", "mime_type": "image/png",
                            "related_resource_type": "contact",
                            "related_resource_id": CON["id"]}), 403, "forbidden")
    expect(RO.post("%s/%s/complete" % (ASSETS, a["id"]),
                   {"byte_size": 1, "checksum_sha256": "0" * 64}), 403, "forbidden")
    expect(RO.delete("%s/%s" % (ASSETS, a["id"])), 403, "forbidden")
    expect(NOSCOPE.get(ASSETS), 403, "forbidden")
    for c in (B,):
        expect(c.get("%s/%s" % (ASSETS, a["id"])), 404, "not_found")
        expect(c.patch("%s/%s" % (ASSETS, a["id"]), {"name": "x"}), 404, "not_found")
        expect(c.delete("%s/%s" % (ASSETS, a["id"])), 404, "not_found")
        expect(c.post("%s/%s/complete" % (ASSETS, a["id"]),
                      {"byte_size": 1, "checksum_sha256": "0" * 64}), 404, "not_found")
    eq(get(a["id"])["status"], "upload_pending", "untouched by the other workspace")


def test_idempotent_create():
    body = {"asset_type": "image", "file_name": "idem.png", "mime_type": "image/png",
            "related_resource_type": "contact", "related_resource_id": CON["id"]}
    h = {"Idempotency-Key": "asset-idem-1"}
    r1 = expect(A.post(ASSETS, body, headers=h), 201)["data"]
    r2 = A.post(ASSETS, body, headers=h)
    eq((r2.status, r2.data), (201, r1), "replayed, upload_url included")


# ------------------------------------------------------------ kill -9 mid-upload

def test_kill9_mid_upload_leaves_nothing_half_written():
    a = intent()
    u = urllib.parse.urlsplit(a["upload_url"])
    total = 2 * 1024 * 1024
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(("PUT %s?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                   "Content-Length: %d\r\n\r\n" % (u.path, u.query, total)).encode())
        s.sendall(b"h" * (total // 2))
        # The half that went is on its way into a temporary file.
        deadline = time.time() + HTTP_TIMEOUT
        while not blobs()["tmp"] and time.time() < deadline:
            time.sleep(0.05)
        tmp = blobs()["tmp"]
        eq(len(tmp), 1, "one temporary file while the upload runs")
        S.kill9()
    finally:
        s.close()
    ok(os.path.exists(tmp[0]), "the temporary file outlived the process")
    eq([b for b in blobs()["blobs"] if a["id"] in b], [], "no blob of it is visible")
    S.start()
    eq(blobs()["tmp"], [], "start-up removed the leftover")
    g = get(a["id"])
    eq((g["status"], g["byte_size"], g["download_url"]), ("upload_pending", None, None), "pending")
    expect(complete(a["id"], total, sha(b"h" * total)), 409, "conflict", message_has=["no upload"])
    # It can be uploaded again whole.
    data = b"h" * total
    expect(put(a["upload_url"], data), 200)
    expect(complete(a["id"], total, sha(data)), 200)
