"""The storefront widget of a program: switched on and off, its secret and store origins, its looks and texts.

Who may do what follows the rest of the admin: the secret and who may call
the member API (enable, the origins, rotate, disable) are an owner's, as
store connections and API keys are (``admin_view(owner=True)``); the looks,
the texts and the store's links are program settings, which managers change
too (``admin_view(change=True)``); a viewer only looks.

A new secret is shown once, in the answer to the POST that made it (never
flashed, never kept in the session, ``Cache-Control: no-store``); every
page after shows it masked. The audit log keeps the masked form only.

The preview is the real widget (``/widget/v1/loyalty.js``, from this site,
so the admin's Content-Security-Policy allows it) in preview mode;
``static/widget.js`` hands it the form's values as they are typed.
"""

from __future__ import annotations

import re

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.widget.settings import disable, enable, masked, rotate, settings_of, update
from loyalty.widget.snippets import jwt_tag, shopify_tag, woocommerce_tag
from loyalty.widget.texts import (
    DEFAULT_APPEARANCE,
    DEFAULT_TEXTS,
    MAX_TEXT,
    POSITIONS,
    appearance_with_defaults,
    placeholders,
)

#: The texts as the form groups them, in the order a shopper meets them; a text added to DEFAULT_TEXTS later
#: and not listed here still gets its field, under "Other texts".
TEXT_GROUPS = (
    ("The panel", ("panel_title", "close", "loading", "error", "retry")),
    ("Guests", ("guest_heading", "guest_body", "sign_in", "sign_up", "join_by_order", "signed_out")),
    (
        "Points and tiers",
        (
            "balance_label",
            "points",
            "one_point",
            "pending",
            "expiring",
            "tier_current",
            "tier_next",
            "tier_next_by",
            "tier_keep",
            "tier_top",
            "tiers_heading",
        ),
    ),
    ("Ways to earn", ("earn_heading",)),
    (
        "Rewards",
        (
            "rewards_heading",
            "redeem",
            "redeem_for",
            "points_to_spend",
            "redeem_confirm",
            "confirm",
            "cancel",
            "your_code",
            "copy",
            "copied",
            "copy_failed",
            "redeemed",
            "my_rewards_heading",
            "no_rewards",
            "not_enough_points",
            "for_tier",
            "out_of_stock",
            "limit_reached",
            "not_available",
        ),
    ),
    ("Referrals", ("referral_heading", "referral_body", "share", "share_text")),
    ("E-mail", ("emails",)),
    (
        "Activity",
        tuple(key for key in DEFAULT_TEXTS if key.startswith("activity_") or key in ("no_activity", "show_more")),
    ),
)
LOOKS = ("appearance", "texts", "sign_in_url", "sign_up_url", "joins")
#: Origins may be given one a line, or separated by spaces or commas (no origin contains either).
ORIGIN_SEPARATORS = re.compile(r"[\s,]+")


def text_groups() -> list[tuple[str, list[str]]]:
    listed = {key for _, keys in TEXT_GROUPS for key in keys}
    groups = [(title, [key for key in keys if key in DEFAULT_TEXTS]) for title, keys in TEXT_GROUPS]
    rest = [key for key in DEFAULT_TEXTS if key not in listed]
    return [group for group in groups if group[1]] + ([("Other texts", rest)] if rest else [])


def platform_url() -> str:
    """Where shoppers' browsers reach the platform: ``LOYALTY_PUBLIC_URL`` as for the CLI, else this address."""
    return current_app.config.get("PUBLIC_URL") or request.host_url


def _looks(settings) -> dict:
    return {
        "appearance": dict(settings.appearance or {}),
        "texts": dict(settings.texts or {}),
        "sign_in_url": settings.sign_in_url,
        "sign_up_url": settings.sign_up_url,
        "joins": settings.joins,
    }


def _looks_from(form) -> dict:
    """The posted looks as ``update`` takes them: an empty text or label is the default (left out)."""
    appearance = {
        key: form[f"appearance.{key}"].strip()
        for key in DEFAULT_APPEARANCE
        if form.get(f"appearance.{key}", "").strip()
    }
    texts = {key: form[f"texts.{key}"] for key in DEFAULT_TEXTS if form.get(f"texts.{key}", "").strip()}
    changes = {
        "appearance": appearance,
        "texts": texts,
        "sign_in_url": form.get("sign_in_url", ""),
        "sign_up_url": form.get("sign_up_url", ""),
    }
    if "joins" in form:
        changes["joins"] = form["joins"]
    return changes


def _shown(settings) -> dict:
    """The looks form's values for what is stored (defaults for the colours, empty fields for default texts)."""
    appearance = appearance_with_defaults(settings.appearance)
    return {
        **{f"appearance.{key}": appearance[key] for key in ("accent", "accent_text", "position")},
        "appearance.label": (settings.appearance or {}).get("label", ""),
        **{f"texts.{key}": (settings.texts or {}).get(key, "") for key in DEFAULT_TEXTS},
        "sign_in_url": settings.sign_in_url or "",
        "sign_up_url": settings.sign_up_url or "",
        "joins": settings.joins,
    }


def _origins_from(form) -> list[str]:
    return [origin for origin in ORIGIN_SEPARATORS.split(form.get("origins", "")) if origin]


def _page(program, settings, *, new_secret=None, values=None, problems=None, origins_text=None):
    response = make_response(
        render_template(
            "admin/widget.html",
            program=program,
            settings=settings,
            secret=masked(settings.secret) if settings else None,
            new_secret=new_secret,
            values=values if values is not None else (_shown(settings) if settings else {}),
            errors=problems or {},
            error_texts=[name.removeprefix("texts.") for name in (problems or {}) if name.startswith("texts.")],
            origins_text=origins_text if origins_text is not None else "\n".join(settings.origins if settings else []),
            defaults=DEFAULT_TEXTS,
            default_appearance=DEFAULT_APPEARANCE,
            positions=POSITIONS,
            text_groups=text_groups(),
            placeholders=lambda key: sorted(placeholders(DEFAULT_TEXTS[key])),
            max_text=MAX_TEXT,
            snippets=_snippets(program) if settings else [],
        )
    )
    if new_secret:
        response.headers["Cache-Control"] = "no-store"  # the one page with the secret: not kept by the browser
    return response


def _snippets(program) -> list[tuple[str, str, str, str]]:
    url = platform_url()
    return [
        (
            "jwt",
            "Any store whose server makes a JWT",
            "Before </body>, with a token per page view: HS256 with the secret, sub = the customer's id as the "
            "store's webhooks carry it, exp at most 24 hours after iat. Leave data-token out for guests.",
            jwt_tag(url, program.slug),
        ),
        (
            "shopify",
            "Shopify",
            "layout/theme.liquid, before </body>; the secret in a theme setting named loyalty_widget_secret "
            "(Liquid runs on Shopify's servers: the secret never reaches the page).",
            shopify_tag(url, program.slug),
        ),
        (
            "woocommerce",
            "WooCommerce",
            "The theme's functions.php; define('LOYALTY_WIDGET_SECRET', 'lw_…'); in wp-config.php.",
            woocommerce_tag(url, program.slug),
        ),
    ]


@bp.route("/<program_slug>/widget", methods=["GET", "POST"])
@admin_view(change=True)
def widget(program):
    """The widget's state, secret (masked), origins and tags; its looks and texts, saved by owners and managers."""
    settings = settings_of(db.session, program)
    if request.method == "POST":
        if settings is None:
            flash("Not saved: the widget was never switched on (an owner switches it on first).", "error")
            return redirect(url_for("admin.widget", program_slug=program.slug))
        before = _looks(settings)
        try:
            update(db.session, program, clock=current_clock(), **_looks_from(request.form))
            after = _looks(settings)
            changed = [name for name in LOOKS if before[name] != after[name]]
            if changed:
                audit(
                    db.session,
                    current_user,
                    "widget.looks",
                    program=program,
                    target=f"widget:{program.slug}",
                    before={name: before[name] for name in changed},
                    after={name: after[name] for name in changed},
                    clock=current_clock(),
                )
            db.session.commit()
            flash("Widget saved: the store shows it from now on." if changed else "Nothing changed.", "ok")
            return redirect(url_for("admin.widget", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not saved: {exc.message}", "error")
            values = {name: request.form.get(name, "") for name in _shown(settings)}
            return _page(program, settings, values=values, problems=exc.details.get("fields") or {})
    return _page(program, settings)


@bp.route("/<program_slug>/widget/<any(enable, origins, disable):action>", methods=["POST"])
@admin_view(owner=True)
def widget_access(program, action):
    """Owners: switch the widget on for the store's origins (the first time, show the new secret), change the
    origins, switch it off."""
    settings = settings_of(db.session, program)
    before = {"enabled": settings.enabled, "origins": list(settings.origins)} if settings else None
    origins = _origins_from(request.form)
    new_secret = None
    try:
        if action == "enable":
            if settings is not None:  # the list as written replaces the old one (the CLI's enable adds to it)
                update(db.session, program, origins=origins, clock=current_clock())
            new_secret = enable(db.session, program, origins=origins, clock=current_clock())
            settings = settings_of(db.session, program)
            after = {"enabled": True, "origins": list(settings.origins)}
            if new_secret:
                after["secret"] = masked(new_secret)
            message = f"The widget is on for {', '.join(settings.origins)}." + (
                " Copy the secret now: it is not shown again."
                if new_secret
                else f" Its secret is unchanged ({masked(settings.secret)})."
            )
        elif action == "origins":
            if settings is None:
                raise errors.NotFound("the widget was never switched on")
            if settings.enabled and not origins:
                raise errors.InvalidInput(
                    "the widget is on: give at least one origin, or switch it off",
                    fields={"origins": ["at least one origin"]},
                )
            update(db.session, program, origins=origins, clock=current_clock())
            after = {"origins": list(settings.origins)}
            before = {"origins": before["origins"]}
            message = f"Origins saved: {', '.join(settings.origins) or 'none'}."
        else:
            if settings is not None and not settings.enabled:
                flash("The widget is already off.", "ok")
                return redirect(url_for("admin.widget", program_slug=program.slug))
            disable(db.session, program, clock=current_clock())
            before, after = {"enabled": True}, {"enabled": False}
            message = "The widget is off: the member API refuses every request until it is switched on again."
        audit(
            db.session,
            current_user,
            f"widget.{action}",
            program=program,
            target=f"widget:{program.slug}",
            before=before,
            after=after,
            clock=current_clock(),
        )
        db.session.commit()
    except errors.LoyaltyError as exc:
        db.session.rollback()
        settings = settings_of(db.session, program)
        flash(f"Not saved: {exc.message}", "error")
        return _page(
            program, settings, problems=exc.details.get("fields") or {}, origins_text=request.form.get("origins", "")
        )
    flash(message, "ok")
    if new_secret:
        return _page(program, settings, new_secret=new_secret)
    return redirect(url_for("admin.widget", program_slug=program.slug))


@bp.route("/<program_slug>/widget/rotate", methods=["GET", "POST"])
@admin_view(owner=True)
def widget_rotate(program):
    """Owners: confirm, then a new secret, shown this once; tokens signed with the old one are refused at once.

    The form names the secret it replaces (masked): sending it again (a reload of the answer) finds another
    secret and rotates nothing.
    """
    if current_user.role != "owner":
        abort(403)
    settings = settings_of(db.session, program)
    if settings is None:
        flash("The widget was never switched on: there is no secret to rotate.", "error")
        return redirect(url_for("admin.widget", program_slug=program.slug))
    if request.method == "GET":
        return render_template(
            "admin/widget_rotate.html", program=program, settings=settings, secret=masked(settings.secret)
        )
    if request.form.get("replaces") != masked(settings.secret):
        flash("The secret changed since that page was shown (rotated already?): nothing was done.", "error")
        return redirect(url_for("admin.widget", program_slug=program.slug))
    old = masked(settings.secret)
    new_secret = rotate(db.session, program, clock=current_clock())
    audit(
        db.session,
        current_user,
        "widget.rotate",
        program=program,
        target=f"widget:{program.slug}",
        before={"secret": old},
        after={"secret": masked(new_secret)},
        clock=current_clock(),
    )
    db.session.commit()
    flash("New secret made: copy it now, it is not shown again. Tokens signed with the old one are refused.", "ok")
    return _page(program, settings, new_secret=new_secret)
