<?xml version="1.0" encoding="UTF-8"?>
<!--
  Browser preview for tidings' RSS 2.0 and Atom 1.0 documents, served at /feed.xsl.

  Feed readers never apply this; it exists only so that a person who clicks a feed link sees
  a page that tells them what a feed is, instead of a wall of XML.

  Constraints that shaped it:
  - XSLT 1.0 and XPath 1.0 only: that is all browsers implement.
  - No disable-output-escaping anywhere. Firefox ignores it, and where it does work it would
    let post HTML run inside the feed's origin. Every piece of feed text therefore goes out
    through xsl:value-of, which escapes it.
  - No JavaScript and nothing fetched from elsewhere, so the page works under a strict
    Content-Security-Policy and leaks nothing about who opened it.
  - The stylesheet must be served from the same origin as the feeds: browsers refuse to
    apply a cross-origin stylesheet.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:fh="http://purl.org/syndication/history/1.0"
    exclude-result-prefixes="atom content dc fh">

  <!-- XSLT 1.0 cannot write a bare <!DOCTYPE html>; a system id of about:legacy-compat is
       the form HTML5 accepts in its place (libxslt even shortens it to the bare one). -->
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <!-- The two formats differ mostly in names, so everything below reads through these
       variables; only entries get a template per format. A union is used because exactly
       one side of it exists in any given document. -->
  <xsl:variable name="feed" select="/rss/channel | /atom:feed"/>

  <xsl:variable name="lang"
      select="normalize-space((/rss/channel/language | /atom:feed/@xml:lang)[1])"/>

  <xsl:variable name="self-url" select="normalize-space($feed/atom:link[@rel = 'self'][1]/@href)"/>
  <xsl:variable name="current-url" select="normalize-space($feed/atom:link[@rel = 'current'][1]/@href)"/>
  <xsl:variable name="prev-archive-url" select="normalize-space($feed/atom:link[@rel = 'prev-archive'][1]/@href)"/>
  <xsl:variable name="next-archive-url" select="normalize-space($feed/atom:link[@rel = 'next-archive'][1]/@href)"/>

  <!-- Atom allows several alternates; the first HTML one is the site, and a link without
       rel means alternate (RFC 4287 4.2.7.2). -->
  <xsl:variable name="site-href">
    <xsl:call-template name="safe-href">
      <xsl:with-param name="url">
        <xsl:choose>
          <xsl:when test="/atom:feed">
            <xsl:value-of select="normalize-space(/atom:feed/atom:link[(@rel = 'alternate' or not(@rel)) and (not(@type) or @type = 'text/html')][1]/@href)"/>
          </xsl:when>
          <xsl:otherwise>
            <xsl:value-of select="normalize-space(/rss/channel/link)"/>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:variable>

  <xsl:variable name="is-archive" select="boolean($feed/fh:archive)"/>

  <!-- An archive page never changes (RFC 5005), so subscribing to it would be useless:
       point readers at the current feed instead when the page names it. -->
  <xsl:variable name="subscribe-url">
    <xsl:choose>
      <xsl:when test="$is-archive and $current-url != ''">
        <xsl:value-of select="$current-url"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$self-url"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:variable name="title">
    <xsl:call-template name="text-of">
      <xsl:with-param name="node" select="$feed/title | $feed/atom:title"/>
    </xsl:call-template>
  </xsl:variable>

  <xsl:variable name="entries" select="$feed/item | $feed/atom:entry"/>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="$feed">
        <xsl:call-template name="page"/>
      </xsl:when>
      <xsl:otherwise>
        <!-- Reached only if the stylesheet is attached to something that is not one of the
             two formats; an explanation beats the blank page a browser would show. -->
        <html lang="en">
          <head>
            <meta charset="UTF-8"/>
            <title>Unrecognised feed</title>
          </head>
          <body>
            <p>This document is neither RSS 2.0 nor Atom 1.0, so it cannot be previewed.</p>
          </body>
        </html>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="page">
    <html>
      <xsl:if test="$lang != ''">
        <xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute>
      </xsl:if>
      <head>
        <meta charset="UTF-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title>
          <xsl:value-of select="$title"/>
          <xsl:if test="$is-archive"> (archive)</xsl:if>
        </title>
        <xsl:call-template name="style"/>
      </head>
      <body>
        <header>
          <h1><xsl:value-of select="$title"/></h1>
          <xsl:variable name="description">
            <xsl:call-template name="text-of">
              <xsl:with-param name="node" select="$feed/description | $feed/atom:subtitle"/>
            </xsl:call-template>
          </xsl:variable>
          <xsl:if test="$description != ''">
            <p class="description"><xsl:value-of select="$description"/></p>
          </xsl:if>
        </header>

        <xsl:if test="$is-archive">
          <!-- Says so up front: someone arriving from a search engine or an old link should
               learn before reading on that these entries are not the latest. -->
          <p class="notice" lang="en">
            <xsl:text>This is an archive page of </xsl:text>
            <xsl:call-template name="feed-name-link"/>
            <xsl:text>. Its entries do not change; newer ones are in the current feed.</xsl:text>
          </p>
        </xsl:if>

        <section class="subscribe" aria-label="Subscribe" lang="en">
          <p>
            <xsl:choose>
              <xsl:when test="$is-archive and $current-url != ''">
                <strong>This is part of a web feed.</strong>
                <xsl:text> Copy the current feed's address into your feed reader (NetNewsWire, Miniflux, FreshRSS, Feedly, newsboat…) to subscribe.</xsl:text>
              </xsl:when>
              <xsl:otherwise>
                <strong>This is a web feed.</strong>
                <xsl:text> Copy its address into your feed reader (NetNewsWire, Miniflux, FreshRSS, Feedly, newsboat…) to subscribe.</xsl:text>
              </xsl:otherwise>
            </xsl:choose>
          </p>
          <xsl:if test="$subscribe-url != ''">
            <!-- Plain text rather than a link: following it would only reload this page, and
                 user-select: all lets one click select the whole address for copying. -->
            <p><code class="address"><xsl:value-of select="$subscribe-url"/></code></p>
          </xsl:if>
          <xsl:if test="$site-href != ''">
            <p class="site">
              <xsl:text>Not using a feed reader? Read it on the website: </xsl:text>
              <a href="{$site-href}"><xsl:value-of select="$site-href"/></a>
            </p>
          </xsl:if>
        </section>

        <main>
          <h2 lang="en">
            <xsl:choose>
              <xsl:when test="$is-archive">Entries on this archive page</xsl:when>
              <xsl:otherwise>Latest entries</xsl:otherwise>
            </xsl:choose>
          </h2>
          <xsl:choose>
            <xsl:when test="$entries">
              <xsl:apply-templates select="$entries"/>
            </xsl:when>
            <xsl:otherwise>
              <p class="empty" lang="en">No entries yet.</p>
            </xsl:otherwise>
          </xsl:choose>
        </main>

        <xsl:call-template name="archive-nav"/>

        <footer lang="en">
          <xsl:variable name="updated"
              select="normalize-space(($feed/lastBuildDate | $feed/atom:updated)[1])"/>
          <xsl:if test="$updated != ''">
            <p>
              <xsl:text>Last updated </xsl:text>
              <xsl:value-of select="$updated"/>
              <xsl:text>.</xsl:text>
            </p>
          </xsl:if>
          <p>This page is a preview drawn by your browser; feed readers receive the feed itself.</p>
        </footer>
      </body>
    </html>
  </xsl:template>

  <!-- The feed's title inside an English sentence keeps its own language, so the browser
       picks the right CJK glyphs for it. -->
  <xsl:template name="feed-name-link">
    <xsl:variable name="current-href">
      <xsl:call-template name="safe-href">
        <xsl:with-param name="url" select="$current-url"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="$current-href != ''">
        <a href="{$current-href}">
          <xsl:call-template name="lang-attribute"/>
          <xsl:value-of select="$title"/>
        </a>
      </xsl:when>
      <xsl:otherwise>
        <cite>
          <xsl:call-template name="lang-attribute"/>
          <xsl:value-of select="$title"/>
        </cite>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="lang-attribute">
    <xsl:if test="$lang != ''">
      <xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- RFC 5005 puts prev-archive on the subscription document too (it points at the newest
       archive), so the navigation is shown whenever any of the links exist, not only on
       archive pages. -->
  <xsl:template name="archive-nav">
    <xsl:variable name="prev-href">
      <xsl:call-template name="safe-href">
        <xsl:with-param name="url" select="$prev-archive-url"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="next-href">
      <xsl:call-template name="safe-href">
        <xsl:with-param name="url" select="$next-archive-url"/>
      </xsl:call-template>
    </xsl:variable>
    <!-- A subscription document may name itself as current; linking to the page being
         read would be noise. -->
    <xsl:variable name="current-href">
      <xsl:if test="$current-url != $self-url">
        <xsl:call-template name="safe-href">
          <xsl:with-param name="url" select="$current-url"/>
        </xsl:call-template>
      </xsl:if>
    </xsl:variable>
    <xsl:if test="$prev-href != '' or $next-href != '' or $current-href != ''">
      <nav class="archive-nav" aria-label="Feed archive" lang="en">
        <xsl:if test="$prev-href != ''">
          <a rel="prev" href="{$prev-href}">← Older entries</a>
        </xsl:if>
        <xsl:if test="$current-href != ''">
          <a href="{$current-href}">Current feed</a>
        </xsl:if>
        <xsl:if test="$next-href != ''">
          <a rel="next" href="{$next-href}">Newer entries →</a>
        </xsl:if>
      </nav>
    </xsl:if>
  </xsl:template>

  <xsl:template match="item">
    <xsl:call-template name="entry">
      <xsl:with-param name="title">
        <xsl:call-template name="text-of">
          <xsl:with-param name="node" select="title"/>
        </xsl:call-template>
      </xsl:with-param>
      <!-- A guid is a permalink unless it says otherwise (RSS 2.0 spec), so it stands in
           for a missing link. -->
      <xsl:with-param name="url"
          select="(link | guid[not(@isPermaLink) or @isPermaLink = 'true'])[1]"/>
      <xsl:with-param name="date" select="normalize-space((pubDate | dc:date)[1])"/>
      <xsl:with-param name="authors" select="dc:creator | author"/>
      <xsl:with-param name="summary" select="description"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="atom:entry">
    <xsl:call-template name="entry">
      <xsl:with-param name="title">
        <xsl:call-template name="text-of">
          <xsl:with-param name="node" select="atom:title"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="url"
          select="atom:link[(@rel = 'alternate' or not(@rel)) and (not(@type) or @type = 'text/html')][1]/@href"/>
      <xsl:with-param name="date" select="normalize-space((atom:published | atom:updated)[1])"/>
      <xsl:with-param name="machine-date" select="true()"/>
      <!-- Atom entries without an author inherit the feed's (RFC 4287 4.2.1). -->
      <xsl:with-param name="authors"
          select="atom:author/atom:name | self::node()[not(atom:author)]/../atom:author/atom:name"/>
      <xsl:with-param name="summary" select="atom:summary"/>
      <xsl:with-param name="entry-lang" select="normalize-space(@xml:lang)"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="entry">
    <xsl:param name="title"/>
    <xsl:param name="url"/>
    <xsl:param name="date"/>
    <xsl:param name="machine-date" select="false()"/>
    <xsl:param name="authors"/>
    <xsl:param name="summary"/>
    <xsl:param name="entry-lang"/>
    <xsl:variable name="href">
      <xsl:call-template name="safe-href">
        <xsl:with-param name="url" select="$url"/>
      </xsl:call-template>
    </xsl:variable>
    <article class="entry">
      <xsl:if test="$entry-lang != '' and $entry-lang != $lang">
        <xsl:attribute name="lang"><xsl:value-of select="$entry-lang"/></xsl:attribute>
      </xsl:if>
      <h3>
        <xsl:choose>
          <xsl:when test="$href != ''">
            <a href="{$href}">
              <xsl:call-template name="title-or-placeholder">
                <xsl:with-param name="title" select="$title"/>
              </xsl:call-template>
            </a>
          </xsl:when>
          <xsl:otherwise>
            <xsl:call-template name="title-or-placeholder">
              <xsl:with-param name="title" select="$title"/>
            </xsl:call-template>
          </xsl:otherwise>
        </xsl:choose>
      </h3>
      <xsl:if test="$date != '' or $authors">
        <p class="meta">
          <xsl:if test="$date != ''">
            <xsl:choose>
              <!-- Atom dates are RFC 3339, which HTML accepts as a datetime value; RSS's
                   RFC 822 dates are not, so they get no machine-readable markup. -->
              <xsl:when test="$machine-date">
                <time datetime="{$date}"><xsl:value-of select="$date"/></time>
              </xsl:when>
              <xsl:otherwise>
                <span class="date"><xsl:value-of select="$date"/></span>
              </xsl:otherwise>
            </xsl:choose>
          </xsl:if>
          <xsl:if test="$date != '' and $authors">
            <xsl:text> · </xsl:text>
          </xsl:if>
          <xsl:for-each select="$authors">
            <span class="author"><xsl:value-of select="normalize-space(.)"/></span>
            <xsl:if test="position() != last()">, </xsl:if>
          </xsl:for-each>
        </p>
      </xsl:if>
      <xsl:variable name="summary-text">
        <xsl:call-template name="text-of">
          <xsl:with-param name="node" select="$summary"/>
          <xsl:with-param name="max" select="400"/>
        </xsl:call-template>
      </xsl:variable>
      <xsl:if test="$summary-text != ''">
        <p class="summary"><xsl:value-of select="$summary-text"/></p>
      </xsl:if>
    </article>
  </xsl:template>

  <xsl:template name="title-or-placeholder">
    <xsl:param name="title"/>
    <xsl:choose>
      <xsl:when test="normalize-space($title) != ''">
        <xsl:value-of select="$title"/>
      </xsl:when>
      <xsl:otherwise>
        <span lang="en">(untitled)</span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!--
    Plain text of a title, subtitle or summary, cut to $max characters when $max is given.

    Atom says outright when a text construct is escaped HTML (type="html"). RSS never does,
    and its description is HTML by convention but plain text in tidings' own feeds, so an
    RSS value is taken for HTML only when it opens like a tag, "<" and a letter (a summary
    starting "<<书名>>" is text). HTML is flattened by dropping
    tags and decoding the handful of entities that survive XML parsing; the result is still
    only text, so nothing in it can become markup.

    RSS titles are deliberately never treated as HTML: a headline such as "Using <b> tags"
    must show its angle brackets.
  -->
  <xsl:template name="text-of">
    <xsl:param name="node"/>
    <xsl:param name="max" select="0"/>
    <xsl:variable name="raw" select="string($node[1])"/>
    <xsl:variable name="is-html"
        select="$node[1][@type = 'html' or @type = 'text/html']
                or ($node[1][self::description]
                    and starts-with(normalize-space($raw), '&lt;')
                    and string-length(normalize-space($raw)) &gt; 1
                    and translate(substring(normalize-space($raw), 2, 1),
                          'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', '') = '')"/>
    <xsl:variable name="text">
      <xsl:choose>
        <xsl:when test="$is-html">
          <xsl:variable name="stripped">
            <!-- Each tag, and later each "&", costs a recursive call, and libxslt
                 (Chrome, Safari) aborts the whole transform at a depth of 3000, which
                 these calls reach at about two apiece. Cutting the input first means even
                 a summary made of nothing but tags or ampersands stays near 1300, so it
                 cannot blank the page; 1200 characters of HTML still leave enough text
                 for a summary. -->
            <xsl:call-template name="strip-tags">
              <xsl:with-param name="s" select="substring($raw, 1, 1200)"/>
            </xsl:call-template>
          </xsl:variable>
          <xsl:call-template name="decode-entities">
            <xsl:with-param name="s" select="substring(normalize-space($stripped), 1, 600)"/>
          </xsl:call-template>
        </xsl:when>
        <xsl:otherwise>
          <xsl:value-of select="$raw"/>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="clean" select="normalize-space($text)"/>
    <xsl:choose>
      <xsl:when test="$max &gt; 0 and string-length($clean) &gt; $max">
        <xsl:value-of select="concat(normalize-space(substring($clean, 1, $max - 1)), '…')"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$clean"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!--
    The two recursive templates below keep their recursive call directly under a single
    xsl:if: libxslt counts every nested instruction towards its depth limit, so a
    choose/when around the call would cost a level more per tag or entity.
  -->

  <!-- Tags become spaces, not nothing, so words either side of </p><p> stay apart; the
       caller collapses the extra spaces. A tag left open by the cut above is dropped. -->
  <xsl:template name="strip-tags">
    <xsl:param name="s"/>
    <xsl:value-of select="substring-before($s, '&lt;')"/>
    <xsl:if test="not(contains($s, '&lt;'))">
      <xsl:value-of select="$s"/>
    </xsl:if>
    <xsl:if test="contains(substring-after($s, '&lt;'), '&gt;')">
      <xsl:text> </xsl:text>
      <xsl:call-template name="strip-tags">
        <xsl:with-param name="s" select="substring-after(substring-after($s, '&lt;'), '&gt;')"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!-- One pass from left to right, so "&amp;lt;" becomes "&lt;" and not "<". Unknown
       entities are left as written. -->
  <xsl:template name="decode-entities">
    <xsl:param name="s"/>
    <xsl:variable name="rest" select="substring-after($s, '&amp;')"/>
    <xsl:variable name="name" select="substring-before($rest, ';')"/>
    <xsl:variable name="char">
      <xsl:choose>
        <xsl:when test="$name = 'amp'">&amp;</xsl:when>
        <xsl:when test="$name = 'lt'">&lt;</xsl:when>
        <xsl:when test="$name = 'gt'">&gt;</xsl:when>
        <xsl:when test="$name = 'quot' or $name = '#34'">"</xsl:when>
        <xsl:when test="$name = 'apos' or $name = '#39'">'</xsl:when>
        <xsl:when test="$name = 'nbsp' or $name = '#160'">&#160;</xsl:when>
      </xsl:choose>
    </xsl:variable>
    <xsl:value-of select="substring-before($s, '&amp;')"/>
    <xsl:if test="not(contains($s, '&amp;'))">
      <xsl:value-of select="$s"/>
    </xsl:if>
    <xsl:if test="contains($s, '&amp;')">
      <xsl:value-of select="$char"/>
      <xsl:if test="$char = ''">&amp;</xsl:if>
      <xsl:call-template name="decode-entities">
        <xsl:with-param name="s">
          <xsl:choose>
            <xsl:when test="$char != ''">
              <xsl:value-of select="substring-after($rest, ';')"/>
            </xsl:when>
            <xsl:otherwise>
              <xsl:value-of select="$rest"/>
            </xsl:otherwise>
          </xsl:choose>
        </xsl:with-param>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!--
    Empty unless the URL is http(s) or relative. Escaping an attribute does not make a
    javascript: URL harmless, and a page produced by XSLT runs such links in the feed's
    origin. "Relative" means no scheme: no colon before the first slash.
  -->
  <xsl:template name="safe-href">
    <xsl:param name="url"/>
    <xsl:variable name="u" select="normalize-space($url)"/>
    <xsl:variable name="lower"
        select="translate($u, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"/>
    <xsl:if test="starts-with($lower, 'http://') or starts-with($lower, 'https://')
                  or ($u != '' and not(contains(substring-before(concat($lower, '/'), '/'), ':')))">
      <xsl:value-of select="$u"/>
    </xsl:if>
  </xsl:template>

  <xsl:template name="style">
    <!-- Colours are variables so the dark scheme only has to restate them. The box and
         accent colours keep at least 4.5:1 contrast against their backgrounds in both
         schemes. -->
    <style>
:root {
  color-scheme: light dark;
  --fg: #1d2126;
  --muted: #59616b;
  --bg: #fcfcfa;
  --rule: #e1e1dc;
  --accent: #0a58a8;
  --box-bg: #fff5d6;
  --box-border: #e2c25a;
  --code-bg: #ffffff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e4e6e8;
    --muted: #a3abb4;
    --bg: #15171a;
    --rule: #2d3136;
    --accent: #8cc2ff;
    --box-bg: #2a2514;
    --box-border: #7d6821;
    --code-bg: #1c1e21;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  max-width: 46rem;
  margin: 0 auto;
  padding: 2rem 1.25rem 3rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 1.0625rem;
  line-height: 1.65;
  color: var(--fg);
  background: var(--bg);
  overflow-wrap: break-word;
}
a { color: var(--accent); }
a:hover, a:focus { text-decoration-thickness: 2px; }
h1 { font-size: 2rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 2.5rem 0 .5rem; }
h3 { font-size: 1.2rem; line-height: 1.4; margin: 0 0 .25rem; }
h3 a { text-decoration: none; }
h3 a:hover, h3 a:focus { text-decoration: underline; }
.description { color: var(--muted); margin: 0; }
.notice {
  margin: 1.5rem 0 0;
  padding: .75rem 1rem;
  border-left: 4px solid var(--accent);
  background: var(--code-bg);
}
.subscribe {
  margin: 1.5rem 0 0;
  padding: 1rem 1.25rem;
  background: var(--box-bg);
  border: 1px solid var(--box-border);
  border-radius: .5rem;
}
.subscribe p { margin: .5rem 0; }
.subscribe p:first-child { margin-top: 0; }
.subscribe p:last-child { margin-bottom: 0; }
.address {
  display: block;
  padding: .5rem .75rem;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .95rem;
  background: var(--code-bg);
  border: 1px solid var(--box-border);
  border-radius: .25rem;
  overflow-wrap: anywhere;
  -webkit-user-select: all;
  user-select: all;
}
.site { font-size: .95rem; }
.entry { padding: 1.25rem 0; border-top: 1px solid var(--rule); }
.meta { margin: 0 0 .4rem; font-size: .9rem; color: var(--muted); }
.summary { margin: 0; }
.empty { color: var(--muted); }
.archive-nav {
  display: flex;
  flex-wrap: wrap;
  gap: .5rem 1.5rem;
  justify-content: space-between;
  margin-top: 1rem;
  padding-top: 1.25rem;
  border-top: 1px solid var(--rule);
}
footer { margin-top: 2.5rem; font-size: .85rem; color: var(--muted); }
footer p { margin: .25rem 0; }
    </style>
  </xsl:template>

</xsl:stylesheet>
