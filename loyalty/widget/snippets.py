"""The tag a store pastes into its theme, as ``loyalty widget enable`` and the admin print it.

The Shopify and WooCommerce versions compute the digest form in the
theme itself (docs/widget.md explains both; tests/test_widget_snippets.py
renders them with a Liquid engine and with PHP and checks the result
against :func:`loyalty.widget.tokens.digest`).
"""

from __future__ import annotations

from html import escape

SCRIPT_PATH = "/widget/v1/loyalty.js"


def script_url(platform_url: str) -> str:
    return platform_url.rstrip("/") + SCRIPT_PATH


def jwt_tag(platform_url: str, program_slug: str) -> str:
    """The tag for a store whose server makes a JWT per page view (``<token>`` is where it goes)."""
    return (
        f'<script src="{escape(script_url(platform_url))}" data-program="{escape(program_slug)}" '
        'data-token="<member token, or leave out for guests>" defer></script>'
    )


def shopify_tag(platform_url: str, program_slug: str) -> str:
    """Liquid for a Shopify theme (``layout/theme.liquid``): the digest of the signed-in customer, or a guest.

    The secret lives in a theme setting (``settings.loyalty_widget_secret``);
    Liquid renders on Shopify's servers, so it never reaches the browser.
    """
    src, slug = escape(script_url(platform_url)), escape(program_slug)
    return (
        "{%- if customer -%}\n"
        "  {%- assign loyalty_ts = 'now' | date: '%s' -%}\n"
        "  {%- assign loyalty_message = customer.id | append: ':' | append: loyalty_ts -%}\n"
        f'  <script src="{src}" data-program="{slug}"\n'
        '    data-customer="{{ customer.id }}" data-timestamp="{{ loyalty_ts }}"\n'
        '    data-digest="{{ loyalty_message | hmac_sha256: settings.loyalty_widget_secret }}" defer></script>\n'
        "{%- else -%}\n"
        f'  <script src="{src}" data-program="{slug}" defer></script>\n'
        "{%- endif -%}\n"
    )


def woocommerce_tag(platform_url: str, program_slug: str) -> str:
    """PHP for a WordPress theme or plugin (``functions.php``): the same digest, with ``hash_hmac``.

    The secret is read from a constant in ``wp-config.php``
    (``define('LOYALTY_WIDGET_SECRET', 'lw_…');``), never printed.
    """
    src, slug = script_url(platform_url), program_slug
    return (
        "add_action('wp_footer', function () {\n"
        f"    $src = {_php_string(src)};\n"
        f"    $program = {_php_string(slug)};\n"
        "    $user = wp_get_current_user();\n"
        "    if ($user->ID) {\n"
        "        $id = (string) $user->ID;\n"
        "        $ts = (string) time();\n"
        "        $digest = hash_hmac('sha256', $id . ':' . $ts, LOYALTY_WIDGET_SECRET);\n"
        '        printf(\'<script src="%s" data-program="%s" data-customer="%s" data-timestamp="%s" \'\n'
        "            . 'data-digest=\"%s\" defer></script>', esc_url($src), esc_attr($program), esc_attr($id),\n"
        "            esc_attr($ts), esc_attr($digest));\n"
        "    } else {\n"
        '        printf(\'<script src="%s" data-program="%s" defer></script>\', esc_url($src), esc_attr($program));\n'
        "    }\n"
        "});\n"
    )


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
