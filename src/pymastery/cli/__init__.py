"""The terminal shell: Typer commands that call the core and render with Rich."""
