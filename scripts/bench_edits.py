"""The bench scripts' edit timings share this: which post to edit, keeping the edits off any
corpus it is hard-linked with, retitling it, putting it back, and the percentiles reported.
Each script keeps its own loop: what "visible" means differs (a feed, a cache, every replica).
"""

import os
import re
import shutil
import urllib.request


def newest_post(content, feed_url):
    """The file of the first entry of the feed at `feed_url` (tidings' tag ids end with the
    post's path under the content directory)."""
    feed = urllib.request.urlopen(feed_url).read().decode()
    first_id = re.search(r"<entry><title>.*?</title><id>tag:[^:]+:([^<]+)</id>", feed).group(1)
    return os.path.join(content, urllib.request.unquote(first_id))


def make_private(path, scratch):
    """Replaces `path`, if it is hard-linked, with a copy of the same bytes (tidings sees the
    same hash and changes nothing), so that edits never reach another corpus. True if it did."""
    if os.stat(path).st_nlink < 2:
        return False
    private = os.path.join(scratch, ".private-copy")
    shutil.copyfile(path, private)
    os.replace(private, path)
    return True


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def retitled(original, marker):
    """The post's text with `marker` as its title."""
    return re.sub(r"^title:.*$", f'title: "{marker}"', original, count=1, flags=re.M)


def percentile(samples, q):
    xs = sorted(samples)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]
