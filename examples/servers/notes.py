"""A tiny note-taking MCP server, spoken to over stdio: the quickstart's first upstream.

A client (the hub, or any MCP client) launches it as a subprocess and talks MCP over its
stdin/stdout:

    python examples/servers/notes.py

It offers:

* tools `add_note(title, text)`, `list_notes()` and `get_note(title)`;
* a resource template `notes://{title}`, so each note can also be read as a resource;
* a prompt `summarize_notes`, asking the model to summarize every note.

Notes live in memory and are gone when the process exits.
"""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

mcp = MCPServer("notes", version="1.0.0", instructions="Keeps short text notes, each filed under a title.")

notes: dict[str, str] = {}
"""Every note, by title."""


@mcp.tool()
def add_note(title: str, text: str) -> str:
    """Save a note under `title`, replacing any note already filed under it."""
    replaced = title in notes
    notes[title] = text
    return f"{'Replaced' if replaced else 'Added'} note {title!r}."


@mcp.tool()
def list_notes() -> list[str]:
    """List the titles of all notes, oldest first."""
    return list(notes)


@mcp.tool()
def get_note(title: str) -> str:
    """Return the text of the note filed under `title`."""
    if title not in notes:
        raise ToolError(f"No note titled {title!r}.")
    return notes[title]


@mcp.resource("notes://{title}", mime_type="text/plain")
def note_resource(title: str) -> str:
    """A note, read as a resource."""
    if title not in notes:
        raise ResourceError(f"No note titled {title!r}.")
    return notes[title]


@mcp.prompt()
def summarize_notes() -> str:
    """Ask the model for a short summary of every note."""
    if not notes:
        return "There are no notes yet. Say so, and suggest adding one with the add_note tool."
    listing = "\n".join(f"- {title}: {text}" for title, text in notes.items())
    return f"Summarize these notes in a few sentences:\n\n{listing}"


if __name__ == "__main__":
    mcp.run("stdio")
