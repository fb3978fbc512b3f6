"""The Django shell: settings, the progress models the CLI shares, and (later) the web app."""
