"""The Discord bot's callbacks, both ways (Standard Webhooks signatures)."""
