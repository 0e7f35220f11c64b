"""`python -m autograder`: the command without its console script (as Gradescope's run_autograder calls it)."""
from autograder.cli import main

main()
