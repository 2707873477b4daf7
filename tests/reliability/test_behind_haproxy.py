"""Two instances behind a real haproxy (Debian's; `make haproxy` installs it), set
up as the README's "Running behind a reverse proxy" says: with
LUMYX_TRUSTED_PROXIES=1 each visitor's log-in limit counts the visitor's own
address, not the proxy's, and a visitor cannot pick another address by sending
X-Forwarded-For itself. The visitors are clients bound to 127.0.0.2 and 127.0.0.3.
haproxy missing is a failure, not a skip."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from html import unescape

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.support.servers import LiveServer, free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"

HAPROXY_CONFIG = """
global
    maxconn 256

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 60s

frontend lumyx
    bind 127.0.0.1:{port}
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend lumyx

backend lumyx
    balance roundrobin
    server one 127.0.0.1:{one}
    server two 127.0.0.1:{two}
"""


class FromAddress(HTTPAdapter):
    """Connections from one local source address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def visitor(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture(scope="module")
def behind_haproxy(app, server_env, tmp_path_factory):
    """haproxy's address, in front of two gunicorn instances that trust one proxy."""
    if not shutil.which("haproxy") and not shutil.which(HAPROXY):
        pytest.fail("haproxy is missing: run `make haproxy`")
    env = {**server_env, "LUMYX_TRUSTED_PROXIES": "1", "LUMYX_ALLOWED_HOSTS": "llm.example.com"}
    logs = tmp_path_factory.mktemp("haproxy")
    instances = [LiveServer(env, logs / f"gunicorn-{n}.log", workers=1) for n in (1, 2)]
    port = free_port()
    config = logs / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, one=instances[0].port, two=instances[1].port))
    proxy = subprocess.Popen([HAPROXY, "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proxy.poll() is not None:
                raise RuntimeError("haproxy exited: " + proxy.stderr.read().decode(errors="replace"))
            try:
                if requests.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy did not answer in 15 s")
            time.sleep(0.1)
        yield url
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        for instance in instances:
            instance.stop()


def log_in(session: requests.Session, url: str, email: str, password: str, **headers) -> requests.Response:
    form = session.get(url + "/login", timeout=10)
    token = CSRF_RE.search(form.text).group(1)
    return session.post(
        url + "/login",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )


def test_each_visitor_behind_haproxy_has_a_log_in_limit_of_their_own(behind_haproxy, account):
    url = behind_haproxy
    attacker, owner = visitor("127.0.0.2"), visitor("127.0.0.3")
    statuses = [
        log_in(attacker, url, f"guess-{uuid.uuid4().hex[:8]}@example.com", "wrong password").status_code
        for _ in range(11)
    ]
    assert statuses == [400] * 10 + [429], "ten tries a minute from one address, across both instances"
    refused = log_in(attacker, url, account[1], PASSWORD)
    assert refused.status_code == 429 and "try again in" in refused.text
    # The attacker naming another address is not believed: haproxy appends the one it saw.
    spoofed = log_in(attacker, url, account[1], PASSWORD, **{"X-Forwarded-For": "127.0.0.3"})
    assert spoofed.status_code == 429
    # Everyone else behind the same proxy still logs in.
    response = log_in(owner, url, account[1], PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/usage"


def test_links_behind_haproxy_name_the_host_and_scheme_it_was_reached_at(behind_haproxy):
    page = visitor("127.0.0.3").get(behind_haproxy + "/docs/getting-started", headers={"Host": "llm.example.com"})
    assert page.status_code == 200
    assert "curl http://llm.example.com/v1/chat/completions" in unescape(page.text)
    forged = visitor("127.0.0.3").get(behind_haproxy + "/docs/getting-started", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and "evil.example" not in forged.text


def test_with_no_proxy_trusted_a_clients_forwarded_headers_change_no_link(live):
    """LUMYX_TRUSTED_PROXIES at 0: neither gunicorn nor the app believes X-Forwarded-*,
    even on a connection from 127.0.0.1 (where a proxy on the same machine would be)."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "192.0.2.9"}
    page = requests.get(live.url + "/docs/getting-started", headers=headers, timeout=10)
    assert page.status_code == 200
    assert f"curl {live.url}/v1/chat/completions" in unescape(page.text)
