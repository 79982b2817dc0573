"""Synthesis: text as it is read aloud, the engines, the executors and the cache."""
