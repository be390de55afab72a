"""A small SMTP server for Cairn's email tests: the far end the mail
worker talks to, on 127.0.0.1 only, standard library only.

Speaks what libcurl's SMTP client uses: EHLO/HELO, AUTH PLAIN and AUTH
LOGIN (accepted credentials configurable; wrong ones answer 535), MAIL
FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT. No TLS: STARTTLS is
not offered (the tests use tls "none"). Scripted failures: fail(cmd, code,
times) makes the next `times` RCPT or DATA (end of data) commands answer
`code` (e.g. 451 temporary, 550 permanent). Records every message it
accepted (Message: envelope, the login used, the raw data and the parsed
email.message) for the tests to check. stop() closes the listener and
every session; a session idle for 30 s is closed by the sink itself, so
nothing outlives a test.
"""

import base64
import email
import email.policy
import socket
import socketserver
import threading

IDLE_SECONDS = 30


class Message:
    def __init__(self, mail_from, rcpt_to, data, auth):
        self.mail_from = mail_from
        self.rcpt_to = rcpt_to
        self.data = data  # bytes, dot-unstuffed, CRLF line ends, without the final dot
        self.auth = auth  # (mechanism, user, password) or None
        self.msg = email.message_from_bytes(data, policy=email.policy.default)

    def header(self, name):
        return self.msg[name]

    def parts(self):
        """(content type, decoded text) of each leaf part, LF line ends, without
        the line end that closes the part."""
        out = []
        for p in self.msg.walk():
            if p.is_multipart():
                continue
            text = p.get_content().replace("\r\n", "\n")
            out.append((p.get_content_type(), text[:-1] if text.endswith("\n") else text))
        return out

    def body(self, ctype):
        for t, text in self.parts():
            if t == ctype:
                return text
        return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Sink:
    def __init__(self, users=None, port=0):
        self.users = dict(users or {})  # user -> password accepted by AUTH
        self.messages = []
        self.sessions = 0
        self.auth_attempts = []  # (mechanism, user, ok)
        self._failures = {"RCPT": [], "DATA": []}
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._conns = set()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                sink._session(self)

        self._srv = _Server(("127.0.0.1", port), Handler)
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    # -- control from tests
    def fail(self, cmd, code, times=1, text=None):
        """The next `times` commands `cmd` ("RCPT" or "DATA") answer `code`."""
        text = text or {4: "4.3.0 Try again later", 5: "5.1.1 Mailbox unavailable"}[code // 100]
        with self._lock:
            self._failures[cmd] += [(code, text)] * times

    def wait_messages(self, n, timeout):
        """The messages once at least n arrived, or None after timeout seconds."""
        with self._cv:
            self._cv.wait_for(lambda: len(self.messages) >= n, timeout)
            return list(self.messages) if len(self.messages) >= n else None

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- one SMTP session
    def _next_failure(self, cmd):
        with self._lock:
            return self._failures[cmd].pop(0) if self._failures[cmd] else None

    def _session(self, h):
        sock = h.connection
        sock.settimeout(IDLE_SECONDS)
        with self._lock:
            self._conns.add(sock)
            self.sessions += 1
        try:
            self._converse(h)
        except (OSError, ValueError, UnicodeDecodeError):
            pass
        finally:
            with self._lock:
                self._conns.discard(sock)

    def _converse(self, h):
        def send(line):
            h.wfile.write(line.encode() + b"\r\n")
            h.wfile.flush()

        def readline():
            line = h.rfile.readline(65536)
            if not line:
                raise ValueError("closed")
            return line.rstrip(b"\r\n").decode("utf-8", "replace")

        send("220 sink.test ESMTP ready")
        mail_from, rcpts, auth = None, [], None
        while True:
            line = readline()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                send("250-sink.test hello " + arg)
                send("250-AUTH PLAIN LOGIN")
                send("250-8BITMIME")
                send("250 SIZE 10485760")
            elif verb == "HELO":
                send("250 sink.test")
            elif verb == "AUTH":
                auth = self._auth(arg, send, readline) or auth
            elif verb == "MAIL":
                mail_from, rcpts = arg.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                send("250 2.1.0 Ok")
            elif verb == "RCPT":
                f = self._next_failure("RCPT")
                if f:
                    send("%d %s" % f)
                    continue
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    send("503 5.5.1 No recipients")
                    continue
                send("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    raw = h.rfile.readline(1 << 20)
                    if not raw:
                        raise ValueError("closed in DATA")
                    if raw in (b".\r\n", b".\n"):
                        break
                    if raw.startswith(b"."):
                        raw = raw[1:]
                    lines.append(raw)
                f = self._next_failure("DATA")
                if f:
                    send("%d %s" % f)
                    continue
                with self._cv:
                    self.messages.append(Message(mail_from, list(rcpts), b"".join(lines), auth))
                    n = len(self.messages)
                    self._cv.notify_all()
                send("250 2.0.0 Ok: queued as SINK%d" % n)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                send("250 2.0.0 Ok")
            elif verb == "NOOP":
                send("250 2.0.0 Ok")
            elif verb == "QUIT":
                send("221 2.0.0 Bye")
                return
            else:
                send("502 5.5.2 Command not recognized")

    def _auth(self, arg, send, readline):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        try:
            if mech == "PLAIN":
                if not initial:
                    send("334 ")
                    initial = readline()
                _, user, pw = base64.b64decode(initial).decode().split("\0")
            elif mech == "LOGIN":
                if initial:
                    user = base64.b64decode(initial).decode()
                else:
                    send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(readline()).decode()
                send("334 UGFzc3dvcmQ6")
                pw = base64.b64decode(readline()).decode()
            else:
                send("504 5.5.4 Unrecognized authentication type")
                return None
        except (ValueError, UnicodeDecodeError):
            send("501 5.5.2 Cannot decode response")
            return None
        ok = user in self.users and self.users[user] == pw
        with self._lock:
            self.auth_attempts.append((mech, user, ok))
        if not ok:
            send("535 5.7.8 Authentication credentials invalid")
            return None
        send("235 2.7.0 Authentication successful")
        return (mech, user, pw)
