"""Voices and casting: what voices.yaml says, and which voice each speaker gets."""
