"""Adaptive Cards (schema 1.5, what Teams renders) for each feature's own forms and views; neutral
messages go through bot/teams/render.py instead."""
