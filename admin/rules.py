"""Earning rules: list, add and edit through forms generated from the rule type's schema, pause, dry run."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.schema_forms import fields_of, in_words, values_from
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.events import Customer, Line, OrderPaid
from loyalty.earning.rules import add_rule, get_rule, list_rules, rule_type, update_rule
from loyalty.earning.simulate import simulate
from loyalty.earning.ways_to_earn import describe_rule
from loyalty.registry import current_registry

ORDER_FIELDS = ("subtotal", "discount", "tax", "shipping")
#: A sample order's amounts stay below this: what an order could cost, and within Decimal's precision.
SAMPLE_LIMIT = 10**12


@bp.route("/<program_slug>/rules")
@admin_view()
def rules(program):
    kinds = current_registry().earning_rule_types
    rules = list_rules(db.session, program)
    return render_template(
        "admin/rules.html",
        program=program,
        rules=rules,
        # what the shoppers' ways to earn say of each rule (a paused one too, for when it is resumed)
        shoppers_read={r.id: describe_rule(kinds[r.type], r, program.currency) for r in rules if r.type in kinds},
        settings={
            r.id: in_words(fields_of(kinds[r.type].schema), r.config or {}, program=program)
            for r in rules
            if r.type in kinds
        },
        kinds=sorted(kinds.values(), key=lambda k: k.name),
        kinds_by_name=kinds,
    )


@bp.route("/<program_slug>/rules/new", methods=["GET", "POST"])
@bp.route("/<program_slug>/rules/<id:rule_id>", methods=["GET", "POST"])
@admin_view(change=True)
def rule_form(program, rule_id=None):
    """Add (``?type=…``) or edit a rule; "Try it" runs the draft against a sample order and saves nothing."""
    rule = _rule_or_404(program, rule_id) if rule_id is not None else None
    try:
        kind = rule_type(current_registry(), rule.type if rule else request.args.get("type", ""))
    except errors.LoyaltyError:
        abort(404)
    specs = fields_of(kind.schema)
    name = request.form.get("name", rule.name if rule else "")
    values = (
        values_from(request.form, specs, program=program)
        if request.method == "POST"
        else dict(rule.config if rule else {})
    )
    sample = {key: request.form.get(f"order.{key}", "") for key in (*ORDER_FIELDS, "sku", "member")}
    problems, trial = {}, None
    if request.method == "POST":
        try:
            if request.form.get("action") == "try":
                trial = simulate(
                    db.session,
                    program,
                    _sample_order(program, sample),
                    member_external_id=sample["member"] or None,
                    extra_rules=[{"type": kind.name, "name": name or "draft", "config": values}],
                    only_extra=True,
                    registry=current_registry(),
                    clock=current_clock(),
                )
                db.session.rollback()
            elif rule is None:
                made = add_rule(
                    db.session,
                    program,
                    current_registry(),
                    type=kind.name,
                    name=name,
                    config=values,
                    clock=current_clock(),
                )
                audit(
                    db.session,
                    current_user,
                    "rule.add",
                    program=program,
                    target=f"rule:{made.id}",
                    after={"name": made.name, "type": made.type, "config": made.config},
                    clock=current_clock(),
                )
                db.session.commit()
                flash(f"Rule {made.name!r} added.", "ok")
                return redirect(url_for("admin.rules", program_slug=program.slug))
            else:
                before = {"name": rule.name, "config": dict(rule.config)}
                update_rule(db.session, rule, current_registry(), name=name, config=values, clock=current_clock())
                audit(
                    db.session,
                    current_user,
                    "rule.update",
                    program=program,
                    target=f"rule:{rule.id}",
                    before=before,
                    after={"name": rule.name, "config": rule.config},
                    clock=current_clock(),
                )
                db.session.commit()
                flash(f"Rule {rule.name!r} saved.", "ok")
                return redirect(url_for("admin.rules", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(
                f"Not saved: {exc.message}" if request.form.get("action") != "try" else f"Cannot try it: {exc.message}",
                "error",
            )
    return render_template(
        "admin/rule_form.html",
        program=program,
        rule=rule,
        kind=kind,
        specs=specs,
        name=name,
        values=values,
        errors=problems,
        sample=sample,
        trial=trial,
    )


@bp.route("/<program_slug>/rules/<id:rule_id>/<any(pause, resume):action>", methods=["POST"])
@admin_view(change=True)
def rule_switch(program, rule_id, action):
    rule = _rule_or_404(program, rule_id)
    before = rule.active
    update_rule(db.session, rule, current_registry(), active=action == "resume", clock=current_clock())
    audit(
        db.session,
        current_user,
        f"rule.{action}",
        program=program,
        target=f"rule:{rule.id}",
        before={"active": before},
        after={"active": rule.active},
        clock=current_clock(),
    )
    db.session.commit()
    flash(f"Rule {rule.name!r} {'resumed' if rule.active else 'paused'}.", "ok")
    return redirect(url_for("admin.rules", program_slug=program.slug))


def _rule_or_404(program, rule_id):
    try:
        return get_rule(db.session, program, rule_id)
    except errors.LoyaltyError:
        abort(404)


def _sample_order(program, sample: dict) -> OrderPaid:
    def amount(key):
        try:
            value = Decimal(sample[key] or "0")
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or abs(value) >= SAMPLE_LIMIT:
            raise errors.InvalidInput(f"the sample order's {key} is not an amount (below {SAMPLE_LIMIT:,})")
        return value

    subtotal = amount("subtotal")
    total = subtotal - amount("discount") + amount("tax") + amount("shipping")
    lines = (Line("1", sample["sku"], 1, subtotal, sku=sample["sku"]),) if sample["sku"] else ()
    return OrderPaid(
        order_id="dry-run",
        customer=Customer(sample["member"] or "dry-run"),
        currency=program.currency,
        subtotal=subtotal,
        discount=amount("discount"),
        tax=amount("tax"),
        shipping=amount("shipping"),
        total=total,
        lines=lines,
    )
