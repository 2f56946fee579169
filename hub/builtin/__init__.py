"""Plugins that ship with the core, loaded through the same registry as installed ones."""
