"""Reusable components: plain functions returning rx.Component."""
