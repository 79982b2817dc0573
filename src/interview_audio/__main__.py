"""`python -m interview_audio` runs the CLI."""

from interview_audio.cli import main

main()
