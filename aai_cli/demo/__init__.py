"""`aai serve --demo`: the whole backend on a laptop, with no Auth0 tenant.

`run.start()` refuses a real environment (`guard`), starts the local Auth0
(`aai_cli.localauth0`) on loopback beside the API, points this process's settings at it
and at its own SQLite file, fills both with the demo people (`personas`, `seed`) and
writes `.aai-demo.json` (`state`), which `aai demo info|token|env` read (`client`).

This package sits beside the commands: it uses the services and the local Auth0; nothing
but the `serve` and `demo` commands imports it.
"""
