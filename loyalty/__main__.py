"""``python -m loyalty``: the ``loyalty`` command, for a child process whatever the ``loyalty`` script's path."""

from loyalty.console import main

main()
