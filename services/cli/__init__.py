"""`supportctl`: run, migrate and operate the platform."""
