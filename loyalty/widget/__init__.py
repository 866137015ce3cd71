"""The shoppers' side of a program: the storefront widget's settings and the member tokens that sign shoppers in.

Shoppers sign in to the store, not to the platform: the store vouches for
them with a member token signed with the program's widget secret
(:mod:`loyalty.widget.tokens`). What the widget looks like and says, and
which store origins may embed it, are per program
(:mod:`loyalty.widget.settings`, defaults in :mod:`loyalty.widget.texts`).
The member API (:mod:`loyalty.api.member`) and the widget script
(``static/loyalty.js``) build on both.
"""
