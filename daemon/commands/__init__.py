"""CLI commands: each module defines ``register(subparsers)``; the CLI discovers them."""
