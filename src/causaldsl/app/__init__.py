"""The application layer: the command line, the REPL, and answering the statements of a program."""
