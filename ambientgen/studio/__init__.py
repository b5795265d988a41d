"""AmbientGen Studio: a local web mixer to audition, shape and re-export a soundscape (``ambientgen studio``).

The server (:mod:`ambientgen.studio.app`, FastAPI) uses only the public library API
(:func:`ambientgen.render`, :func:`ambientgen.load_scene`, :func:`ambientgen.scene_from_dict`,
:func:`ambientgen.plan_scene`), so the page, the command line and a notebook render through one engine.
The page (``static/``: one HTML file, CSS and plain JavaScript, no build step) plays the render's stems
through WebAudio and places them again the way the renderer does, so a slider is heard at once; Export
re-renders through the pipeline, where mix-only edits cost no model calls (the render cache).

==========  ================================================================================================
module      what it offers
==========  ================================================================================================
``app``     the FastAPI server and its JSON API (``/api/state``, ``validate``, ``save``, ``export``, ``job``, files)
``state``   what the studio has open (``StudioSession``): the scene, the render folder, the export in progress
``static/`` the page: one HTML file, CSS and plain JavaScript
==========  ================================================================================================

Needs the ``studio`` extra: ``pip install 'ambientgen[studio]'``.
"""

from __future__ import annotations

from .state import StudioSession, open_session

__all__ = ["StudioSession", "open_session", "serve"]


def serve(target: str | None = None, *, output: str | None = None, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True, allow_remote: bool = False, on_message=None) -> None:
    """Open ``target`` (a scene file, a render folder or a description) and serve the studio until Ctrl-C.

    Raises
    ------
    AmbientgenError
        The target cannot be opened, the studio extra is missing, or ``host`` is not a loopback
        address and ``allow_remote`` was not given.
    """
    from .app import check_address, run

    check_address(host, port, allow_remote=allow_remote)
    session = open_session(target, output=output)
    run(session, host=host, port=port, open_browser=open_browser, allow_remote=allow_remote, on_message=on_message)
