"""A Sphinx extension for the book: a glued output named ``tbl-...`` is a numbered *table*.

myst-nb captions a glued output only with ``{glue:figure}``, so a glued table would be
numbered and referred to as "Figure N". Here every such figure whose name starts with
``tbl-`` becomes a :class:`glued_table` node, which Sphinx numbers as a table ("Table N",
``numfig_format``), with its caption above the table as tables are captioned.

Enabled in ``_config.yml`` (``sphinx: extra_extensions``).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.transforms import SphinxTransform

#: The name prefix that makes a glued output a table.
PREFIX = "tbl-"


class glued_table(nodes.figure):  # noqa: N801 (docutils node classes are lower case)
    """A glued output captioned and numbered as a table."""


class GluedTables(SphinxTransform):
    """Turn ``{glue:figure}`` outputs named ``tbl-...`` into :class:`glued_table` nodes."""

    default_priority = 200  # after the document is parsed, before labels are collected

    def apply(self, **kwargs: Any) -> None:
        for fig in list(self.document.findall(nodes.figure)):
            if type(fig) is not nodes.figure or not any(i.startswith(PREFIX) for i in fig["ids"]):
                continue
            caption = [c for c in fig.children if isinstance(c, nodes.caption)]
            rest = [c for c in fig.children if not isinstance(c, nodes.caption)]
            # docutils closes <figcaption> only after a last caption: close it here instead
            close = [nodes.raw("", "</figcaption>\n", format="html")] if caption else []
            table = glued_table(fig.rawsource, *caption, *close, *rest, **fig.attributes)
            table["classes"] = [*table["classes"], "harnb-table"]
            table.source, table.line = fig.source, fig.line
            fig.replace_self(table)
            for i in table["ids"]:
                self.document.ids[i] = table


def _visit(self, node: nodes.Element) -> None:
    self.visit_figure(node)


def _depart(self, node: nodes.Element) -> None:
    self.body.append("</figure>\n")  # the caption, first, closed its own <figcaption>


def setup(app) -> dict[str, Any]:
    app.add_enumerable_node(glued_table, "table", html=(_visit, _depart))
    app.add_transform(GluedTables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
