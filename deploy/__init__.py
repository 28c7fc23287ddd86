"""Drives the project's Pulumi stacks through the real engine built in .toolchain/ (Automation API)."""
