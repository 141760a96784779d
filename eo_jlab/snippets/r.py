"""R snippets: jsonlite for STAC documents (files and static catalogues), httr for HTTP.

OpenSearch descriptions, Atom feeds and CSW answers are read with base R regular expressions
on the few elements needed (xml2 is not assumed to be installed)."""

from __future__ import annotations

from .plan import ItemPlan, SearchPlan
from .quoting import json_text, r, r_chr, r_str

READ_STAC = r"""read_stac <- function(href) {
  if (grepl("^https?://", href)) {
    response <- httr::GET(href, httr::accept_json())
    httr::stop_for_status(response)
    text <- httr::content(response, as = "text", encoding = "UTF-8")
  } else {
    text <- paste(readLines(href, encoding = "UTF-8", warn = FALSE), collapse = "\n")
  }
  jsonlite::parse_json(text)
}
absolute_href <- function(href, base) {
  if (grepl("^[A-Za-z][A-Za-z0-9+.-]*:", href) || startsWith(href, "/")) return(href)
  paste0(sub("[^/]*$", "", base), sub("^\\./", "", href))
}
print_item <- function(item, base) {
  cat(item$id, "\n", sep = "")
  for (key in names(item$assets)) {
    cat("  ", key, ": ", absolute_href(item$assets[[key]]$href, base), "\n", sep = "")
  }
}
"""

STATIC_MATCH = r"""instant <- function(value) {
  if (!is.character(value) || length(value) != 1) return(NA)
  when <- as.POSIXct(substr(value, 1, 19), format = "%Y-%m-%dT%H:%M:%S", tz = "UTC")
  offset <- regmatches(value, regexpr("[+-][0-9]{2}:[0-9]{2}$", value))
  if (length(offset) == 1) {
    sign <- ifelse(startsWith(offset, "-"), -1, 1)
    minutes <- as.numeric(substr(offset, 2, 3)) * 60 + as.numeric(substr(offset, 5, 6))
    when <- when - sign * minutes * 60
  }
  when
}
compare <- function(value, op, expected) {
  if (is.null(value)) return(FALSE)
  if (op == "eq") {
    return(isTRUE(value == expected) || identical(as.character(value), as.character(expected)))
  }
  switch(op, lt = isTRUE(value < expected), lte = isTRUE(value <= expected),
         gt = isTRUE(value > expected), gte = isTRUE(value >= expected))
}
matches <- function(item) {
  props <- item$properties
  if (length(collections) > 0 && !isTRUE(item$collection %in% collections)) return(FALSE)
  if (length(boxes) > 0) {
    b <- unlist(item$bbox)
    if (length(b) < 4) return(FALSE)
    if (length(b) == 6) b <- b[c(1, 2, 4, 5)]
    hit <- FALSE
    for (a in boxes) {
      if (b[1] <= a[3] && b[3] >= a[1] && b[2] <= a[4] && b[4] >= a[2]) hit <- TRUE
    }
    if (!hit) return(FALSE)
  }
  first <- instant(if (is.null(props$start_datetime)) props$datetime else props$start_datetime)
  last <- instant(if (is.null(props$end_datetime)) props$datetime else props$end_datetime)
  if (is.na(first)) first <- last
  if (is.na(last)) last <- first
  if (!is.na(start) || !is.na(end)) {
    if (is.na(first)) return(FALSE)
    if (!is.na(start) && last < start) return(FALSE)
    if (!is.na(end) && first > end) return(FALSE)
  }
  if (length(words) > 0) {
    text <- tolower(paste(c(item$id, props$title, item$collection, props$platform,
                            props$description, unlist(props$keywords)), collapse = " "))
    for (word in words) if (!grepl(word, text, fixed = TRUE)) return(FALSE)
  }
  for (f in filters) {
    value <- NULL
    for (key in f$keys) if (!is.null(props[[key]])) { value <- props[[key]]; break }
    if (!compare(value, f$op, f$value)) return(FALSE)
  }
  TRUE
}
"""

STATIC_WALK = r"""# A static STAC catalogue has no search service: walk it and match each item.
items <- list()
queue <- list(list(href = catalog, collection = NULL))
seen <- character(0)
while (length(queue) > 0) {
  node <- queue[[1]]
  queue <- queue[-1]
  if (node$href %in% seen) next
  seen <- c(seen, node$href)
  doc <- read_stac(node$href)
  collection <- node$collection
  if (identical(doc$type, "Collection")) collection <- doc$id
  if (identical(doc$type, "Feature")) {
    if (is.null(doc$collection)) doc$collection <- collection
    doc$self_href <- node$href
    if (matches(doc)) items[[length(items) + 1]] <- doc
    next
  }
  for (link in doc$links) {
    if (isTRUE(link$rel %in% c("child", "item"))) {
      queue[[length(queue) + 1]] <- list(href = absolute_href(link$href, node$href),
                                         collection = collection)
    }
  }
}
when <- vapply(items, function(item) {
  props <- item$properties
  t <- instant(if (is.null(props$start_datetime)) props$datetime else props$start_datetime)
  if (is.na(t)) 0 else as.numeric(t)
}, numeric(1))
ids <- vapply(items, function(item) item$id, character(1))
matched <- length(items)
items <- items[order(when, ids, decreasing = TRUE, method = "radix")]
items <- head(items, limit)
cat(matched, " items match; the first ", length(items), ":\n", sep = "")
for (item in items) print_item(item, item$self_href)
"""


def render(plan: ItemPlan | SearchPlan, *, widgets: bool) -> tuple[str, list[str]]:
    if isinstance(plan, ItemPlan):
        return _item(plan)
    if plan.protocol == "static":
        return _static_search(plan)
    if plan.protocol == "opensearch":
        return _opensearch_search(plan)
    if plan.protocol == "csw":
        return _csw_search(plan)
    return _stac_search(plan)


def _assets(plan: ItemPlan) -> str:
    if not plan.assets:
        return "list()"
    return "list(" + ", ".join(f"{r_str(k)} = {r_str(v)}" for k, v in plan.assets.items()) + ")"


# One item: jsonlite reads it from its URL or file; relative asset links are made absolute
# against the item's own location.
ITEM = r"""item <- jsonlite::read_json(href)
base <- sub("[^/]*$", "", href)
cat(item$id, "\n", sep = "")
for (key in names(item$assets)) {
  asset <- item$assets[[key]]$href
  if (!grepl("^([A-Za-z][A-Za-z0-9+.-]*:|/)", asset)) {
    asset <- paste0(base, sub("^\\./", "", asset))
  }
  cat("  ", key, ": ", asset, "\n", sep = "")
}
"""


def _item(plan: ItemPlan) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        return f"href <- {r_str(plan.href or '')}  # the STAC item\n" + ITEM, ["jsonlite"]
    tail = (
        f"item_id <- {r_str(plan.id)}\n"
        f"assets <- {_assets(plan)}\n"
        'cat(item_id, "\\n", sep = "")\n'
        'for (key in names(assets)) cat("  ", key, ": ", assets[[key]], "\\n", sep = "")\n'
    )
    if plan.loader == "document":
        code = (
            "library(httr)\n\n"
            f"response <- GET({r_str(plan.href or '')})\n"
            "stop_for_status(response)\n"
            '# the catalogue\'s own metadata document\nmetadata <- content(response, as = "text", '
            'encoding = "UTF-8")\n' + tail
        )
        return code, ["httr"]
    return "# This item carries no link to load it from: its id and asset links as found.\n" + (
        tail
    ), []


def _static_search(plan: SearchPlan) -> tuple[str, list[str]]:
    boxes = "list(" + ", ".join("c(" + ", ".join(r(v) for v in b) + ")" for b in plan.boxes) + ")"
    filters = ", ".join(
        f"list(keys = {r_chr(f.keys)}, op = {r_str(op)}, value = {r(value)})"
        for f in plan.filters
        for op, value in f.ops
    )
    criteria = (
        f"catalog <- {r_str(plan.url)}\n"
        f"collections <- {r_chr(plan.collections)}\n"
        f"boxes <- {boxes}  # c(west, south, east, north), lon/lat; bounding boxes overlap\n"
        f"start <- {_instant(plan.start)}\n"
        f"end <- {_instant(plan.end)}\n"
        f"words <- {r_chr(plan.words)}\n"
        f"filters <- list({filters})\n"
        f"limit <- {plan.limit}\n"
    )
    return READ_STAC + STATIC_MATCH + criteria + STATIC_WALK, ["jsonlite", "httr"]


def _instant(value: str | None) -> str:
    if value is None:
        return "NA"
    return f'as.POSIXct({r_str(value[:19])}, format = "%Y-%m-%dT%H:%M:%S", tz = "UTC")'


def _stac_search(plan: SearchPlan) -> tuple[str, list[str]]:
    code = (
        READ_STAC
        + f"\nurl <- {r_str(plan.url)}\n"
        + f"body <- {r_str(json_text(plan.stac_body()))}\n"
        + 'response <- httr::POST(paste0(sub("/+$", "", url), "/search"), body = body,\n'
        + "                       httr::content_type_json(),\n"
        + '                       httr::accept("application/geo+json"))\n'
        + "httr::stop_for_status(response)\n"
        + 'page <- jsonlite::parse_json(httr::content(response, as = "text", encoding = "UTF-8"))\n'
        + "for (item in page$features) {\n"
        + '  self <- Filter(function(link) identical(link$rel, "self"), item$links)\n'
        + "  print_item(item, if (length(self) > 0) self[[1]]$href else url)\n"
        + "}\n"
    )
    return code, ["jsonlite", "httr"]


XML_HELPERS = r"""unxml <- function(x) {
  for (p in list(c("&lt;", "<"), c("&gt;", ">"), c("&quot;", "\""), c("&apos;", "'"),
                 c("&amp;", "&"))) x <- gsub(p[1], p[2], x, fixed = TRUE)
  x
}
attr_of <- function(tag, name) {  # an attribute of one start tag, or NA
  m <- regmatches(tag, regexec(paste0("\\s", name, "\\s*=\\s*(\"([^\"]*)\"|'([^']*)')"), tag))[[1]]
  if (length(m) == 0) return(NA_character_)
  unxml(if (startsWith(m[2], "\"")) m[3] else m[4])
}
xml_child <- function(x, name) {  # the text of the first element named name (any prefix)
  m <- regmatches(x, regexec(paste0("<([A-Za-z0-9_.-]+:)?", name, "(\\s[^>]*)?>([^<]*)</"), x))[[1]]
  if (length(m) == 0) NA_character_ else trimws(unxml(m[4]))
}
"""

OPENSEARCH = r"""OS <- "http://a9.com/-/spec/opensearch/1.1/"
JSON_TYPES <- c("application/geo+json", "application/json", "application/vnd.geo+json")

# The description document: its results template, GeoJSON when offered, else Atom.
response <- httr::GET(description, httr::accept("application/opensearchdescription+xml"))
httr::stop_for_status(response)
doc <- httr::content(response, as = "text", encoding = "UTF-8")
decl <- regmatches(doc, gregexpr("xmlns:[A-Za-z0-9_.-]+\\s*=\\s*\"[^\"]*\"", doc))[[1]]
prefixes <- setNames(sub("^[^\"]*\"([^\"]*)\"$", "\\1", decl),
                     sub("^xmlns:([A-Za-z0-9_.-]+).*$", "\\1", decl))
urls <- lapply(regmatches(doc, gregexpr("<([A-Za-z0-9_.-]+:)?Url\\s[^>]*>", doc))[[1]],
               function(tag) list(type = tolower(trimws(sub(";.*", "", attr_of(tag, "type")))),
                                  template = attr_of(tag, "template"), rel = attr_of(tag, "rel"),
                                  index = attr_of(tag, "indexOffset"),
                                  page = attr_of(tag, "pageOffset")))
urls <- Filter(function(u) is.na(u$rel) || u$rel == "results", urls)
urls <- c(Filter(function(u) isTRUE(u$type %in% JSON_TYPES), urls),
          Filter(function(u) isTRUE(grepl("atom", u$type)), urls))
if (length(urls) == 0) stop("The catalogue offers neither GeoJSON nor Atom results.")
url <- urls[[1]]
given <- list()
for (v in values) given[[paste(v[[1]], v[[2]])]] <- v[[3]]
paging <- paste(OS, c("count", "startIndex", "startPage"))
given[[paging[1]]] <- as.character(limit)
given[[paging[2]]] <- if (is.na(url$index)) "1" else url$index
given[[paging[3]]] <- if (is.na(url$page)) "1" else url$page

# Fill the template; optional parameters left empty are left out.
at <- regexpr("?", url$template, fixed = TRUE)
base <- if (at > 0) substr(url$template, 1, at - 1) else url$template
query <- if (at > 0) substring(url$template, at + 1) else ""
pairs <- character(0)
offered <- character(0)
for (pair in strsplit(query, "&", fixed = TRUE)[[1]]) {
  if (!nzchar(pair)) next
  eq <- regexpr("=", pair, fixed = TRUE)
  name <- if (eq > 0) substr(pair, 1, eq - 1) else pair
  value <- if (eq > 0) substring(pair, eq + 1) else ""
  tokens <- regmatches(value, gregexpr("\\{[^{}?]+\\??\\}", value))[[1]]
  filled <- length(tokens) == 0
  for (token in tokens) {
    inner <- gsub("^\\{|\\??\\}$", "", token)
    colon <- regexpr(":[^:]*$", inner)
    prefix <- if (colon > 0) substr(inner, 1, colon - 1) else ""
    ns <- if (!nzchar(prefix)) OS else if (is.na(prefixes[prefix])) prefix else prefixes[[prefix]]
    key <- paste(ns, if (colon > 0) substring(inner, colon + 1) else inner)
    offered <- c(offered, key)
    text <- if (is.null(given[[key]])) "" else given[[key]]
    if (!nzchar(text) && !endsWith(token, "?}")) {
      stop("The catalogue requires the parameter ", inner, ".")
    }
    if (nzchar(text)) filled <- TRUE
    value <- gsub(token, URLencode(text, reserved = TRUE), value, fixed = TRUE)
  }
  if (filled) pairs <- c(pairs, paste0(name, "=", value))
}
unused <- setdiff(setdiff(names(given), paging), offered)
if (length(unused) > 0) {
  stop("The catalogue's template has no parameter for ", paste(sub("^.* ", "", unused),
       collapse = ", "), ".")
}
search <- if (length(pairs) > 0) paste0(base, "?", paste(pairs, collapse = "&")) else base

response <- httr::GET(search, httr::accept(if (nzchar(url$type)) url$type else
                                           "application/atom+xml"))
httr::stop_for_status(response)
text <- httr::content(response, as = "text", encoding = "UTF-8")
if (url$type %in% JSON_TYPES) {
  for (feature in head(jsonlite::parse_json(text)$features, limit)) {
    cat(as.character(feature$id), "\n", sep = "")
    p <- feature$properties
    thumbnail <- if (is.null(p$thumbnail)) p$quicklook else p$thumbnail
    if (!is.null(thumbnail)) cat("  thumbnail: ", thumbnail, "\n", sep = "")
    if (!is.null(p$services$download$url)) cat("  data: ", p$services$download$url, "\n", sep = "")
  }
} else {
  entries <- regmatches(text, gregexpr(
    "(?s)<([A-Za-z0-9_.-]+:)?entry[\\s>].*?</([A-Za-z0-9_.-]+:)?entry>", text, perl = TRUE))[[1]]
  for (entry in head(entries, limit)) {
    id <- xml_child(entry, "identifier")
    cat(if (is.na(id)) xml_child(entry, "id") else id, "\n", sep = "")
    for (link in regmatches(entry, gregexpr("<([A-Za-z0-9_.-]+:)?link\\s[^>]*>", entry))[[1]]) {
      rel <- attr_of(link, "rel")
      href <- attr_of(link, "href")
      if (!is.na(href)) cat("  ", if (is.na(rel)) "alternate" else rel, ": ", href, "\n", sep = "")
    }
  }
}
"""

CSW = r"""# GetCapabilities: the version the server answers in, and whether it lists the ISO time
# queryables (apiso:TempExtent_begin/end) or only dc:date.
response <- httr::GET(capabilities, httr::accept("application/xml"))
httr::stop_for_status(response)
caps <- httr::content(response, as = "text", encoding = "UTF-8")
if (is.na(version)) {
  root <- regmatches(caps, regexpr("<([A-Za-z0-9_.-]+:)?Capabilities\\s[^>]*>", caps))
  answered <- if (length(root) > 0) attr_of(root, "version") else NA
  version <- if (isTRUE(startsWith(answered, "3"))) "3.0.0" else "2.0.2"
}
times <- if (grepl("TempExtent_begin", caps, fixed = TRUE)) "iso" else "dc"

# GetRecords: the first way the server does not refuse (HTTP 405/501 or an exception).
for (way in attempts[[paste(version, times)]]) {
  response <- if (way[1] == "POST") {
    httr::POST(url, body = way[2], httr::content_type("application/xml"),
               httr::accept("application/xml"))
  } else {
    httr::GET(way[2], httr::accept("application/xml"))
  }
  text <- httr::content(response, as = "text", encoding = "UTF-8")
  if (httr::status_code(response) %in% c(405, 501) ||
      grepl("ExceptionReport", substr(text, 1, 1000), fixed = TRUE)) next
  break
}
if (grepl("ExceptionReport", substr(text, 1, 1000), fixed = TRUE)) {
  stop("The catalogue refused the request: ", xml_child(text, "ExceptionText"))
}
httr::stop_for_status(response)
records <- regmatches(text, gregexpr(paste0(
  "(?s)<([A-Za-z0-9_.-]+:)?(Record|SummaryRecord|BriefRecord)[\\s>].*?",
  "</([A-Za-z0-9_.-]+:)?(Record|SummaryRecord|BriefRecord)>"), text, perl = TRUE))[[1]]
for (record in records) {
  cat(xml_child(record, "identifier"), "\n", sep = "")
  refs <- regmatches(record, gregexpr("<([A-Za-z0-9_.-]+:)?(references|URI)(\\s[^>]*)?>[^<]*</",
                                      record))[[1]]
  for (ref in refs) {
    href <- trimws(unxml(sub("^<[^>]*>([^<]*)</$", "\\1", ref)))
    if (grepl("^https?://", href)) cat("  link: ", href, "\n", sep = "")
  }
}
"""


def _opensearch_search(plan: SearchPlan) -> tuple[str, list[str]]:
    values = ",\n".join(
        f"  list({r_str(ns)}, {r_str(n)}, {r_str(v)})" for ns, n, v in plan.parameters
    )
    code = (
        XML_HELPERS
        + f"\ndescription <- {r_str(plan.url)}\n"
        + "# The search as eo-jlab runs it: template parameters as (namespace, name, value).\n"
        + "values <- list(\n"
        + values
        + ("\n" if values else "")
        + ")\n"
        + f"limit <- {plan.limit}\n\n"
        + OPENSEARCH
    )
    return code, ["httr", "jsonlite"]


def _csw_search(plan: SearchPlan) -> tuple[str, list[str]]:
    versions = sorted({key.split()[0] for key in plan.attempts})
    attempts = ",\n".join(
        f"  {r_str(key)} = list(\n"
        + ",\n".join(f"    c({r_str(m)}, {r_str(x)})" for m, x in ways)
        + "\n  )"
        for key, ways in plan.attempts.items()
    )
    code = (
        XML_HELPERS
        + f"\nurl <- {r_str(plan.url)}\n"
        + f"capabilities <- {r_str(plan.capabilities or '')}\n"
        + f"version <- {r_str(versions[0]) if len(versions) == 1 else 'NA'}"
        + "  # NA: as the server says\n"
        + f"limit <- {plan.limit}\n"
        + "# GetRecords exactly as eo-jlab asks it, per CSW version and time queryables.\n"
        + "attempts <- list(\n"
        + attempts
        + "\n)\n\n"
        + CSW
    )
    return code, ["httr"]
