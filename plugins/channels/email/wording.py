"""The default e-mails: a subject, a plain text and an HTML body for each event type members hear about.

Jinja, rendered in the platform's sandbox with: ``member`` (``name``,
``email``, ``external_id``), ``program`` (``name``, ``slug``,
``currency``), ``event`` (the event's ``data``), ``events`` (every event a
digest carries), ``points`` (their points, summed) and
``unsubscribe_url``; filters ``points`` ("1 point", "20 points") and
``date`` ("3 December 2026"). Every field of an event's data is read with
a fallback (``default``, ``is defined``), so an event that carries less
still makes a sensible e-mail. Programs replace any part in the admin
(docs/email.md lists what each template can use).
"""

from __future__ import annotations

from loyalty.plugin_api import Template

GREETING = "Hello{% if member.name | default(none) %} {{ member.name }}{% endif %},"
SIGN_OFF = "The {{ program.name }} team"
TEXT_FOOTER = (
    "\n-- \n{{ program.name }}\n{% if unsubscribe_url %}No more e-mails like this: {{ unsubscribe_url }}\n{% endif %}"
)

#: The HTML around every body: one centred column, inline styles (what e-mail clients keep).
LAYOUT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ program.name }}</title></head>
<body style="margin:0;padding:0;background:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#18181b;">
<tr><td style="padding:24px 28px 8px;font-size:14px;font-weight:bold;color:#52525b;">{{ program.name }}</td></tr>
<tr><td style="padding:8px 28px 24px;">
BODY
</td></tr>
</table>
{% if unsubscribe_url %}<p style="font-family:Helvetica,Arial,sans-serif;font-size:12px;color:#71717a;">You get these e-mails as a member of {{ program.name }}. <a href="{{ unsubscribe_url }}" style="color:#71717a;">Unsubscribe</a></p>{% endif %}
</td></tr>
</table>
</body>
</html>
"""

HIGHLIGHT = 'style="font-size:28px;font-weight:bold;margin:16px 0;"'


def _html(body: str) -> str:
    return LAYOUT.replace("BODY", body.strip())


def _text(body: str) -> str:
    return f"{GREETING}\n\n{body.strip()}\n\n{SIGN_OFF}\n{TEXT_FOOTER}"


TIER = "{% set tier = event.to if event.to is defined else (event.tier if event.tier is defined else {}) %}"

TEMPLATES = {
    "member.enrolled": Template(
        subject="Welcome to {{ program.name }}",
        text=_text(
            """
You are now a member of {{ program.name }}: every order earns you points,
and points become rewards.
{% if event.referral_code is defined and event.referral_code %}

Your code for friends: {{ event.referral_code }}. When a friend orders with
it, you both get points.
{% endif %}
"""
        ),
        html=_html(
            """
<p>"""
            + GREETING
            + """</p>
<p>You are now a member of <b>{{ program.name }}</b>: every order earns you points, and points become rewards.</p>
{% if event.referral_code is defined and event.referral_code %}<p>Your code for friends (when a friend orders with it, you both get points):</p>
<p """
            + HIGHLIGHT
            + """>{{ event.referral_code }}</p>{% endif %}
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
    "points.earned": Template(
        subject="You earned {{ points | points }}",
        text=_text(
            """
You earned {{ points | points }}.
{% if events | selectattr("reason", "defined") | list %}

{% endif %}
{% for item in events if item.reason is defined and item.reason %}
- {{ item.points | default(0) | points }}: {{ item.reason }}{{ " (yours to spend from " ~ (item.release_at | date) ~ ")" if item.status is defined and item.status == "pending" and item.release_at is defined and item.release_at else "" }}
{% endfor %}
"""
        ),
        html=_html(
            """
<p>"""
            + GREETING
            + """</p>
<p """
            + HIGHLIGHT
            + """>+{{ points | points }}</p>
{% set reasons = events | selectattr("reason", "defined") | list %}{% if reasons %}
<ul style="padding-left:20px;">{% for item in reasons %}<li>{{ item.points | default(0) | points }}: {{ item.reason }}{% if item.status is defined and item.status == "pending" and item.release_at is defined and item.release_at %} <span style="color:#71717a;">(yours to spend from {{ item.release_at | date }})</span>{% endif %}</li>{% endfor %}</ul>
{% endif %}
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
    "points.expiring": Template(
        subject="{{ event.points | default(0) | points }} expire{% if event.expires_at is defined %} on {{ event.expires_at | date }}{% else %} soon{% endif %}",
        text=_text(
            """
{{ event.points | default(0) | points }} of yours will expire{% if event.expires_at is defined %} on {{ event.expires_at | date }}{% else %} soon{% endif %}.
Spend them on a reward before then, and they are not lost.
"""
        ),
        html=_html(
            """
<p>"""
            + GREETING
            + """</p>
<p """
            + HIGHLIGHT
            + """>{{ event.points | default(0) | points }} expire{% if event.expires_at is defined %} on {{ event.expires_at | date }}{% else %} soon{% endif %}</p>
<p>Spend them on a reward before then, and they are not lost.</p>
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
    "tier.changed": Template(
        subject=TIER + "You reached {{ tier.name | default('a new tier') }}",
        text=_text(
            TIER
            + """
Congratulations: you reached {{ tier.name | default("a new tier") }} in {{ program.name }}.
{% if tier.perks is defined and tier.perks %}

What it gives you: {{ tier.perks }}
{% endif %}
"""
        ),
        html=_html(
            TIER
            + """
<p>"""
            + GREETING
            + """</p>
<p>Congratulations, you reached</p>
<p """
            + HIGHLIGHT
            + """>{{ tier.name | default("a new tier") }}</p>
{% if tier.perks is defined and tier.perks %}<p>What it gives you: {{ tier.perks }}</p>{% endif %}
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
    "reward.redeemed": Template(
        subject="Your reward{% if event.reward is defined and event.reward.name is defined %}: {{ event.reward.name }}{% endif %}",
        text=_text(
            """
Your reward{% if event.reward is defined and event.reward.name is defined %} "{{ event.reward.name }}"{% endif %} is ready.
{% if event.code is defined and event.code %}

Your code: {{ event.code }}
Enter it at checkout.
{% endif %}
{% if event.expires_at is defined and event.expires_at %}
Use it by {{ event.expires_at | date }}.
{% endif %}
"""
        ),
        html=_html(
            """
<p>"""
            + GREETING
            + """</p>
<p>Your reward{% if event.reward is defined and event.reward.name is defined %} <b>{{ event.reward.name }}</b>{% endif %} is ready.</p>
{% if event.code is defined and event.code %}<p>Your code, to enter at checkout:</p>
<p style="font-family:Menlo,Consolas,monospace;font-size:24px;font-weight:bold;letter-spacing:2px;background:#f4f4f5;border-radius:6px;padding:12px;text-align:center;">{{ event.code }}</p>{% endif %}
{% if event.expires_at is defined and event.expires_at %}<p>Use it by {{ event.expires_at | date }}.</p>{% endif %}
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
    "referral.completed": Template(
        subject="Your referral paid off{% if event.referrer_points is defined and event.referrer_points %}: {{ event.referrer_points | points }}{% endif %}",
        text=_text(
            """
A friend you referred to {{ program.name }} placed their order. Thank you!
{% if event.referrer_points is defined and event.referrer_points %}

You earned {{ event.referrer_points | points }} for it.
{% endif %}
"""
        ),
        html=_html(
            """
<p>"""
            + GREETING
            + """</p>
<p>A friend you referred to <b>{{ program.name }}</b> placed their order. Thank you!</p>
{% if event.referrer_points is defined and event.referrer_points %}<p """
            + HIGHLIGHT
            + """>+{{ event.referrer_points | points }}</p>{% endif %}
<p>"""
            + SIGN_OFF
            + """</p>
"""
        ),
    ),
}
