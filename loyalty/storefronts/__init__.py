"""Storefronts: the adapter contract plugins implement (:mod:`.adapters`), and a program's connections (:mod:`.connections`)."""
