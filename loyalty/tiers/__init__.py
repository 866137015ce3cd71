"""Tiers: a program's levels, the scheme contract plugins implement, and moving members between levels.

* :mod:`~loyalty.tiers.levels`: the levels, a tier given by hand, the history;
* :mod:`~loyalty.tiers.schemes`: the contract of a tier scheme (a plugin) and its settings;
* :mod:`~loyalty.tiers.recalculate`: deciding who moves up or down, nightly or after an event;
* :mod:`~loyalty.tiers.progress`: where a member stands, for the API and the admin.

The arrows point one way: ``recalculate`` and ``progress`` use ``levels``
and ``schemes``, never each other.
"""
