"""Reads feeds with feedparser (the parser behind many readers and aggregators) and prints
what it understood as JSON, for tests/it/reader.rs.

    python feedparser_read.py URL [URL ...]
"""

import json
import sys

import feedparser

out = []
for url in sys.argv[1:]:
    parsed = feedparser.parse(url)
    out.append(
        {
            "url": url,
            "bozo": bool(parsed.bozo),
            "version": parsed.version,
            "title": parsed.feed.get("title"),
            "entries": [
                {
                    "title": e.get("title"),
                    "has_content": bool(e.get("content")),
                    "summary": e.get("summary"),
                    "thumbnails": [t.get("url") for t in e.get("media_thumbnail", [])],
                    "enclosures": [x.get("href") for x in e.get("enclosures", [])],
                }
                for e in parsed.entries
            ],
        }
    )
print(json.dumps(out, ensure_ascii=False))
