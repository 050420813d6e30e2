"""Malformed network files found in review: an empty name, a node without states, and a number
Python's float() would take ("0_5" is 5) are refused at their place, never read on."""

import pytest

from causaldsl.app.cli import main

XMLBIF = """<?xml version="1.0"?>
<BIF VERSION="0.3"><NETWORK><NAME>n</NAME>
<VARIABLE TYPE="nature"><NAME>{name}</NAME><OUTCOME>a</OUTCOME><OUTCOME>b</OUTCOME></VARIABLE>
<DEFINITION><FOR>{name}</FOR><TABLE>{numbers}</TABLE></DEFINITION>
</NETWORK></BIF>
"""


@pytest.mark.parametrize("suffix, text, where", [
    (".dagitty", 'dag { "" -> B }\n', "1:7: error: a node's name is empty"),
    (".net", 'net {}\nnode A\n{\n  states = ();\n}\n', "4:3: error: node A has no states"),
    (".xmlbif", XMLBIF.format(name="", numbers="0.5 0.5"),
     "3:25: error: <NAME> is empty (the variable's name)"),
    (".xmlbif", XMLBIF.format(name="A", numbers="0_5 0.5"),
     "4:25: error: '0_5' in the table of A is not a number"),
])
def test_refused_at_their_place(tmp_path, capsys, suffix, text, where):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{where}" in err and "Traceback" not in err
