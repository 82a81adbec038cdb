"""`fedft` command line. Each subcommand lives in its own module exposing `add_parser(subparsers)`."""
