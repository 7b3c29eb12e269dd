"""Renderers: plans as text, JSON and Markdown, and the reports of explain and history.
They only format what the library computed; none reads a database or a file."""
