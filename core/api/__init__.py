"""Thin HTTP handlers: parse, authorize through a service, serialize."""
