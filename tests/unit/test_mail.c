/* test_mail.c - src/events/mail: template variables, header safety and
 * the RFC 5322 message (encoded words, quoted-printable, multipart). */
#include <jansson.h>
#include <string.h>

#include "core/buf.h"
#include "events/mail.h"
#include "test.h"

static const char *render(const char *tmpl, const char *vars, bool html, char *missing)
{
    static char out[512];
    json_t *v = json_loads(vars, 0, NULL);
    buf b;
    buf_init(&b, 4096);
    int rc = mail_render(tmpl, v, html, &b, missing, 64);
    snprintf(out, sizeof out, "%s", rc ? "(missing)" : buf_cstr(&b));
    buf_free(&b);
    json_decref(v);
    return out;
}

TEST(mail_render_replaces_escapes_and_refuses_unknown_names)
{
    static const struct {
        const char *tmpl, *vars;
        bool html;
        const char *want, *missing;
    } cases[] = {
        {"Hi {{name}}!", "{\"name\": \"Ada\"}", false, "Hi Ada!", ""},
        {"{{ name }} {{n}} {{b}} {{x}}", "{\"name\": \"A\", \"n\": 3, \"b\": true, \"x\": 1.5}",
         false, "A 3 true 1.5", ""},
        {"<p>{{v}}</p>", "{\"v\": \"<a href='x'>&\\\"</a>\"}", true,
         "<p>&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;</p>", ""},
        {"<p>{{v}}</p>", "{\"v\": \"<b>\"}", false, "<p><b></p>", ""},
        {"{{not a name}} {{}} {{ {{a}}", "{\"a\": \"A\"}", false, "{{not a name}} {{}} {{ A", ""},
        {"open {{a", "{\"a\": \"A\"}", false, "open {{a", ""},
        {"{{a}}{{b}}", "{\"a\": \"A\"}", false, "(missing)", "b"},
        {"{{a}}", "{\"a\": null}", false, "(missing)", "a"},
        {"no placeholders", "{}", false, "no placeholders", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char missing[64] = "";
        CHECK_STR(render(cases[i].tmpl, cases[i].vars, cases[i].html, missing), cases[i].want);
        CHECK_STR(missing, cases[i].missing);
    }
}

TEST(mail_header_safe_refuses_line_breaks)
{
    CHECK(mail_header_safe("Hello\tthere, Zoë"));
    CHECK(mail_header_safe(""));
    CHECK(!mail_header_safe("Hi\r\nBcc: x@y.test"));
    CHECK(!mail_header_safe("Hi\nX: y"));
    CHECK(!mail_header_safe("Hi\rX"));
    CHECK(!mail_header_safe("del\x7f"));
}

static const char *build(const mail_message *m)
{
    static char out[8192];
    buf b;
    buf_init(&b, sizeof out - 1);
    CHECK(mail_build(m, &b));
    snprintf(out, sizeof out, "%s", buf_cstr(&b));
    buf_free(&b);
    return out;
}

TEST(mail_build_plain_ascii)
{
    mail_message m = {.from_address = "a@x.test",
                      .from_name = "Sales \"Team\"",
                      .to = "b@y.test",
                      .subject = "Hello",
                      .text = "Line one\nLine two\r\n.dot first\n",
                      .message_id = "<em_1@x.test>",
                      .date_ms = 0};
    CHECK_STR(build(&m), "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
                         "From: \"Sales \\\"Team\\\"\" <a@x.test>\r\n"
                         "To: <b@y.test>\r\n"
                         "Subject: Hello\r\n"
                         "Message-ID: <em_1@x.test>\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n"
                         "\r\n"
                         "Line one\r\nLine two\r\n=2Edot first\r\n\r\n");
}

TEST(mail_build_encodes_utf8_and_long_lines)
{
    char text[200];
    memset(text, 'a', 100);
    strcpy(text + 100, "= é \n");
    mail_message m = {.from_address = "a@x.test",
                      .from_name = "Zoë",
                      .to = "b@y.test",
                      .subject = "Ünïcödé",
                      .text = text,
                      .message_id = "<m@x>",
                      .date_ms = 1700000000000};
    const char *s = build(&m);
    CHECK(strstr(s, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n") != NULL);
    CHECK(strstr(s, "From: =?UTF-8?B?Wm/Dqw==?= <a@x.test>\r\n") != NULL);
    CHECK(strstr(s, "Subject: =?UTF-8?B?w5xuw69jw7Zkw6k=?=\r\n") != NULL);
    /* A soft break after 75 characters, '=' and é encoded, the trailing
     * space before the line end encoded. */
    const char *body = strstr(s, "\r\n\r\n") + 4;
    char want[300];
    memset(want, 'a', 75);
    snprintf(want + 75, sizeof want - 75, "=\r\n%.25s=3D =C3=A9=20\r\n\r\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK_STR(body, want);
}

TEST(mail_build_long_utf8_subject_folds_words_without_splitting_characters)
{
    char subject[400] = "";
    for (int i = 0; i < 60; i++)
        strcat(subject, "é");
    mail_message m = {.from_address = "a@x.test",
                      .to = "b@y.test",
                      .subject = subject,
                      .html = "<p>x</p>",
                      .message_id = "<m@x>"};
    const char *s = build(&m);
    const char *subj = strstr(s, "Subject: ");
    CHECK(subj != NULL);
    /* 120 bytes: words of 44, 44 and 32 bytes (45 would split an é). */
    CHECK(strstr(subj, "?=\r\n =?UTF-8?B?") != NULL);
    const char *end = strstr(subj, "\r\nMessage-ID");
    int words = 0;
    for (const char *p = subj; p && p < end; p = strstr(p + 1, "=?UTF-8?B?"))
        words += p != subj;
    CHECK_EQ_INT(words, 3);
    CHECK(strstr(s, "From: <a@x.test>\r\n") != NULL);
    CHECK(strstr(s, "Content-Type: text/html; charset=UTF-8\r\n") != NULL);
}

TEST(mail_build_multipart_alternative)
{
    mail_message m = {.from_address = "a@x.test",
                      .to = "b@y.test",
                      .subject = "Both",
                      .text = "plain",
                      .html = "<b>html</b>",
                      .message_id = "<m@x>"};
    const char *s = build(&m);
    const char *ct = strstr(s, "Content-Type: multipart/alternative; boundary=\"");
    if (!CHECK(ct != NULL)) return;
    char boundary[64];
    const char *b = ct + strlen("Content-Type: multipart/alternative; boundary=\"");
    size_t n = (size_t)(strchr(b, '"') - b);
    snprintf(boundary, sizeof boundary, "%.*s", (int)n, b);
    CHECK(strncmp(boundary, "=_cairn_", 8) == 0);
    char part[128];
    snprintf(part, sizeof part, "\r\n--%s\r\nContent-Type: text/plain", boundary);
    const char *p1 = strstr(s, part);
    snprintf(part, sizeof part, "\r\n--%s\r\nContent-Type: text/html", boundary);
    const char *p2 = strstr(s, part);
    snprintf(part, sizeof part, "\r\n--%s--\r\n", boundary);
    const char *close = strstr(s, part);
    CHECK(p1 && p2 && close && p1 < p2 && p2 < close);
    CHECK(strstr(s, "\r\n\r\nplain\r\n--") != NULL);
    CHECK(strstr(s, "\r\n\r\n<b>html</b>\r\n--") != NULL);
}
