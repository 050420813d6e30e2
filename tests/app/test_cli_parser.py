"""The command line builds only the given command's arguments (a one-shot command skips the
other eleven's): what it prints, accepts and refuses is the same as with every command built."""

from __future__ import annotations

import contextlib
import io

import pytest

from causaldsl.app import cli


def test_the_commands_are_the_parser_s() -> None:
    choices = cli._parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert tuple(choices) == cli.COMMANDS


def _outcome(parser: object, argv: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result: object = vars(parser.parse_args(argv))  # type: ignore[attr-defined]
        except SystemExit as e:
            result = ("exit", e.code)
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_a_command_built_alone_parses_as_with_every_command_built(command: str) -> None:
    for tail in (["--help"], [], ["x.causal"], ["x.causal", "P(Y)", "--json"],
                 ["x.causal", "--no-such-flag"], ["x.causal", "--seed", "-1"]):
        argv = [command, *tail]
        assert _outcome(cli._parser(command), argv) == _outcome(cli._parser(), argv), argv


def test_main_builds_the_given_command_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str | None] = []
    build = cli._parser
    monkeypatch.setattr(cli, "_parser", lambda command=None: asked.append(command) or
                        build(command))
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["check", "examples/smoking.causal"]) == 0
        assert cli.main(["--version"]) == 0
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["nope"]) == 2
    assert asked == ["check", None, None]
