"""Signing in and out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from loyalty.access.admin_users import authenticate, end_sessions
from loyalty.admin.access import admin_view, visible_programs
from loyalty.admin.blueprint import bp, limiter
from loyalty.admin.forms import ConfirmForm, LoginForm
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.money import from_minor


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ADMIN_LOGIN_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data, clock=current_clock())
        if user is not None:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("admin.home"))
        db.session.rollback()
        flash("The e-mail or the password is wrong.", "error")
    return render_template("admin/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@admin_view()
def logout():
    """Ends the session for good: a copy of its cookie saved before does not sign in again (nor do the
    account's sessions in other browsers, which share its token)."""
    if ConfirmForm().validate_on_submit():
        end_sessions(current_user)
        db.session.commit()
        logout_user()
    return redirect(url_for("admin.login"))


@bp.route("/")
@admin_view()
def home():
    programs = visible_programs()
    if len(programs) == 1:
        return redirect(url_for("admin.dashboard", program_slug=programs[0].slug))
    return render_template("admin/programs.html", programs=programs)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no ``//evil.example``): an open redirect would help phishing."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return None


@bp.app_template_filter("money")
def _money(minor: int, currency: str) -> str:
    """Minor units as the currency writes them: ``12000, "USD"`` -> ``120.00 USD``."""
    return f"{from_minor(minor, currency)} {currency}"


@bp.app_context_processor
def _chrome():
    return {"sign_out_form": ConfirmForm() if current_user.is_authenticated else None}
