"""Revenue (004's shapes; crm:read/crm:write; modules billing and
accounting): invoices (/v1/invoices: numbering, line items in integer cents
rounded half away from zero per line, send, void, overdue), payments
(/v1/payments: partial, overpaid, currency, refunds) and the double-entry
ledger (/v1/accounting/accounts, journal-entries, journal-lines, balances,
the trial balance) that sending, paying, refunding and voiding post to.
Every refused write is checked to change nothing; a randomized sequence of
all of them keeps the trial balance balanced and every sent invoice's
amount_due_cents equal to what its receivable holds."""

import random

from harness import Server, eq, expect, ids, list_all, ok

S = A = B = C = E = RO = SUP = None
CHART = {}


def setup_module():
    global S, A, B, C, E, RO, SUP
    S = Server(name="revenue")
    A = S.key("rev-a")
    B = S.key("rev-b")
    RO = S.key("rev-a", "crm:read")
    SUP = S.key("rev-a", "support:read,support:write")
    C = S.key("rev-prop")
    E = S.key("rev-eur")
    S.start()
    for acct in list_all(A, "/v1/accounting/accounts"):
        if acct["role"]:
            CHART[acct["role"]] = acct


def teardown_module():
    S.stop_ok()


def _invoice(client=None, lines=None, **kw):
    body = {"line_items": lines if lines is not None else
            [{"kind": "service", "name": "Website redesign", "unit_amount_cents": 500000}]}
    body.update(kw)
    return (client or A).create("/v1/invoices", body)


def _sent(client=None, **kw):
    inv = _invoice(client, **kw)
    return expect((client or A).post("/v1/invoices/%s/send" % inv["id"]), 200)["data"]


def _get(path, client=None):
    return expect((client or A).get(path), 200)["data"]


def _unchanged(path, before, client=None):
    eq(_get(path, client), before, "%s after a refused write" % path)


def _balance(role, client=None, **params):
    acct = CHART[role]
    return expect((client or A).get("/v1/accounting/accounts/%s/balance" % acct["id"], params=params),
                  200)["data"]


def _trial(client=None, **params):
    return expect((client or A).get("/v1/accounting/trial-balance", params=params), 200)["data"]


# ------------------------------------------------------------- the chart

def test_default_chart():
    eq(sorted(CHART), ["cash", "receivable", "refunds", "revenue", "tax"], "roles of the default chart")
    eq(CHART["cash"]["code"], "1000", "cash code")
    eq(CHART["cash"]["normal_side"], "debit", "an asset is debit-normal")
    eq(CHART["revenue"]["normal_side"], "credit", "revenue is credit-normal")
    eq(CHART["tax"]["type"], "liability", "tax payable is a liability")
    eq(CHART["cash"]["currency"], "USD", "chart currency")
    ok(CHART["cash"]["id"].startswith("acct_"), "account id prefix")
    # Another workspace has its own chart, with the same codes.
    theirs = list_all(B, "/v1/accounting/accounts")
    eq(sorted(a["code"] for a in theirs), ["1000", "1100", "2100", "4000", "4900"], "B's chart")
    ok(not set(ids(theirs)) & {a["id"] for a in CHART.values()}, "charts share no account")


# ---------------------------------------------------------------- invoices

def test_invoice_create_as_004_shows():
    inv = _invoice(invoice_number="INV-1001")
    eq(inv["invoice_number"], "INV-1001", "invoice_number")
    eq(inv["status"], "draft", "a new invoice is a draft")
    eq(inv["currency"], "USD", "default currency")
    ok(inv["id"].startswith("inv_"), "invoice id prefix: %s" % inv["id"])
    line = inv["line_items"][0]
    eq(line["quantity"], 1, "default quantity")
    eq(line["tax_rate_bps"], 0, "default tax rate")
    eq(line["amount_cents"], 500000, "line amount")
    eq((inv["subtotal_cents"], inv["tax_cents"], inv["total_cents"]), (500000, 0, 500000), "totals")
    eq((inv["amount_paid_cents"], inv["amount_due_cents"]), (0, 500000), "paid and due")
    eq(inv["journal_entry_id"], None, "a draft posts nothing")
    r = expect(A.post("/v1/invoices", {"invoice_number": "INV-1001", "line_items": []}), 409)
    eq(r["error"]["param"], "invoice_number", "a duplicate number names invoice_number")
    listed = expect(A.get("/v1/invoices", params={"status": "draft"}), 200)
    ok(inv["id"] in ids(listed["data"]), "?status=draft lists it")


def test_invoice_numbers_follow_a_sequence():
    a = _invoice(client=B)
    b = _invoice(client=B)
    eq((a["invoice_number"], b["invoice_number"]), ("INV-0001", "INV-0002"), "numbers of B's first invoices")
    ok(b["sequence"] == a["sequence"] + 1, "sequence grows")
    # A number taken by hand is skipped.
    _invoice(client=B, invoice_number="INV-0004")
    c = _invoice(client=B)
    d = _invoice(client=B)
    eq(c["invoice_number"], "INV-0005", "a number taken by hand is skipped")
    eq(d["invoice_number"], "INV-0006", "then the sequence goes on")


def test_line_amounts_round_half_away_from_zero():
    lines = [
        {"name": "a", "quantity": 3, "unit_amount_cents": 333, "tax_rate_bps": 750},   # 999 * 7.5% = 74.925 -> 75
        {"name": "b", "unit_amount_cents": 10, "tax_rate_bps": 500},                   # 0.5 -> 1
        {"name": "c", "unit_amount_cents": 30, "tax_rate_bps": 500},                   # 1.5 -> 2
        {"name": "d", "unit_amount_cents": -10, "tax_rate_bps": 500},                  # -0.5 -> -1
        {"name": "e", "quantity": 2, "unit_amount_cents": 12345, "tax_rate_bps": 2000},  # 24690 * 20% = 4938
    ]
    inv = _invoice(lines=lines)
    eq([l["tax_cents"] for l in inv["line_items"]], [75, 1, 2, -1, 4938], "per-line tax, half away from zero")
    eq([l["amount_cents"] for l in inv["line_items"]], [999, 10, 30, -10, 24690], "per-line amounts")
    eq(inv["subtotal_cents"], 999 + 10 + 30 - 10 + 24690, "subtotal")
    eq(inv["tax_cents"], 75 + 1 + 2 - 1 + 4938, "tax")
    eq(inv["total_cents"], inv["subtotal_cents"] + inv["tax_cents"], "total")


def test_invoice_bad_input_changes_nothing():
    before = len(list_all(A, "/v1/invoices"))
    big = 10 ** 15
    cases = [
        ({"line_items": [{"name": "x"}]}, "line_items[0].unit_amount_cents"),
        ({"line_items": [{"unit_amount_cents": 5}]}, "line_items[0].name"),
        ({"line_items": [{"name": "x", "unit_amount_cents": "5"}]}, "line_items[0].unit_amount_cents"),
        ({"line_items": [{"name": "x", "unit_amount_cents": big + 1}]}, "line_items[0].unit_amount_cents"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 9223372036854775807}]},
         "line_items[0].unit_amount_cents"),
        ({"line_items": [{"name": "x", "unit_amount_cents": big, "quantity": 2}]}, "line_items[0].quantity"),
        ({"line_items": [{"name": "x", "unit_amount_cents": big}, {"name": "y", "unit_amount_cents": big}]},
         "line_items"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 5, "quantity": 0}]}, "line_items[0].quantity"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 5, "tax_rate_bps": 10001}]},
         "line_items[0].tax_rate_bps"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 5, "amount_cents": 5}]}, "line_items[0].amount_cents"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 5, "colour": "red"}]}, "line_items[0].colour"),
        ({"line_items": ["x"]}, "line_items[0]"),
        ({"line_items": {"name": "x"}}, "line_items"),
        ({"line_items": [{"name": "x", "unit_amount_cents": 5}] * 101}, "line_items"),
        ({"line_items": [{"name": "x", "unit_amount_cents": -5}]}, "line_items"),
        ({"line_items": [], "currency": "usd"}, "currency"),
        ({"line_items": [], "status": "paid"}, "status"),
        ({"line_items": [], "total_cents": 5}, "total_cents"),
        ({"line_items": [], "due_date": "2026-02-30"}, "due_date"),
        ({"line_items": [{"name": "x\u0000y", "unit_amount_cents": 5}]}, None),
    ]
    for body, param in cases:
        r = A.post("/v1/invoices", body)
        if param is None:
            ok(r.status in (201, 400), "control byte: %d" % r.status)
            if r.status == 201:
                before += 1
            continue
        r = expect(r, 400)
        eq(r["error"]["param"], param, "invoice %r names" % (body if len(str(body)) < 200 else param))
    r = expect(A.post("/v1/invoices", {"line_items": [], "company_id": "com_nope"}), 404)
    eq(r["error"]["param"], "company_id", "unknown company names company_id")
    other = B.create("/v1/companies", {"name": "B's company"})
    r = expect(A.post("/v1/invoices", {"line_items": [], "company_id": other["id"]}), 404)
    eq(r["error"]["param"], "company_id", "another workspace's company is not found")
    eq(len(list_all(A, "/v1/invoices")), before, "invoices after refused creates")


def test_send_posts_receivable_against_revenue_and_tax():
    ar0, rev0, tax0 = _balance("receivable"), _balance("revenue"), _balance("tax")
    inv = _invoice(lines=[{"name": "Work", "quantity": 2, "unit_amount_cents": 10000, "tax_rate_bps": 2000}])
    sent = expect(A.post("/v1/invoices/%s/send" % inv["id"]), 200)["data"]
    eq(sent["status"], "sent", "status after send")
    ok(sent["sent_at"] and sent["issued_at"], "sent_at and issued_at set")
    je = _get("/v1/accounting/journal-entries/%s" % sent["journal_entry_id"])
    eq((je["status"], je["source"], je["source_id"]), ("posted", "invoice", inv["id"]), "the send's entry")
    eq(je["total_cents"], 24000, "entry total")
    eq(_balance("receivable")["balance_cents"] - ar0["balance_cents"], 24000, "receivable grew by the total")
    eq(_balance("revenue")["balance_cents"] - rev0["balance_cents"], 20000, "revenue grew by the subtotal")
    eq(_balance("tax")["balance_cents"] - tax0["balance_cents"], 4000, "tax payable grew by the tax")
    lines = expect(A.get("/v1/accounting/journal-lines", params={"entry_id": je["id"]}), 200)["data"]
    eq(sorted((l["side"], l["amount_cents"]) for l in lines),
       [("credit", 4000), ("credit", 20000), ("debit", 24000)], "the entry's journal lines")
    # Sent: the lines and currency are frozen, a second send is refused.
    for body, param in [({"line_items": []}, "line_items"), ({"currency": "EUR"}, "currency")]:
        r = expect(A.patch("/v1/invoices/%s" % inv["id"], body), 409)
        eq(r["error"]["param"], param, "editing a sent invoice's %s" % param)
    expect(A.post("/v1/invoices/%s/send" % inv["id"]), 409)
    expect(A.delete("/v1/invoices/%s" % inv["id"]), 409)
    _unchanged("/v1/invoices/%s" % inv["id"], sent)
    # Notes still change.
    expect(A.patch("/v1/invoices/%s" % inv["id"], {"notes": "thanks"}), 200)
    # Nothing to bill: a zero invoice is not sent.
    empty = _invoice(lines=[])
    r = expect(A.post("/v1/invoices/%s/send" % empty["id"]), 422)
    eq(r["error"]["param"], "line_items", "sending an empty invoice names line_items")
    expect(A.post("/v1/invoices/%s/send" % inv["id"], {"x": 1}), 400)


def test_payments_partial_overpay_currency():
    inv = _sent()  # 500,000 as in 004
    cash0 = _balance("cash")["balance_cents"]
    pay = expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 250000}), 201)["data"]
    ok(pay["id"].startswith("pay_"), "payment id prefix")
    eq((pay["amount_cents"], pay["currency"], pay["status"], pay["net_cents"]), (250000, "USD", "succeeded", 250000),
       "payment")
    now = _get("/v1/invoices/%s" % inv["id"])
    eq((now["status"], now["amount_paid_cents"], now["amount_due_cents"]), ("partially_paid", 250000, 250000),
       "invoice after a partial payment")
    eq(_balance("cash")["balance_cents"] - cash0, 250000, "cash grew by the payment")
    # Overpaying is 422 naming amount_cents; another currency is 400.
    r = expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 250001}), 422)
    eq(r["error"]["param"], "amount_cents", "overpaying names amount_cents")
    r = expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 100, "currency": "EUR"}), 400)
    eq(r["error"]["param"], "currency", "another currency names currency")
    for body, param in [({"invoice_id": inv["id"], "amount_cents": 0}, "amount_cents"),
                        ({"invoice_id": inv["id"], "amount_cents": -5}, "amount_cents"),
                        ({"invoice_id": inv["id"], "amount_cents": 10 ** 15 + 1}, "amount_cents"),
                        ({"invoice_id": inv["id"]}, "amount_cents"),
                        ({"amount_cents": 5}, "invoice_id"),
                        ({"invoice_id": inv["id"], "amount_cents": 5, "method": "gold"}, "method"),
                        ({"invoice_id": inv["id"], "amount_cents": 5, "status": "refunded"}, "status")]:
        r = expect(A.post("/v1/payments", body), 400)
        eq(r["error"]["param"], param, "payment %r names" % body)
    r = expect(A.post("/v1/payments", {"invoice_id": "inv_nope", "amount_cents": 5}), 404)
    eq(r["error"]["param"], "invoice_id", "unknown invoice")
    r = expect(B.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 5}), 404)
    eq(r["error"]["param"], "invoice_id", "another workspace's invoice is not found")
    _unchanged("/v1/invoices/%s" % inv["id"], now)
    eq(_balance("cash")["balance_cents"] - cash0, 250000, "cash after refused payments")
    # The rest pays it.
    expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 250000, "method": "bank_transfer"}), 201)
    paid = _get("/v1/invoices/%s" % inv["id"])
    eq((paid["status"], paid["amount_due_cents"]), ("paid", 0), "paid in full")
    ok(paid["paid_at"], "paid_at set")
    r = expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 1}), 422)
    eq(r["error"]["param"], "amount_cents", "paying a paid invoice is an overpayment")
    expect(A.delete("/v1/payments/%s" % pay["id"]), 409)
    r = expect(A.patch("/v1/payments/%s" % pay["id"], {"amount_cents": 5}), 400)
    eq(r["error"]["param"], "amount_cents", "a payment's amount cannot change")
    eq(expect(A.patch("/v1/payments/%s" % pay["id"], {"reference": "wire 42"}), 200)["data"]["reference"],
       "wire 42", "a payment's reference can change")


def test_draft_and_void_invoices_take_no_payment():
    draft = _invoice()
    r = expect(A.post("/v1/payments", {"invoice_id": draft["id"], "amount_cents": 5}), 409)
    eq(r["error"]["param"], "invoice_id", "paying a draft names invoice_id")
    inv = _sent()
    ar0 = _balance("receivable")["balance_cents"]
    voided = expect(A.post("/v1/invoices/%s/void" % inv["id"]), 200)["data"]
    eq((voided["status"], voided["amount_due_cents"]), ("void", 0), "void")
    ok(voided["voided_at"], "voided_at")
    eq(_balance("receivable")["balance_cents"] - ar0, -500000, "the void reversed the receivable")
    sent_je = _get("/v1/accounting/journal-entries/%s" % inv["journal_entry_id"])
    ok(sent_je["reversed_by_id"], "the send's entry is reversed")
    rev = _get("/v1/accounting/journal-entries/%s" % sent_je["reversed_by_id"])
    eq((rev["source"], rev["reversal_of_id"]), ("void", sent_je["id"]), "the void's entry")
    r = expect(A.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 5}), 409)
    eq(r["error"]["param"], "invoice_id", "paying a void invoice names invoice_id")
    expect(A.post("/v1/invoices/%s/void" % inv["id"]), 409)
    expect(A.post("/v1/invoices/%s/send" % inv["id"]), 409)
    _unchanged("/v1/invoices/%s" % inv["id"], voided)
    # Something paid: no void until refunded.
    inv2 = _sent()
    pay = A.create("/v1/payments", {"invoice_id": inv2["id"], "amount_cents": 1000})
    expect(A.post("/v1/invoices/%s/void" % inv2["id"]), 409)
    expect(A.post("/v1/payments/%s/refund" % pay["id"], {"reason": "duplicate"}), 200)
    expect(A.post("/v1/invoices/%s/void" % inv2["id"]), 200)
    # A draft is voided without posting anything, or deleted.
    d2 = _invoice()
    eq(expect(A.post("/v1/invoices/%s/void" % d2["id"]), 200)["data"]["journal_entry_id"], None,
       "a voided draft posted nothing")
    expect(A.delete("/v1/invoices/%s" % _invoice()["id"]), 200)


def test_refunds():
    inv = _sent()
    pay = A.create("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 500000})
    cash0, ar0 = _balance("cash")["balance_cents"], _balance("receivable")["balance_cents"]
    r = expect(A.post("/v1/payments/%s/refund" % pay["id"], {"amount_cents": 500001}), 422)
    eq(r["error"]["param"], "amount_cents", "refunding more than paid")
    for body, param in [({"amount_cents": 0}, "amount_cents"), ({"amount_cents": "5"}, "amount_cents"),
                        ({"why": "x"}, "why")]:
        r = expect(A.post("/v1/payments/%s/refund" % pay["id"], body), 400)
        eq(r["error"]["param"], param, "refund %r" % body)
    expect(B.post("/v1/payments/%s/refund" % pay["id"], {}), 404)
    expect(RO.post("/v1/payments/%s/refund" % pay["id"], {}), 403)
    p = expect(A.post("/v1/payments/%s/refund" % pay["id"], {"amount_cents": 100000, "reason": "goodwill"}),
               200)["data"]
    eq((p["status"], p["refunded_cents"], p["net_cents"]), ("partially_refunded", 100000, 400000), "partial refund")
    now = _get("/v1/invoices/%s" % inv["id"])
    eq((now["status"], now["amount_paid_cents"], now["amount_due_cents"]), ("partially_paid", 400000, 100000),
       "invoice after a refund")
    eq(_balance("cash")["balance_cents"] - cash0, -100000, "cash after the refund")
    eq(_balance("receivable")["balance_cents"] - ar0, 100000, "receivable after the refund")
    p = expect(A.post("/v1/payments/%s/refund" % pay["id"], {}), 200)["data"]
    eq((p["status"], p["net_cents"]), ("refunded", 0), "the rest refunded")
    eq(_get("/v1/invoices/%s" % inv["id"])["status"], "sent", "nothing paid any more")
    expect(A.post("/v1/payments/%s/refund" % pay["id"], {}), 409)


def test_overdue_follows_the_due_date():
    past = _sent(due_date="2020-01-01")
    eq((past["overdue"], past["overdue_at"]), (True, "2020-01-02T00:00:00.000Z"), "past due date: overdue")
    future = _sent(due_date="2999-01-01")
    eq(future["overdue"], False, "future due date")
    draft = _invoice(due_date="2020-01-01")
    eq((draft["overdue"], draft["overdue_at"]), (False, None), "a draft is never overdue")
    listed = ids(list_all(A, "/v1/invoices", params={"overdue": "true"}))
    ok(past["id"] in listed and future["id"] not in listed and draft["id"] not in listed, "?overdue=true")
    A.create("/v1/payments", {"invoice_id": past["id"], "amount_cents": 500000})
    eq(_get("/v1/invoices/%s" % past["id"])["overdue"], False, "paid: not overdue")
    # Moving the due date into the past makes it overdue, with its event.
    expect(A.patch("/v1/invoices/%s" % future["id"], {"due_date": "2021-06-30"}), 200)
    eq(_get("/v1/invoices/%s" % future["id"])["overdue"], True, "due date moved into the past")
    types = [t["type"] for t in list_all(A, "/v1/invoices/%s/timeline" % future["id"])]
    ok("invoice.overdue" in types, "invoice.overdue in the timeline: %s" % types)


def test_scopes_and_modules():
    expect(RO.post("/v1/invoices", {"line_items": []}), 403)
    expect(SUP.get("/v1/invoices"), 403)
    expect(SUP.get("/v1/accounting/trial-balance"), 403)
    expect(RO.get("/v1/invoices"), 200)
    expect(RO.get("/v1/accounting/trial-balance"), 200)
    expect(A.post("/v1/accounting/journal-lines", {}), 405)
    expect(A.delete("/v1/accounting/journal-lines/jl_x"), 405)


# ------------------------------------------------------------ the ledger

def _entry(lines, client=None, **kw):
    body = {"status": "posted", "lines": lines}
    body.update(kw)
    return (client or A).post("/v1/accounting/journal-entries", body)


def test_journal_entry_as_004_shows():
    cash0 = _balance("cash")["balance_cents"]
    je = expect(_entry([{"account_id": CHART["cash"]["id"], "debit_cents": 10000},
                        {"account_code": "1100", "credit_cents": 10000}]), 201)["data"]
    ok(je["id"].startswith("je_"), "entry id prefix")
    eq((je["status"], je["currency"], je["total_cents"], je["source"]), ("posted", "USD", 10000, "manual"), "entry")
    ok(je["posted_at"] and je["entry_date"], "posted_at and entry_date")
    eq(je["lines"][1]["account_id"], CHART["receivable"]["id"], "account_code resolved to its id")
    eq(je["lines"][0]["credit_cents"], 0, "the unused side is 0")
    eq(_balance("cash")["balance_cents"] - cash0, 10000, "cash after the entry")
    listed = expect(A.get("/v1/accounting/journal-entries", params={"status": "posted"}), 200)
    ok(je["id"] in ids(listed["data"]), "listed with ?status=posted")


def test_unbalanced_and_bad_lines_change_nothing():
    eur = A.create("/v1/accounting/accounts", {"code": "1001", "name": "Cash EUR", "type": "asset",
                                               "currency": "EUR"})
    before = _trial()
    n0 = len(list_all(A, "/v1/accounting/journal-entries"))
    cash, ar = CHART["cash"]["id"], CHART["receivable"]["id"]
    r = expect(_entry([{"account_id": cash, "debit_cents": 100}, {"account_id": ar, "credit_cents": 90}]), 422)
    eq(r["error"]["param"], "lines", "unbalanced names lines")
    ok("100" in r["error"]["message"] and "90" in r["error"]["message"], "both sums in the message")
    other = list_all(B, "/v1/accounting/accounts")[0]["id"]
    cases = [
        ([{"account_id": cash, "debit_cents": 100, "credit_cents": 100},
          {"account_id": ar, "credit_cents": 0, "debit_cents": 0}], 400, "lines[0]"),
        ([{"account_id": cash, "debit_cents": 100}], 400, "lines"),
        ([{"account_id": cash}, {"account_id": ar, "credit_cents": 5}], 400, "lines[0]"),
        ([{"debit_cents": 5}, {"account_id": ar, "credit_cents": 5}], 400, "lines[0].account_id"),
        ([{"account_id": other, "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}], 404,
         "lines[0].account_id"),
        ([{"account_id": "acct_nope", "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}], 404,
         "lines[0].account_id"),
        ([{"account_code": "9999", "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}], 404,
         "lines[0].account_code"),
        ([{"account_id": cash, "account_code": "1100", "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}],
         400, "lines[0].account_code"),
        ([{"account_id": cash, "debit_cents": -5}, {"account_id": ar, "credit_cents": -5}], 400,
         "lines[0].debit_cents"),
        ([{"account_id": cash, "debit_cents": 10 ** 15 + 1}, {"account_id": ar, "credit_cents": 10 ** 15 + 1}],
         400, "lines[0].debit_cents"),
        ([{"account_id": cash, "debit_cents": 10 ** 15}, {"account_id": cash, "debit_cents": 10 ** 15},
          {"account_id": ar, "credit_cents": 10 ** 15}, {"account_id": ar, "credit_cents": 10 ** 15}],
         400, "lines"),
        ([{"account_id": cash, "debit_cents": 1.5}, {"account_id": ar, "credit_cents": 1.5}], 400,
         "lines[0].debit_cents"),
        ([{"account_id": cash, "debit_cents": 5, "memo": "x"}, {"account_id": ar, "credit_cents": 5}], 400,
         "lines[0].memo"),
        ("nope", 400, "lines"),
    ]
    for lines, status, param in cases:
        r = expect(_entry(lines), status)
        eq(r["error"]["param"], param, "lines %r name" % (lines,))
    r = expect(A.post("/v1/accounting/journal-entries", {"status": "posted"}), 400)
    eq(r["error"]["param"], "lines", "no lines")
    r = expect(_entry([{"account_id": eur["id"], "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}]), 400)
    eq(r["error"]["param"], "lines[1].account_id", "mixing currencies names the odd line")
    r = expect(_entry([{"account_id": cash, "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}],
                      currency="EUR"), 400)
    eq(r["error"]["param"], "currency", "lines outside the entry's stated currency name it")
    eq(len(list_all(A, "/v1/accounting/journal-entries")), n0, "entries after refused writes")
    eq(_trial(), before, "trial balance after refused writes")


def test_posted_entries_never_change_and_reverse_once():
    cash, ar = CHART["cash"]["id"], CHART["receivable"]["id"]
    je = expect(_entry([{"account_id": cash, "debit_cents": 700}, {"account_id": ar, "credit_cents": 700}],
                       reference="adj-1", memo="adjustment"), 201)["data"]
    for body in [{"memo": "changed"}, {"status": "draft"},
                 {"lines": [{"account_id": cash, "debit_cents": 1}, {"account_id": ar, "credit_cents": 1}]}]:
        expect(A.patch("/v1/accounting/journal-entries/%s" % je["id"], body), 409)
    expect(A.delete("/v1/accounting/journal-entries/%s" % je["id"]), 409)
    _unchanged("/v1/accounting/journal-entries/%s" % je["id"], je)
    r = expect(_entry([{"account_id": cash, "debit_cents": 1}, {"account_id": ar, "credit_cents": 1}],
                      reference="adj-1"), 409)
    eq(r["error"]["param"], "reference", "a taken reference")
    cash0 = _balance("cash")["balance_cents"]
    rev = expect(A.post("/v1/accounting/journal-entries/%s/reverse" % je["id"], {"memo": "oops"}), 201)["data"]
    eq((rev["reversal_of_id"], rev["memo"], rev["source"]), (je["id"], "oops", "reversal"), "the reversal")
    eq(rev["lines"][0]["credit_cents"], 700, "mirrored lines")
    eq(_get("/v1/accounting/journal-entries/%s" % je["id"])["reversed_by_id"], rev["id"], "linked both ways")
    eq(_balance("cash")["balance_cents"] - cash0, -700, "reversal undid the cash")
    r = expect(A.post("/v1/accounting/journal-entries/%s/reverse" % je["id"]), 409)
    ok(rev["id"] in r["error"]["message"], "second reversal names the first")
    expect(B.post("/v1/accounting/journal-entries/%s/reverse" % je["id"]), 404)
    r = expect(A.post("/v1/accounting/journal-entries/%s/reverse" % je["id"], {"entry_date": "tomorrow"}), 400)
    eq(r["error"]["param"], "entry_date", "a bad entry_date")


def test_drafts_change_then_post():
    cash, ar = CHART["cash"]["id"], CHART["receivable"]["id"]
    cash0 = _balance("cash")["balance_cents"]
    d = A.create("/v1/accounting/journal-entries",
                 {"lines": [{"account_id": cash, "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}]})
    eq((d["status"], d["posted_at"]), ("draft", None), "a draft by default")
    eq(_balance("cash")["balance_cents"], cash0, "a draft posts nothing")
    expect(A.post("/v1/accounting/journal-entries/%s/reverse" % d["id"]), 409)
    d = expect(A.patch("/v1/accounting/journal-entries/%s" % d["id"],
                       {"lines": [{"account_id": cash, "debit_cents": 8}, {"account_id": ar, "credit_cents": 8}]}),
               200)["data"]
    eq(d["total_cents"], 8, "a draft's lines change")
    r = expect(A.patch("/v1/accounting/journal-entries/%s" % d["id"],
                       {"lines": [{"account_id": cash, "debit_cents": 8}, {"account_id": ar, "credit_cents": 7}]}), 422)
    eq(r["error"]["param"], "lines", "an unbalanced update")
    p = expect(A.patch("/v1/accounting/journal-entries/%s" % d["id"], {"status": "posted"}), 200)["data"]
    ok(p["posted_at"], "posted")
    eq(_balance("cash")["balance_cents"] - cash0, 8, "posting the draft moved cash")
    d2 = A.create("/v1/accounting/journal-entries",
                  {"lines": [{"account_id": cash, "debit_cents": 5}, {"account_id": ar, "credit_cents": 5}]})
    expect(A.delete("/v1/accounting/journal-entries/%s" % d2["id"]), 200)


def test_accounts_crud_archive_not_delete():
    acct = expect(A.post("/v1/accounting/accounts", {"code": "4000-S", "name": "Services revenue",
                                                      "type": "revenue"}), 201)["data"]
    eq((acct["normal_side"], acct["currency"], acct["status"], acct["role"]), ("credit", "USD", "active", None),
       "a new account")
    r = expect(A.post("/v1/accounting/accounts", {"code": "4000-S", "name": "Again", "type": "revenue"}), 409)
    eq(r["error"]["param"], "code", "a taken code")
    for body, param in [({"name": "x", "type": "revenue"}, "code"), ({"code": "x1", "type": "revenue"}, "name"),
                        ({"code": "x2", "name": "x"}, "type"), ({"code": "x3", "name": "x", "type": "income"}, "type"),
                        ({"code": "x4", "name": "x", "type": "asset", "normal_side": "credit"}, "normal_side"),
                        ({"code": "x5", "name": "x", "type": "asset", "parent_id": "acct_nope"}, "parent_id")]:
        r = A.post("/v1/accounting/accounts", body)
        ok(r.status in (400, 404), "account %r: %d" % (body, r.status))
        eq(r.json["error"]["param"], param, "account %r names" % body)
    r = expect(A.patch("/v1/accounting/accounts/%s" % acct["id"], {"parent_id": acct["id"]}), 400)
    eq(r["error"]["param"], "parent_id", "an account is not its own parent")
    child = A.create("/v1/accounting/accounts", {"code": "4010", "name": "Consulting", "type": "revenue",
                                                 "parent_id": acct["id"]})
    r = expect(A.patch("/v1/accounting/accounts/%s" % acct["id"], {"parent_id": child["id"]}), 400)
    eq(r["error"]["param"], "parent_id", "no cycles")
    r = expect(A.patch("/v1/accounting/accounts/%s" % acct["id"], {"type": "asset"}), 400)
    eq(r["error"]["param"], "type", "the type is set on create")
    found = expect(A.get("/v1/accounting/accounts", params={"type": "revenue", "query": "services"}), 200)
    ok(acct["id"] in ids(found["data"]), "?type=&query= finds it")
    # With postings: archived, not deleted; an archived account takes no manual postings.
    expect(_entry([{"account_id": CHART["cash"]["id"], "debit_cents": 3}, {"account_id": acct["id"], "credit_cents": 3}]),
           201)
    expect(A.delete("/v1/accounting/accounts/%s" % acct["id"]), 409)
    expect(A.patch("/v1/accounting/accounts/%s" % acct["id"], {"status": "archived"}), 200)
    r = expect(_entry([{"account_id": CHART["cash"]["id"], "debit_cents": 3},
                       {"account_id": acct["id"], "credit_cents": 3}]), 409)
    eq(r["error"]["param"], "lines[1].account_id", "an archived account names its line")
    empty = A.create("/v1/accounting/accounts", {"code": "9990", "name": "Unused", "type": "expense"})
    expect(A.delete("/v1/accounting/accounts/%s" % empty["id"]), 200)
    expect(B.get("/v1/accounting/accounts/%s/balance" % acct["id"]), 404)


def test_balances_as_of():
    a = A.create("/v1/accounting/accounts", {"code": "1500", "name": "Equipment", "type": "asset"})
    l = A.create("/v1/accounting/accounts", {"code": "2500", "name": "Loan", "type": "liability"})
    for day, amt in [("2025-01-10", 100), ("2025-02-10", 200), ("2025-03-10", 400)]:
        expect(_entry([{"account_id": a["id"], "debit_cents": amt}, {"account_id": l["id"], "credit_cents": amt}],
                      entry_date=day), 201)
    bal = expect(A.get("/v1/accounting/accounts/%s/balance" % a["id"], params={"as_of": "2025-02-10"}), 200)["data"]
    eq((bal["debit_cents"], bal["credit_cents"], bal["balance_cents"], bal["line_count"]), (300, 0, 300, 2),
       "equipment as of 2025-02-10")
    eq(bal["as_of"], "2025-02-10", "as_of echoed")
    bal = _get("/v1/accounting/accounts/%s/balance" % l["id"])
    eq((bal["credit_cents"], bal["balance_cents"], bal["normal_side"]), (700, 700, "credit"), "loan, every day")
    tb = _trial(as_of="2025-01-31")
    row = [x for x in tb["accounts"] if x["account_id"] == a["id"]][0]
    eq(row["balance_cents"], 100, "equipment in the trial balance as of January")
    for params, param in [({"as_of": "2025-13-01"}, "as_of"), ({"as_of": "x"}, "as_of"), ({"foo": "1"}, "foo")]:
        r = expect(A.get("/v1/accounting/accounts/%s/balance" % a["id"], params=params), 400)
        eq(r["error"]["param"], param, "balance %r" % params)
    r = expect(A.get("/v1/accounting/trial-balance", params={"currency": "usd"}), 400)
    eq(r["error"]["param"], "currency", "trial balance currency")
    lines = list_all(A, "/v1/accounting/journal-lines", params={"account_id": a["id"]})
    eq(sorted(x["amount_cents"] for x in lines), [100, 200, 400], "the account's statement")


def _check_books(client, invoices):
    tb = _trial(client)
    ok(tb["balanced"], "trial balance balanced: %s" % tb["totals"])
    for t in tb["totals"]:
        eq(t["debit_cents"], t["credit_cents"], "%s debits = credits" % t["currency"])
    # Every sent invoice's amount due is what its receivable holds: the
    # receivable lines carrying its entries' source ids.
    due = 0
    for inv_id in invoices:
        inv = _get("/v1/invoices/%s" % inv_id, client)
        if inv["status"] not in ("draft", "void"):
            due += inv["amount_due_cents"]
    return tb, due


def test_trial_balance_property():
    """A randomized sequence on a fresh workspace: the books balance after
    every step, and the receivable equals what the invoices have due."""
    rng = random.Random(20261206)
    invoices, payments = [], []
    chart = {a["role"]: a for a in list_all(C, "/v1/accounting/accounts") if a["role"]}
    for step in range(60):
        op = rng.choice(["invoice", "invoice", "send", "pay", "pay", "refund", "void", "reverse", "manual"])
        if op == "invoice" or not invoices:
            lines = [{"name": "l%d" % i, "quantity": rng.randint(1, 5), "unit_amount_cents": rng.randint(1, 99999),
                      "tax_rate_bps": rng.choice([0, 500, 750, 2000])} for i in range(rng.randint(1, 4))]
            invoices.append(C.create("/v1/invoices", {"line_items": lines})["id"])
        elif op == "send":
            C.post("/v1/invoices/%s/send" % rng.choice(invoices))
        elif op == "pay":
            inv = _get("/v1/invoices/%s" % rng.choice(invoices), C)
            if inv["amount_due_cents"] > 0 and inv["status"] in ("sent", "partially_paid"):
                amt = rng.randint(1, inv["amount_due_cents"])
                payments.append(expect(C.post("/v1/payments", {"invoice_id": inv["id"], "amount_cents": amt}),
                                       201)["data"]["id"])
        elif op == "refund" and payments:
            p = _get("/v1/payments/%s" % rng.choice(payments), C)
            if p["net_cents"] > 0:
                expect(C.post("/v1/payments/%s/refund" % p["id"], {"amount_cents": rng.randint(1, p["net_cents"])}),
                       200)
        elif op == "void":
            C.post("/v1/invoices/%s/void" % rng.choice(invoices))
        elif op == "reverse":
            jes = list_all(C, "/v1/accounting/journal-entries", params={"source": "manual", "status": "posted"})
            if jes:
                C.post("/v1/accounting/journal-entries/%s/reverse" % rng.choice(jes)["id"])
        elif op == "manual":
            amt = rng.randint(1, 10 ** 6)
            expect(C.post("/v1/accounting/journal-entries", {"status": "posted", "lines": [
                {"account_id": chart["cash"]["id"], "debit_cents": amt},
                {"account_id": chart["refunds"]["id"], "credit_cents": amt}]}), 201)
        if step % 10 == 9 or step == 59:
            tb, due = _check_books(C, invoices)
            ar = [a for a in tb["accounts"] if a["account_id"] == chart["receivable"]["id"]][0]
            eq(ar["balance_cents"], due, "receivable = what sent invoices have due (step %d)" % step)


def test_dashboard_revenue():
    def usd():
        d = expect(A.get("/v1/dashboard"), 200)["data"]
        rows = [r for r in d["revenue"] if r["currency"] == "USD"]
        return rows[0] if rows else {"invoiced_cents": 0, "paid_cents": 0, "outstanding_cents": 0}
    before = usd()
    eq(before["outstanding_cents"], before["invoiced_cents"] - before["paid_cents"], "outstanding")
    inv = _sent(lines=[{"name": "x", "unit_amount_cents": 1234}])
    A.create("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 1000})
    after = usd()
    eq(after["invoiced_cents"] - before["invoiced_cents"], 1234, "invoiced grew by the total")
    eq(after["paid_cents"] - before["paid_cents"], 1000, "paid grew by the payment")
    eq(after["outstanding_cents"] - before["outstanding_cents"], 234, "outstanding grew by the rest")
    _invoice()  # a draft bills nothing
    eq(usd(), after, "a draft changes no revenue")
    expect(SUP.get("/v1/dashboard"), 403)


def test_workspace_currency():
    d = expect(E.get("/v1/workspace"), 200)["data"]
    eq(d["currency"], "USD", "a workspace's currency is USD unless set")
    for bad in ("eur", "EURO", 5, None):
        r = expect(E.patch("/v1/workspace", {"currency": bad}), 400)
        eq(r["error"]["param"], "currency", "currency %r" % (bad,))
    expect(E.patch("/v1/workspace", {}), 400)
    eq(expect(E.get("/v1/workspace"), 200)["data"]["currency"], "USD", "unchanged after refused writes")
    d = expect(E.patch("/v1/workspace", {"currency": "EUR"}), 200)["data"]
    eq(d["currency"], "EUR", "currency set")
    eq(len(d["enabled_modules"]), len(expect(A.get("/v1/workspace"), 200)["data"]["enabled_modules"]),
       "modules untouched by a currency change")
    inv = E.create("/v1/invoices", {"line_items": [{"name": "x", "unit_amount_cents": 1000, "tax_rate_bps": 1000}]})
    eq(inv["currency"], "EUR", "an invoice defaults to the workspace's currency")
    eq(E.create("/v1/accounting/accounts", {"code": "7000", "name": "Travel", "type": "expense"})["currency"],
       "EUR", "an account too")
    expect(E.post("/v1/invoices/%s/send" % inv["id"]), 200)
    E.create("/v1/payments", {"invoice_id": inv["id"], "amount_cents": 600})
    eur = [a for a in list_all(E, "/v1/accounting/accounts", params={"currency": "EUR"}) if a["role"]]
    eq(sorted(a["role"] for a in eur), ["cash", "receivable", "revenue", "tax"],
       "the chart's accounts in EUR, made by the first postings")
    tb = _trial(E, currency="EUR")
    eq(tb["totals"], [{"currency": "EUR", "debit_cents": 1100 + 600, "credit_cents": 1100 + 600,
                       "balanced": True}], "the EUR books")
    ar = [a for a in tb["accounts"] if a["account_id"] == [x for x in eur if x["role"] == "receivable"][0]["id"]][0]
    eq(ar["balance_cents"], 500, "EUR receivable = the invoice's amount due")
    expect(E.patch("/v1/workspace", {"currency": "USD"}), 200)


def test_reversal_follows_a_renamed_account():
    x = A.create("/v1/accounting/accounts", {"code": "3000", "name": "Owner equity", "type": "equity"})
    je = expect(_entry([{"account_code": "1000", "debit_cents": 40}, {"account_code": "3000", "credit_cents": 40}]),
                201)["data"]
    expect(A.patch("/v1/accounting/accounts/%s" % x["id"], {"code": "3001"}), 200)
    rev = expect(A.post("/v1/accounting/journal-entries/%s/reverse" % je["id"]), 201)["data"]
    eq(rev["lines"][1]["account_code"], "3001", "the reversal names the account's code of now")
    eq(_get("/v1/accounting/accounts/%s/balance" % x["id"])["balance_cents"], 0, "equity back to 0")
