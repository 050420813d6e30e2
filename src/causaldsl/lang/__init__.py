"""The .causal language: syntax tree (``ast``), expressions (``expr``), elaboration into the IR
(``elaborate``), diagnostics with source positions (``diagnostics``) and loading (``loader``)."""
