"""Names of the report files and folders, kept apart so the command line can build its parser without
importing the renderers (which pull in the whole statistics engine)."""

from __future__ import annotations

import re

__all__ = ["FORMATS", "report_folder_name", "CHALLENGERS_FOLDER"]

#: Subfolder of a champion's report folder that holds each challenger's own report set.
CHALLENGERS_FOLDER = "challengers"

#: Output formats of ``audit run --format`` and their file names. ``mct`` is a Model Card Toolkit JSON card,
#: ``hf`` a Hugging Face model card (named README.md, as a model repository's card is).
FORMATS = {"html": "model_card.html", "json": "findings.json", "junit": "junit.xml", "md": "summary.md",
           "mct": "model_card_toolkit.json", "hf": "README.md"}


def report_folder_name(name: str) -> str:
    """The audit name made safe as a folder name.

    Parameters
    ----------
    name : str
        The audit's ``name``.

    Returns
    -------
    str
        ``name`` with every run of other characters than letters, digits, ``.``, ``_`` and ``-`` replaced
        by ``-``; ``"audit"`` when nothing is left.

    Examples
    --------
    >>> report_folder_name("Adult income / v2")
    'Adult-income-v2'
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned or "audit"
