"""The platform simulator: fake platform APIs with their real shapes and failure modes, driven by scenarios."""
