"""The platform-neutral domain. Nothing here imports a chat SDK or a terminal UI."""
