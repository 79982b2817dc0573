"""Audio assembly: levelled lines, pauses and chapters into one MP3 and chapter files."""
