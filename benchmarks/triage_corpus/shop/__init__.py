"""A small shop: the product under test in the triage corpus (bugs on purpose)."""
