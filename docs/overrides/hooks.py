"""MkDocs hooks of the documentation site (mkdocs.yml `hooks:`).

The site's changelog page is CHANGELOG.md from the repository's root, where its links say
`docs/updating.md`; on the site it sits next to those pages, so the links lose `docs/`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_ROOT_DOCS_LINK = re.compile(r"\]\(docs/")


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    if page.file.src_uri != "changelog.md":
        return markdown
    changelog = Path(config["config_file_path"]).parent / "CHANGELOG.md"
    return _ROOT_DOCS_LINK.sub("](", changelog.read_text(encoding="utf-8"))
