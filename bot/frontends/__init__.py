"""Front ends: each builds its commands from the core registry and renders replies natively."""
