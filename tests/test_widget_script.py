"""The widget's script as a file: small, no evaluation, no markup from strings, one definition; served as is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import loyalty.widget
from loyalty.widget.texts import DEFAULT_TEXTS

SCRIPT = Path(loyalty.widget.__file__).parent / "static" / "loyalty.js"


def test_the_script_is_under_40_kb_and_never_evaluates_code_nor_parses_markup():
    text = SCRIPT.read_text(encoding="utf-8")
    assert len(SCRIPT.read_bytes()) < 40 * 1024
    for forbidden in (
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "<style",
        "style=",
        '"style"',
        "cssText",
        'setTimeout("',
        "import(",
    ):
        assert forbidden not in text, forbidden


def test_the_element_is_defined_once_even_if_the_script_runs_twice():
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.count("customElements.define(") == 1
    assert "if (!customElements.get(TAG)) customElements.define(TAG, LoyaltyWidget);" in text
    assert 'const TAG = "loyalty-widget";' in text
    # Everything inside one function: nothing global but the element.
    assert text.index("(() => {") < text.index('"use strict"') < text.index("const TAG")
    assert text.rstrip().endswith("})();")


def test_the_texts_shown_before_the_programs_are_its_english_defaults():
    block = re.search(r"const FALLBACK_TEXTS = \{\n(.*?)\n\};", SCRIPT.read_text(encoding="utf-8"), re.S).group(1)
    fallback = dict(re.fullmatch(r'\s*(\w+): ("(?:[^"\\]|\\.)*"),', line).groups() for line in block.splitlines())
    fallback = {key: json.loads(value) for key, value in fallback.items()}
    assert fallback.pop("panel_title") == "Rewards"  # the default names the program, not known yet
    assert fallback == {key: DEFAULT_TEXTS[key] for key in fallback}


def test_the_platform_serves_it_to_any_store(app):
    response = app.test_client().get("/widget/v1/loyalty.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.data == SCRIPT.read_bytes()
