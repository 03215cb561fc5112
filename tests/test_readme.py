"""The commands the README and the manual (``book/usage.md``) show work as written.

Convention: every line of a ```` ```bash ```` block is a command (``\\`` continues it, ``&&``
chains commands, ``NAME=value`` in front sets the environment, a line that starts with ``#``
is a comment). A trailing comment that starts with ``long-running`` marks a command that
trains or builds: it is checked, not run. The README's other ``harnb`` commands are run here,
in a temporary data folder; every ``harnb`` command is parsed by the command line's own
parser (with its model, profile and part names checked); every ``papermill`` command must
name parameters its notebook's ``parameters`` cell has, and pass ``-p run False`` where the
chapter has a ``run`` switch, so that no example starts a grid without saying so; ``make``
targets must exist in the Makefile.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harnb.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
USAGE = REPO / "book" / "usage.md"
LONG = "long-running"


@dataclass
class Command:
    """One command of a documentation file's bash blocks."""

    doc: str
    line: int
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    comment: str = ""

    @property
    def long(self) -> bool:
        """Marked as training or building (checked, never run)."""
        return self.comment.startswith(LONG)

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {shlex.join(self.argv)}"


def bash_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, logical line) of every ```bash block, continuation lines joined."""
    out: list[tuple[int, str]] = []
    inside, pending, start = False, "", 0
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.strip().startswith("```"):
            inside = raw.strip() == "```bash" if not inside else False
            continue
        if not inside:
            continue
        line = raw.rstrip()
        if not pending:
            start = i
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    return out


def commands(path: Path) -> list[Command]:
    """Every command of ``path``'s bash blocks (see the module's docstring)."""
    cmds = []
    for n, line in bash_lines(path):
        if not line.strip() or line.strip().startswith("#"):
            continue
        m = re.search(r"\s#\s?(.*)$", line)
        comment = m.group(1).strip() if m else ""
        tokens = shlex.split(line, comments=True)
        chain: list[list[str]] = [[]]
        for t in tokens:
            if t == "&&":
                chain.append([])
            else:
                chain[-1].append(t)
        for argv in chain:
            env = {}
            while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):
                k, _, v = argv.pop(0).partition("=")
                env[k] = v
            cmds.append(Command(path.name, n, argv, env, comment))
    return cmds


def notebook_parameters(nb: Path) -> dict[str, object]:
    """Names and default values of the notebook's ``parameters`` cell (read with ast)."""
    cells = json.loads(nb.read_text())["cells"]
    (cell,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    out: dict[str, object] = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{nb.name}: parameters cell holds {ast.dump(node)}"
        for target in node.targets:
            assert isinstance(target, ast.Name)
            out[target.id] = ast.literal_eval(node.value)
    return out


def papermill_parameters(argv: list[str]) -> tuple[Path, dict[str, str]]:
    """The input notebook and the ``-p name value`` pairs of a papermill command."""
    args = argv[1:]
    nb, params, i = None, {}, 0
    while i < len(args):
        a = args[i]
        if a in ("-p", "--parameters"):
            params[args[i + 1]] = args[i + 2]
            i += 3
            continue
        if not a.startswith("-") and nb is None:
            nb = REPO / a
        i += 1
    assert nb is not None, argv
    return nb, params


def papermill_value(text: str) -> object:
    """A ``-p`` value as papermill's command line reads it (True/False/None, numbers, text)."""
    try:
        from papermill.cli import _resolve_type

        return _resolve_type(text)
    except ImportError:  # pragma: no cover - papermill is a dev dependency
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text


def check_harnb(cmd: Command) -> None:
    """The arguments parse, and the names in them exist (profile, models, plan part)."""
    from harnb.config import ARCHITECTURES
    from harnb.training.profiles import get_part, get_profile

    try:
        args = build_parser().parse_args(cmd.argv[1:])
    except SystemExit as e:  # --help exits 0 once it has printed the usage
        if e.code != 0:
            pytest.fail(f"{cmd}: does not parse (exit {e.code})")
        return
    models = getattr(args, "model", None)
    if args.command in ("run", "publish", "pretrain") and models:
        models = [models] if isinstance(models, str) else models
        assert set(models) <= set(ARCHITECTURES), cmd
    if args.command in ("run", "book", "publish", "pretrain", "finetune"):
        get_profile(args.profile)
    if args.command == "run" and args.part:
        get_part(args.part)
    if args.command in ("finetune", "export"):
        from harnb.pretrained import available

        source = args.model if args.command == "finetune" else args.source
        if "." not in source and "/" not in source and source in ARCHITECTURES:
            assert source in available(), f"{cmd}: {source} is not released"


def check_papermill(cmd: Command) -> None:
    """The notebook exists, every ``-p`` name is one of its parameters (with a value of the
    default's kind), and a chapter with a ``run`` switch gets ``-p run False``."""
    nb, params = papermill_parameters(cmd.argv)
    assert nb.is_file(), f"{cmd}: no notebook {nb}"
    have = notebook_parameters(nb)
    unknown = sorted(set(params) - set(have))
    assert not unknown, f"{cmd}: {nb.name} has no parameter {unknown} (it has {sorted(have)})"
    for name, text in params.items():
        value, default = papermill_value(text), have[name]
        if isinstance(default, bool | int | float | str):
            assert isinstance(value, type(default)), f"{cmd}: -p {name} {text} ({default!r})"
    if "run" in have:
        assert papermill_value(params.get("run", "True")) is False, (
            f"{cmd}: {nb.name} trains its profile's smoke check unless given -p run False"
        )


def check_make(cmd: Command) -> None:
    """A ``make`` target the Makefile defines."""
    rules = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))
    for target in cmd.argv[1:]:
        assert target in rules, f"{cmd}: no Makefile target {target!r}"


def check(cmd: Command) -> None:
    """The check of one command, by its program."""
    prog = cmd.argv[0] if cmd.argv else ""
    if prog in (".", "source"):  # shell set-up (the environment `make` creates)
        return
    checks = {"harnb": check_harnb, "papermill": check_papermill, "make": check_make}
    assert prog in checks, f"{cmd}: no check for {prog!r}; add one or leave it out of a bash block"
    checks[prog](cmd)


DOCS = [README, USAGE]


def test_the_convention_reads_the_docs() -> None:
    """The parser of the convention finds what it must: the two make lines first, a marked
    command, an unmarked one, a continued line, a chain with environment assignments."""
    first = commands(README)[:2]
    assert [c.argv for c in first] == [["make", "book"], ["make", "test"]]
    readme = commands(README)
    assert any(c.long for c in readme) and any(c.argv[0] == "harnb" and not c.long for c in readme)
    usage = commands(USAGE)
    slurm = [c for c in usage if "slurm:8" in c.argv]
    assert slurm and slurm[0].env == {"HARNB_DATA": "/shared/harnb", "KERAS_BACKEND": "jax"}
    assert slurm[0].argv[-2:] == ["--out", "/shared/harnb/results/full.csv"] and slurm[0].long
    chained = [c for c in usage if c.env == {"HARNB_DATA": "/shared/harnb"}]
    assert [c.argv[1:3] for c in chained] == [["data", "fetch"], ["data", "windows"]]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_command_checks(doc: Path) -> None:
    cmds = commands(doc)
    assert len(cmds) >= 5, doc
    for cmd in cmds:
        check(cmd)


def test_the_checks_catch_what_the_issue_found(tmp_path: Path) -> None:
    """The README's old chapter example, an unknown option, a grid with no `-p run False`."""
    old = Command("x", 1, shlex.split("papermill notebooks/05_lodo.ipynb out.ipynb -p model hart"))
    with pytest.raises(AssertionError, match="has no parameter"):
        check(old)
    silent = Command(
        "x", 1, shlex.split("papermill notebooks/05_lodo.ipynb o.ipynb -p profile cpu")
    )
    with pytest.raises(AssertionError, match="-p run False"):
        check(silent)
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        check(Command("x", 1, ["harnb", "run", "--modell", "hart"]))
    with pytest.raises(AssertionError, match="not released"):
        check(Command("x", 1, shlex.split("harnb finetune --model mobilehart --data d")))
    with pytest.raises(AssertionError, match="no Makefile target"):
        check(Command("x", 1, ["make", "docs"]))


def test_chapter_examples_do_not_start_a_grid() -> None:
    """Every chapter with a `run` switch defaults it to True (the build's smoke check), so
    each documented papermill command must turn it off; papermill's own inspection agrees on
    the names it can read."""
    import papermill

    seen = 0
    for doc in DOCS:
        for cmd in commands(doc):
            if cmd.argv[0] != "papermill":
                continue
            nb, params = papermill_parameters(cmd.argv)
            assert params.get("run") == "False", cmd
            inspected = papermill.inspect_notebook(str(nb))
            assert set(params) <= set(inspected), (cmd, sorted(inspected))
            seen += 1
    assert seen >= 2


@pytest.mark.mirror
def test_readme_cheap_commands_run(mirror: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """The README's unmarked commands, in order, in a fresh data folder and with
    ``HARNB_MIRROR`` unset where the default mirror exists (as in a fresh shell)."""
    from harnb import config

    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "data"))
    if config.default_mirror().is_dir():
        monkeypatch.delenv("HARNB_MIRROR", raising=False)
    else:
        monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    monkeypatch.chdir(tmp_path)
    ran = []
    for cmd in commands(README):
        if cmd.long or cmd.argv[0] != "harnb":
            continue
        for k, v in cmd.env.items():
            monkeypatch.setenv(k, v)
        t = time.perf_counter()
        rc = main(cmd.argv[1:])
        out, err = capsys.readouterr()
        assert rc == 0, f"{cmd}: exit {rc}: {err}"
        assert "Traceback" not in err, cmd
        ran.append((" ".join(cmd.argv[1:3]), out, time.perf_counter() - t))
    what = [r[0] for r in ran]
    assert {"--help", "data list", "data fetch", "run --plan"} <= set(what), what
    outputs = {r[0]: r[1] for r in ran}
    assert "UCI" in outputs["data fetch"] and (tmp_path / "data" / "raw" / "UCI").is_dir()
    assert "estimated hours" in outputs["run --plan"]
    assert all(s < 60 for _, _, s in ran), [(w, round(s, 1)) for w, _, s in ran]
