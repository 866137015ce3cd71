"""Tiers: a program's levels, the scheme contract plugins implement, and moving members between levels."""
