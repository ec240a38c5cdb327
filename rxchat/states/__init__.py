"""Reflex states: they take input, await one service call, copy results into vars."""
