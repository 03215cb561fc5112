"""Shared reading helpers: fast bulk parsing that still names the file and line of a bad row.

Loaders parse with pandas' C reader (millions of rows in seconds). Only when that fails, or
yields NaN where none is allowed, do we re-scan the text line by line to report *where* the
file departs from its published format: errors must be actionable, the common path fast.

Datasets made of many small numeric files (MotionSense, UCI HAPT, MobiFall) go through
:func:`read_numeric_tables`, which parses many files per reader call: ``read_csv`` costs about a
millisecond per call before it reads a byte, as much as parsing a whole small file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harnb import config
from harnb.data.datasets.base import DataFormatError

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf)$")


def _is_float(s: str) -> bool:
    return bool(_FLOAT_RE.match(s.strip()))


def find_bad_line(
    text: str,
    kinds: Sequence[str],
    *,
    sep: str | None,
    first_line: int,
    allow_nan: Sequence[bool] | None = None,
    extra_ok: bool = False,
) -> tuple[int, str] | None:
    """First line (1-based, counted in the whole file) not matching ``kinds``, with the reason.

    ``kinds`` holds one code per field: ``f`` float, ``i`` integer, ``s`` any string.
    ``first_line`` is the 1-based number of the first line of ``text`` in its file.
    Slow (pure Python) and only called on the error path.
    """
    for k, line in enumerate(text.splitlines()):
        lineno = first_line + k
        if not line.strip():
            continue
        fields = line.split(sep) if sep else line.split()
        if len(fields) != len(kinds) and not (extra_ok and len(fields) > len(kinds)):
            return lineno, f"expected {len(kinds)} fields, found {len(fields)}"
        for j, (kind, f) in enumerate(zip(kinds, fields, strict=False)):
            f = f.strip()
            if kind == "f":
                if not _is_float(f):
                    return lineno, f"field {j + 1} is not a number: {f!r}"
                if f.lower() == "nan" and not (allow_nan and allow_nan[j]):
                    return lineno, f"field {j + 1} is NaN"
            elif kind == "i" and not re.fullmatch(r"[+-]?\d+", f):
                return lineno, f"field {j + 1} is not an integer: {f!r}"
    return None


def format_error(source: str | Path, lineno: int | None, reason: str) -> DataFormatError:
    """A DataFormatError whose message starts with ``file, line N:``."""
    where = f"{source}, line {lineno}" if lineno is not None else f"{source}"
    return DataFormatError(f"{where}: {reason} (not the dataset's published format)")


def read_table(
    data: str | Path | bytes,
    kinds: str,
    *,
    source: str | Path | None = None,
    sep: str | None = ",",
    skip_lines: int = 0,
    usecols: Sequence[int] | None = None,
    allow_nan: Sequence[bool] | None = None,
    dtype: dict[int, object] | None = None,
    extra_ok: bool = False,
    line_offset: int = 0,
    check_fields: bool = False,
) -> pd.DataFrame:
    """Parse a headerless delimited table fast; on any format problem name the file and line.

    ``data`` is a path or the raw bytes of a file (e.g. a zip member; then ``source`` names it).
    ``kinds`` has one code per field (``f``/``i``/``s``), ``sep=None`` means whitespace.
    ``skip_lines`` lines (a header) are skipped and counted in reported line numbers.
    ``line_offset`` is added to reported line numbers when ``data`` is the tail of a file.
    ``check_fields`` counts the fields of every line (vectorised): needed where NaN is allowed,
    since the reader pads a short (truncated) row with NaN silently.
    Columns are returned with integer names 0..n-1 (or the ``usecols`` subset).
    """
    name = source if source is not None else data
    raw: bytes = data if isinstance(data, bytes) else Path(data).read_bytes()
    if not raw.strip():
        raise format_error(name, None, "file is empty")
    ncol = len(kinds)
    dt: dict[int, object] = {
        j: (np.float64 if k == "f" else np.int64 if k == "i" else str) for j, k in enumerate(kinds)
    }
    if dtype:
        dt.update(dtype)
    cols = list(usecols) if usecols is not None else list(range(ncol))
    nan_ok = list(allow_nan) if allow_nan is not None else [False] * ncol
    try:
        df = pd.read_csv(
            io.BytesIO(raw),
            sep=sep if sep else r"\s+",
            header=None,
            names=list(range(ncol)),
            usecols=cols,
            skiprows=skip_lines,
            dtype={j: dt[j] for j in cols},
            engine="c",
            skip_blank_lines=True,
            index_col=False,
            on_bad_lines="error",
            keep_default_na=False,  # HHAR's label "null" is data, not a missing value
            na_values=["", "NaN", "nan", "NA"],
        )
    except (ValueError, pd.errors.ParserError) as e:
        bad = _scan(raw, kinds, sep, skip_lines, nan_ok, extra_ok, line_offset)
        if bad is None:
            raise format_error(name, None, f"unreadable ({e})") from e
        raise format_error(name, *bad) from e
    if check_fields:
        bad_row = _short_row(raw, skip_lines, ncol, sep)
        if bad_row is not None:
            lineno, nf = bad_row
            raise format_error(name, lineno + line_offset, f"expected {ncol} fields, found {nf}")
    # a short row parses as NaN in its missing fields: find it unless NaN is allowed there
    float_cols = [j for j in cols if kinds[j] == "f" and not nan_ok[j]]
    if float_cols and df[float_cols].isna().to_numpy().any():
        bad = _scan(raw, kinds, sep, skip_lines, nan_ok, extra_ok, line_offset)
        row = int(np.flatnonzero(df[float_cols].isna().to_numpy().any(axis=1))[0])
        raise format_error(name, *(bad or (None, f"missing value in data row {row + 1}")))
    str_cols = [j for j in cols if kinds[j] == "s"]
    if str_cols and df[str_cols].isna().to_numpy().any():
        bad = _scan(raw, kinds, sep, skip_lines, nan_ok, extra_ok, line_offset)
        raise format_error(name, *(bad or (None, "missing text field")))
    return df


#: dtype of each numeric field kind in :func:`read_numeric_tables`
_NUMERIC_DTYPE = {"f": np.float64, "i": np.int64}


def read_numeric_tables(
    items: Iterable[tuple[str | Path, bytes, int, int]],
    kinds: str,
    *,
    sep: str | None = ",",
    usecols: Sequence[int] | None = None,
    chunk_bytes: int = 1 << 21,
) -> Iterator[np.ndarray]:
    """Parse many headerless numeric tables (one per file) with few calls to the C reader.

    Each item is ``(source, raw, start, line_offset)``: the table is ``raw[start:]`` (the bytes
    of a file, ``start`` past its header), whose first line is line ``line_offset + 1`` of
    ``source``. ``kinds`` holds ``f`` (float) or ``i`` (integer) per field; ``sep`` is one
    character, ``None`` meaning whitespace. Yields, in item order, one C-contiguous float64
    array ``(rows, len(usecols))`` per item (integer fields are checked as integers, returned as
    float64). Items are consumed lazily, so the caller may read its files inside the iterable;
    memory stays about ``chunk_bytes`` of text plus the parsed arrays.

    Files are streamed, a newline between two files, into one ``read_csv`` call per
    ``chunk_bytes`` (no NA strings, no quoting, only ``\n`` ends a line; whitespace tables are
    tried with single spaces), counting newlines on the way. A chunk is accepted only if it
    parses, its row count equals the files' line counts (so each file gets exactly its own rows)
    and every row has exactly ``len(kinds)`` fields (the reader's own check, or a separator
    count where ``usecols`` would hide extra fields). Anything else, blank lines and NaN
    included, sends each file of that chunk through :func:`read_table`, as if read alone: the
    same values where it is readable, the file and line of the first bad row where it is not.
    """
    if not kinds or any(k not in _NUMERIC_DTYPE for k in kinds):
        raise ValueError(f"read_numeric_tables reads numeric fields only, got kinds {kinds!r}")
    if sep is not None and len(sep) != 1:
        raise ValueError(f"sep must be one character or None, got {sep!r}")
    cols = sorted(set(usecols)) if usecols is not None else list(range(len(kinds)))
    pending: list[tuple[str | Path, bytes, int, int, int]] = []
    size = 0
    for source, raw, start, line_offset in items:
        end = content_end(raw, start)
        pending.append((source, raw, start, end, line_offset))
        size += end - start
        if size >= chunk_bytes:
            yield from _parse_many(pending, kinds, sep, cols)
            pending, size = [], 0
    if pending:
        yield from _parse_many(pending, kinds, sep, cols)


def content_end(raw: bytes, start: int) -> int:
    """Index just past the last non-whitespace byte of ``raw[start:]`` (``start`` if none)."""
    end = len(raw)
    while end > start:
        tail = raw[max(start, end - 64) : end]
        kept = len(tail.rstrip())
        if kept:
            return end - len(tail) + kept
        end -= len(tail)
    return start


class _Joined(io.RawIOBase):
    """Byte ranges of several files read as one stream, ``\n`` after each, without joining
    them; counts each range's newlines and all separators while the reader pulls the bytes."""

    def __init__(self, parts: list[tuple[bytes, int, int]], sep: int | None) -> None:
        self._parts = parts
        self._sep = sep
        self._i = 0
        self._pos = parts[0][1] if parts else 0
        self.newlines = [0] * len(parts)
        self.seps = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size == 0:
            return b""
        while self._i < len(self._parts):
            raw, _, end = self._parts[self._i]
            if self._pos >= end:  # this range is done: end its last line
                self._i += 1
                if self._i < len(self._parts):
                    self._pos = self._parts[self._i][1]
                return b"\n"
            stop = end if size is None or size < 0 else min(end, self._pos + size)
            piece = raw[self._pos : stop]
            self._pos = stop
            a = np.frombuffer(piece, np.uint8)
            self.newlines[self._i] += int(np.count_nonzero(a == 10))
            if self._sep is not None:
                self.seps += int(np.count_nonzero(a == self._sep))
            return piece
        return b""


def _parse_many(
    pending: list[tuple[str | Path, bytes, int, int, int]],
    kinds: str,
    sep: str | None,
    cols: list[int],
) -> Iterator[np.ndarray]:
    """One chunk of :func:`read_numeric_tables`: the fast joint parse, or file by file."""
    ncol = len(kinds)
    fast_sep = sep if sep else " "
    out = None
    # Every field parsed: the reader itself rejects a row with more fields than ncol, except
    # the first row of the chunk (it takes the leading fields), which is checked here.
    every = cols == list(range(ncol))
    every_ok = True
    if every and pending:
        _, raw, start, end, _ = pending[0]
        eol = raw.find(b"\n", start, end)
        first = raw[start : eol if eol >= 0 else end].rstrip()
        every_ok = first.count(fast_sep.encode()) == ncol - 1
    if all(end > start for _, _, start, end, _ in pending) and (not every or every_ok):
        # Else: the last field is always parsed, a row short of it fails to convert, and
        # the separator count shows a row with extra fields (which usecols hides).
        parse_cols = cols if cols[-1] == ncol - 1 else [*cols, ncol - 1]
        src = _Joined(
            [(raw, start, end) for _, raw, start, end, _ in pending],
            None if every else ord(fast_sep),
        )
        try:
            df = pd.read_csv(
                src,
                sep=fast_sep,
                header=None,
                names=list(range(ncol)),
                usecols=None if every else parse_cols,
                dtype={j: _NUMERIC_DTYPE[kinds[j]] for j in parse_cols},
                engine="c",
                index_col=False,
                quoting=csv.QUOTE_NONE,
                na_filter=False,
                lineterminator="\n",
                skip_blank_lines=True,
            )
        except (ValueError, pd.errors.ParserError):
            df = None
        rows = [k + 1 for k in src.newlines]
        total = sum(rows)
        if df is not None and len(df) == total and (every or src.seps == total * (ncol - 1)):
            out = np.empty((total, len(cols)))
            for j, c in enumerate(cols):  # one strided copy per column, no interleaving
                out[:, j] = df[c].to_numpy()
            if out.size and np.isnan(out.min()):
                out = None
    if out is None:  # slow path: per file, naming the file and line of a bad row
        for source, raw, start, _, line_offset in pending:
            df = read_table(
                raw[start:] if start else raw,
                kinds,
                source=source,
                sep=sep,
                usecols=cols,
                line_offset=line_offset,
            )
            yield np.array(df.to_numpy(np.float64), order="C")  # an own, writable copy
        return
    bounds = np.cumsum([0, *rows])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        yield out[a:b]


def _short_row(
    raw: bytes, skip_lines: int, ncol: int, sep: str | None, chunk: int = 1 << 23
) -> tuple[int, int] | None:
    """(1-based line, field count) of the first non-blank line without ``ncol`` fields.

    Vectorised over ~8 MB chunks cut at line ends, so memory stays small on 150 MB files.
    """
    line0 = 0  # lines before the current chunk
    pos = 0
    while pos < len(raw):
        end = min(pos + chunk, len(raw))
        if end < len(raw):
            nl_at = raw.rfind(b"\n", pos, end)
            end = nl_at + 1 if nl_at >= pos else raw.find(b"\n", end) + 1 or len(raw)
        part = raw[pos:end]
        bad = _short_row_chunk(part, ncol, sep)
        n_here = part.count(b"\n") + (0 if part.endswith(b"\n") else 1)
        for k, nf in bad:
            if line0 + k >= skip_lines:
                return line0 + k + 1, nf
        line0 += n_here
        pos = end
    return None


def _short_row_chunk(part: bytes, ncol: int, sep: str | None) -> list[tuple[int, int]]:
    a = np.frombuffer(part, dtype=np.uint8)
    filled = a > 32  # not whitespace/control
    if sep is None:
        starts = filled.copy()  # first byte of each field
        starts[1:] &= ~filled[:-1]
    else:
        starts = a == ord(sep)
    cs = np.cumsum(starts, dtype=np.int32)
    ends = np.flatnonzero(a == 10)
    if not part.endswith(b"\n"):
        ends = np.append(ends, len(a) - 1)
    counts = np.diff(np.concatenate([[0], cs[ends]]))
    if sep is None:
        nonblank = counts > 0
    else:
        fcs = np.cumsum(filled, dtype=np.int32)
        nonblank = np.diff(np.concatenate([[0], fcs[ends]])) > 0
        counts = counts + nonblank
    bad = np.flatnonzero(nonblank & (counts != ncol))
    return [(int(bad[0]), int(counts[bad[0]]))] if len(bad) else []


def _scan(
    raw: bytes,
    kinds: str,
    sep: str | None,
    skip_lines: int,
    nan_ok: list[bool],
    extra_ok: bool,
    line_offset: int,
) -> tuple[int, str] | None:
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    body = "\n".join(lines[skip_lines:])
    first = skip_lines + 1 + line_offset
    return find_bad_line(
        body, kinds, sep=sep, first_line=first, allow_nan=nan_ok, extra_ok=extra_ok
    )


def label_array(codes: np.ndarray, mapping: dict[object, str | None]) -> np.ndarray:
    """Map dataset activity codes to union indices (int8); codes outside ``mapping`` give -1."""
    lut = {k: (config.CLASS_INDEX[v] if v is not None else -1) for k, v in mapping.items()}
    out = pd.Series(codes).map(lut).fillna(-1).to_numpy()
    return out.astype(np.int8)


def sort_unique(t: np.ndarray, xyz: np.ndarray, *extra: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort samples by time and drop repeated timestamps (keep the first), as Stream requires.

    Already strictly increasing timestamps (the usual case) are returned as they are.
    """
    if len(t) < 2 or bool((t[1:] > t[:-1]).all()):
        return (t, xyz, *extra)
    order = np.argsort(t, kind="stable")
    t = t[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = np.diff(t) > 0
    return (t[keep], xyz[order][keep], *(e[order][keep] for e in extra))
