"""Development and CLI entry point: ``flask --app app <command>``."""

from lumyx import create_app

app = create_app()
