"""One module per subcommand, each thin: ``add_arguments(parser)`` declares the options (defaults
taken from the library) and ``main(args) -> int`` calls the library and prints. :mod:`chessformer.cli`
imports only the module of the command being run, so one broken dependency
(torch, say) does not break the other commands."""
