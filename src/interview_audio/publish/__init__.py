"""Publishing: tags, captions, the manifest, the episode and library pages, the feed, `serve`."""
