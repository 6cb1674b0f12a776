"""Registers the Atlassian Cloud emulator (`ssopoc.sandbox.atlassian`)."""

from ssopoc.sandbox.atlassian import AtlassianEmulator

EMULATOR = AtlassianEmulator
