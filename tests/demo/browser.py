"""Headless Chromium driven over the DevTools protocol (websockets, already installed with
uvicorn), for the one browser test. `chromium()` is None when no Chromium is installed.

A tiny single-page app (`APP_PAGE`) logs in as a single-page app's Auth0 SDK does:
authorization code with PKCE (S256, WebCrypto), the code exchanged by `fetch` from the
app's origin, then a call to the API with the access token."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aai_cli.localauth0.serving import QuietHandler

APP_PAGE = """<!doctype html><html><head><title>app</title></head><body><script>
const AUTH0 = %(auth0)s, CLIENT = %(client)s, API = %(api)s, HERE = location.origin + "/";
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
async function main() {
  const params = new URLSearchParams(location.search);
  if (!params.get("code")) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    sessionStorage.setItem("verifier", verifier);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    location.assign(AUTH0 + "/authorize?" + new URLSearchParams({
      client_id: CLIENT, redirect_uri: HERE, response_type: "code", state: "xyz",
      scope: "openid profile email offline_access", code_challenge: b64url(digest),
      code_challenge_method: "S256"}));
    return;
  }
  const tokens = await (await fetch(AUTH0 + "/oauth/token", {method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams({grant_type: "authorization_code", client_id: CLIENT,
      code: params.get("code"), code_verifier: sessionStorage.getItem("verifier"),
      redirect_uri: HERE})})).json();
  const profile = await fetch(API + "/me/profile",
    {headers: {Authorization: "Bearer " + tokens.access_token}});
  document.body.dataset.result = JSON.stringify(
    {state: params.get("state"), status: profile.status, profile: await profile.json()});
  document.title = "done";
}
main().catch((e) => { document.title = "failed: " + e; });
</script></body></html>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def serve_app(port: int, *, auth0: str, client_id: str, api: str) -> Iterator[str]:
    """The app page on http://localhost:<port>/ (any path, any query)."""
    page = APP_PAGE % {
        "auth0": json.dumps(auth0),
        "client": json.dumps(client_id),
        "api": json.dumps(api),
    }

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_body(200, page.encode(), "text/html; charset=utf-8")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://localhost:{port}/"
        finally:
            server.shutdown()


class Page:
    """One tab, driven by `Runtime.evaluate`."""

    def __init__(self, socket: Any, session: str) -> None:
        self.socket = socket
        self.session = session
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        message = {"id": number, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            answer = json.loads(self.socket.recv(timeout=30))
            if answer.get("id") == number:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = 30) -> Any:
        """Poll `expression` until it is truthy (the browser is another process)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(AssertionError):  # between two documents
                value = self.evaluate(expression)
                if value:
                    return value
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {expression}: {self.evaluate('location.href')}"
        )


@contextlib.contextmanager
def browser_page(binary: str, profile: Path) -> Iterator[Page]:
    from websockets.sync.client import connect

    process = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            if not select.select([process.stderr], [], [], 1)[0]:
                continue
            line = process.stderr.readline()
            if not line:
                break
            if found := re.search(r"DevTools listening on (ws://\S+)", line):
                url = found.group(1)
        assert url, "Chromium did not start its DevTools endpoint"
        with connect(url, max_size=None) as socket:
            browser = Page(socket, "")
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            session = browser.call("Target.attachToTarget", targetId=target, flatten=True)
            yield Page(socket, session["sessionId"])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
