"""`python -m aai_cli.localauth0`: the local Auth0 by hand (see aai_cli/localauth0/server.py)."""

from aai_cli.localauth0.runner import main

main()
