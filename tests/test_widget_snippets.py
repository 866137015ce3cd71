"""The store snippets compute member tokens the member API accepts: run as the store would run them.

The tags ``loyalty widget enable`` prints and ``docs/widget.md`` shows are
executed here by the engines the stores use, not re-implemented: the
Shopify Liquid with python-liquid (Shopify's own filters are not in it, so
``hmac_sha256`` is registered as Shopify documents it: the input is the
message, the argument the key, the answer lowercase hex), the WooCommerce
PHP with the ``php`` command and stand-ins for the few WordPress
functions it calls, and the documentation's JWT makers with PyJWT, ``node``
and ``php``. Each printed tag or token then signs a shopper in to
``GET /member/v1/<program>/me`` and must name the right member; a guest
gets a tag without a customer. Shopify itself is not tested, only the
digest its template computes.

``php`` and ``node`` are Debian packages (``.ci/run`` installs
``php-cli``): without them those tests are skipped, except under CI
(``CI=true``), where a missing one fails.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from liquid import Environment

from loyalty.widget.settings import enable
from loyalty.widget.snippets import SCRIPT_PATH, jwt_tag, shopify_tag, woocommerce_tag
from loyalty.widget.tokens import digest, digest_token

PLATFORM = "https://loyalty.example.com"
ORIGIN = "https://shop.example"
SHOPIFY_CUSTOMER_ID = 7123456789012  # Shopify's customer ids are integers, wider than 32 bits
GUIDE = Path(__file__).resolve().parent.parent / "docs" / "widget.md"


# What runs the snippets.


def tool(name: str, package: str) -> str:
    """The path of a command the snippets run on; skipped without it, except under CI, where it fails."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"`{name}` is not installed: .ci/run must install Debian's {package}")
        pytest.skip(f"`{name}` is not installed (Debian: apt-get install {package}); CI installs it")
    return path


def run(command: list[str], source: str, tmp_path: Path, suffix: str, **env) -> str:
    """Run ``source`` as a file with ``command``; what it printed (anything on stderr fails the test)."""
    script = tmp_path / f"snippet{suffix}"
    script.write_text(source)
    result = subprocess.run(
        [*command, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 0 and not result.stderr, result.stdout + result.stderr
    return result.stdout


def shopify_hmac_sha256(value, key) -> str:
    """Shopify's ``hmac_sha256`` filter: ``message | hmac_sha256: key``, lowercase hex (Liquid makes both text)."""
    return hmac.new(str(key).encode(), str(value).encode(), hashlib.sha256).hexdigest()


def liquid() -> Environment:
    environment = Environment()
    environment.filters["hmac_sha256"] = shopify_hmac_sha256
    return environment


class ScriptTags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.tags.append(dict(attrs))


def the_script_tag(html: str) -> dict:
    """The attributes of the one ``<script>`` tag in ``html`` (a snippet prints exactly one)."""
    parser = ScriptTags()
    parser.feed(html)
    assert len(parser.tags) == 1, html
    return parser.tags[0]


def documented(name: str) -> str:
    """The code block of ``docs/widget.md`` marked ``<!-- tested: name -->`` (indented in a list or not), unindented:
    what the tests run is what the guide shows."""
    pattern = rf"^(?P<indent> *)<!-- tested: {re.escape(name)} -->\n(?P=indent)```\w*\n(?P<code>.*?)^(?P=indent)```"
    found = list(re.finditer(pattern, GUIDE.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE))
    assert len(found) == 1, f"docs/widget.md has {len(found)} blocks marked <!-- tested: {name} -->"
    indent = found[0]["indent"]
    return "".join(line.removeprefix(indent) for line in found[0]["code"].splitlines(keepends=True))


# The program, its widget and its member.


@pytest.fixture
def secret(session, program, clock):
    """The widget's secret, on the real clock: the engines below read the machine's time, as a store's do."""
    clock.set(datetime.now(timezone.utc))
    made = enable(session, program, origins=[ORIGIN], clock=clock)
    session.commit()
    return made


def me(app, token: str):
    return app.test_client().get("/member/v1/acme/me", headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN})


def signs_in(app, tag: dict, *, as_member: str, clock=None):
    """The tag's digest form, sent as the widget sends it, is accepted for ``as_member``; the answer."""
    assert tag["src"] == PLATFORM + SCRIPT_PATH and tag["data-program"] == "acme"
    assert "defer" in tag and "data-token" not in tag
    assert tag["data-customer"] == as_member
    assert tag["data-timestamp"].isdigit() and abs(int(tag["data-timestamp"]) - time.time()) < 60
    assert re.fullmatch(r"[0-9a-f]{64}", tag["data-digest"]), tag["data-digest"]
    answer = me(app, digest_token(tag["data-customer"], tag["data-timestamp"], tag["data-digest"]))
    assert answer.status_code == 200, answer.json
    assert answer.json["external_id"] == as_member
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    return answer.json


def is_a_guest_tag(tag: dict) -> None:
    assert tag["src"] == PLATFORM + SCRIPT_PATH and tag["data-program"] == "acme" and "defer" in tag
    assert not {"data-customer", "data-timestamp", "data-digest", "data-token"} & set(tag)


# Shopify: Liquid.


def test_the_hmac_filter_stand_in_is_shopifys():
    """Shopify's own example (shopify.dev, the hmac_sha256 filter): the message is piped, the key is the argument."""
    rendered = liquid().from_string("{{ 'Polyjuice' | hmac_sha256: 'Polina' }}").render()
    assert rendered == "8e0d5d65cff1242a4af66c8f4a32854fd5fb80edcc8aabe9b302b29c7c71dc20"


def test_the_shopify_snippet_signs_the_customer_in(app, session, secret, member_factory, ledger, clock):
    external_id = str(SHOPIFY_CUSTOMER_ID)  # what the Shopify adapter makes of the webhooks' integer id
    ledger.earn(member_factory(external_id), 250, key="seed")
    session.commit()
    template = liquid().from_string(shopify_tag(PLATFORM, "acme"))

    html = template.render(
        customer={"id": SHOPIFY_CUSTOMER_ID, "email": "kim@example.com"},
        settings={"loyalty_widget_secret": secret},
    )

    assert secret not in html
    tag = the_script_tag(html)
    assert tag["data-digest"] == digest(secret, external_id, tag["data-timestamp"])
    answer = signs_in(app, tag, as_member=external_id)
    assert answer["balances"]["available"] == 250 and answer["joined_now"] is False

    clock.set(datetime.fromtimestamp(int(tag["data-timestamp"]), timezone.utc) + timedelta(hours=24))
    expired = me(app, digest_token(tag["data-customer"], tag["data-timestamp"], tag["data-digest"]))
    assert expired.status_code == 401 and expired.json["code"] == "invalid_member_token"


def test_the_shopify_snippet_shows_a_guest_the_guest_tag(secret):
    html = liquid().from_string(shopify_tag(PLATFORM, "acme")).render(settings={"loyalty_widget_secret": secret})
    is_a_guest_tag(the_script_tag(html))
    assert secret not in html


def test_the_shopify_snippet_with_another_secret_is_refused(app, secret):
    html = (
        liquid()
        .from_string(shopify_tag(PLATFORM, "acme"))
        .render(customer={"id": SHOPIFY_CUSTOMER_ID}, settings={"loyalty_widget_secret": "lw_not_this_programs"})
    )
    tag = the_script_tag(html)
    refused = me(app, digest_token(tag["data-customer"], tag["data-timestamp"], tag["data-digest"]))
    assert refused.status_code == 401 and refused.json["code"] == "invalid_member_token"


# WooCommerce: PHP.

#: The WordPress functions the snippet calls, as WordPress defines them (``wp_get_current_user`` returns a
#: WP_User whose ID is 0 for a visitor who is not signed in), and a footer that runs the hooked callbacks.
WORDPRESS = """<?php
final class WP_User { public $ID; public function __construct(int $id) { $this->ID = $id; } }
function wp_get_current_user() { return new WP_User((int) getenv('WP_USER_ID')); }
function esc_url($url) { return htmlspecialchars($url, ENT_QUOTES); }
function esc_attr($text) { return htmlspecialchars((string) $text, ENT_QUOTES); }
$GLOBALS['actions'] = [];
function add_action($hook, $callback) { $GLOBALS['actions'][$hook][] = $callback; }
function wp_footer() { foreach ($GLOBALS['actions']['wp_footer'] ?? [] as $callback) { $callback(); } }
"""


def wordpress_page(secret: str, snippet: str) -> str:
    assert re.fullmatch(r"[A-Za-z0-9_-]+", secret)  # safe between single quotes
    return WORDPRESS + f"define('LOYALTY_WIDGET_SECRET', '{secret}');\n" + snippet + "wp_footer();\n"


def test_the_woocommerce_snippet_signs_the_customer_in(app, session, secret, member_factory, ledger, tmp_path):
    php = tool("php", "php-cli")
    ledger.earn(member_factory("42"), 120, key="seed")
    session.commit()

    html = run(
        [php, "-n"], wordpress_page(secret, woocommerce_tag(PLATFORM, "acme")), tmp_path, ".php", WP_USER_ID="42"
    )

    assert secret not in html
    tag = the_script_tag(html)
    assert tag["data-digest"] == digest(secret, "42", tag["data-timestamp"])
    assert signs_in(app, tag, as_member="42")["balances"]["available"] == 120


def test_the_woocommerce_snippet_shows_a_guest_the_guest_tag(secret, tmp_path):
    php = tool("php", "php-cli")
    html = run([php, "-n"], wordpress_page(secret, woocommerce_tag(PLATFORM, "acme")), tmp_path, ".php", WP_USER_ID="0")
    is_a_guest_tag(the_script_tag(html))


# The guide shows what the CLI prints.


@pytest.mark.parametrize(
    "name, snippet", [("shopify", shopify_tag), ("woocommerce", woocommerce_tag), ("jwt-tag", jwt_tag)]
)
def test_the_guide_shows_the_tags_the_cli_prints(name, snippet):
    assert documented(name).rstrip("\n") == snippet(PLATFORM, "acme").rstrip("\n")


# A store's own server makes a JWT: the guide's makers in Python (PyJWT), Node.js and PHP.


def jwt_claims_of(answer: dict) -> tuple:
    return answer["external_id"], answer["email"], answer["name"], answer["joined_now"]


def test_the_python_jwt_maker(app, secret):
    namespace: dict = {}
    exec(compile(documented("python-jwt"), "docs/widget.md", "exec"), namespace)
    token = namespace["member_token"]("cust-7", secret, email="ann@example.com", name="Ann Lee")
    answer = me(app, token)
    assert answer.status_code == 200, answer.json
    assert jwt_claims_of(answer.json) == ("cust-7", "ann@example.com", "Ann Lee", True)


def test_the_node_jwt_maker(app, secret, tmp_path):
    node = tool("node", "nodejs")
    source = documented("node-jwt") + (
        "\nprocess.stdout.write(memberToken(process.env.CUSTOMER, process.env.LOYALTY_WIDGET_SECRET,"
        " { email: 'bo@example.com', name: 'Bo Ek' }));\n"
    )
    token = run([node], source, tmp_path, ".js", CUSTOMER="cust-8", LOYALTY_WIDGET_SECRET=secret)
    answer = me(app, token)
    assert answer.status_code == 200, answer.json
    assert jwt_claims_of(answer.json) == ("cust-8", "bo@example.com", "Bo Ek", True)


def test_the_php_jwt_maker(app, secret, tmp_path):
    php = tool("php", "php-cli")
    source = (
        "<?php\n"
        + documented("php-jwt")
        + "echo loyalty_member_token(getenv('CUSTOMER'), getenv('LOYALTY_WIDGET_SECRET'),"
        " ['email' => 'cy@example.com', 'name' => 'Cy Öz']);\n"
    )
    token = run([php, "-n"], source, tmp_path, ".php", CUSTOMER="cust-9", LOYALTY_WIDGET_SECRET=secret)
    answer = me(app, token)
    assert answer.status_code == 200, answer.json
    assert jwt_claims_of(answer.json) == ("cust-9", "cy@example.com", "Cy Öz", True)


def test_every_tested_block_of_the_guide_is_run_here():
    """A block marked tested that no test reads would be a promise nobody keeps."""
    marked = set(re.findall(r"<!-- tested: ([\w-]+) -->", GUIDE.read_text(encoding="utf-8")))
    assert marked == {"shopify", "woocommerce", "jwt-tag", "python-jwt", "node-jwt", "php-jwt"}, marked


def test_a_jwt_from_the_documented_claims_decodes_as_documented(secret):
    """The claims the guide lists are what a token holds (a PyJWT round trip, not the platform's reader)."""
    import jwt

    namespace: dict = {}
    exec(compile(documented("python-jwt"), "docs/widget.md", "exec"), namespace)
    claims = jwt.decode(namespace["member_token"]("c", secret), secret, algorithms=["HS256"])
    assert set(claims) == {"sub", "iat", "exp"} and claims["sub"] == "c"
    assert 0 < claims["exp"] - claims["iat"] <= 24 * 3600
