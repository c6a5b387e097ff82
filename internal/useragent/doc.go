// Package useragent classifies a User-Agent header into a device class, a
// browser family, an OS family and a bot flag, and packs the result together
// with a country code into one uint32 "dimensions" word that the visit
// pipeline carries per visit bucket.
//
// Classify is a handful of case-sensitive token searches (bytes.Contains,
// bytes.HasPrefix) plus one case-insensitive pass for "bot", "crawler" and
// "spider"; it allocates nothing and uses no regular expressions. It is a
// family classifier for analytics, not a full parser: versions, device models
// and engines are not reported.
//
// # Dimension names
//
// Unpack (and DeviceName, BrowserName, OSName) return these stable lower-case
// strings. They are written to the visit stores (ClickHouse columns device,
// browser, os) and shown by the stats API, so they must never change; new
// families may only be added.
//
//	device:  desktop, mobile, tablet, bot, other
//	browser: chrome, firefox, safari, edge, opera, samsung, ie, bot, other
//	os:      windows, macos, ios, android, linux, chromeos, other
//	country: two upper-case letters (ISO 3166-1 alpha-2 as supplied by the
//	         operator's GeoIP header), "" when unknown
//	bot:     true or false
//
// # Rules
//
//   - An empty User-Agent is "other" in every dimension and not a bot: it is
//     often a privacy tool or a stripped proxy header, not necessarily a crawler.
//   - A bot is any UA containing "bot", "crawler" or "spider" in any letter case
//     (Googlebot, bingbot, Twitterbot, Slackbot, Baiduspider, …, except the
//     phone brand "Cubot"), HeadlessChrome, facebookexternalhit, Slurp,
//     Lighthouse and a few other preview fetchers, and the common HTTP client
//     libraries and tools (curl, Wget, python-requests, Python-urllib,
//     Go-http-client, Java, axios, node-fetch,
//     Apache-HttpClient, libwww-perl, Scrapy, PostmanRuntime, HTTPie). A bot is
//     device "bot", browser "bot", OS "other", Bot true.
//   - OS, first match wins: Windows; iPhone/iPad/iPod → ios (their UAs also say
//     "like Mac OS X"); Android (before Linux, which Android UAs contain); CrOS →
//     chromeos; Macintosh/Mac OS X → macos; Linux/X11 → linux.
//   - Device: iPad, "Tablet", Kindle and Silk → tablet; iPhone/iPod → mobile;
//     Android with "Mobile" → mobile, Android without it → tablet (Google's own
//     convention); any other "Mobile" or Windows Phone → mobile; a desktop OS →
//     desktop; else other. iPadOS in desktop mode sends a Macintosh UA and is
//     counted as a macos desktop: the header cannot tell them apart.
//   - Browser, first match wins, because engines borrow each other's tokens:
//     Edge ("Edg", also EdgA/EdgiOS) and Opera (OPR/, Opera, OPiOS/) before
//     Samsung Internet (SamsungBrowser) before Firefox (Firefox/, FxiOS/) before
//     Chrome (CriOS/, Chrome/ — Chromium-based browsers without their own
//     family such as Brave or Vivaldi count as chrome) before IE (MSIE, Trident/)
//     before Safari (Safari/ on ios or macos only); else other.
//
// # Packed layout
//
// Pack lays the word out as
//
//	bits  0–3   device
//	bits  4–7   browser
//	bits  8–11  os
//	bit   12    bot
//	bits 16–23  country, first letter (0 = unknown)
//	bits 24–31  country, second letter
//
// so the zero word means "everything unknown". The layout is stable: packed
// words may be persisted.
//
// The package imports nothing local.
package useragent
