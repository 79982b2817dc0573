"""The project's exception types: one root, so callers catch one thing.

Every message is a full sentence that says what went wrong and what to do about it;
the CLI prints it on one line and exits with `exit_code`.
"""

from __future__ import annotations


class InterviewAudioError(Exception):
    """Root of every error the library raises on purpose."""

    exit_code = 1


class InputError(InterviewAudioError):
    """The article or script file cannot be read (missing, binary, undecodable, empty)."""

    exit_code = 2


class ParseError(InputError):
    """The text was read but holds no interview we can recognise."""


class ScriptError(InputError):
    """A YAML script is malformed; the message says where."""


class VoicesError(InterviewAudioError):
    """voices.yaml is invalid; the message names the file, the line and the valid choices."""

    exit_code = 2


class EngineError(InterviewAudioError):
    """A speech engine failed or cannot be used."""


class EngineUnavailable(EngineError):
    """An engine cannot run here: missing package, unreachable service, missing model file."""


class SynthesisError(EngineError):
    """A line could not be synthesized after all retries; names the turn."""


class RenderError(InterviewAudioError):
    """Assembling, encoding or tagging the episode failed."""


class ServeError(InterviewAudioError):
    """`serve` cannot listen: the port is busy or not allowed, or the address is wrong."""


class ExecutorError(InterviewAudioError):
    """Where lines are synthesized cannot be used: Ray missing, cluster unreachable or lost."""
