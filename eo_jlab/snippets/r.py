"""R snippets: jsonlite for STAC documents (files and static catalogues), httr for HTTP."""

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
    return _stac_search(plan)


def _assets(plan: ItemPlan) -> str:
    if not plan.assets:
        return "list()"
    return "list(" + ", ".join(f"{r_str(k)} = {r_str(v)}" for k, v in plan.assets.items()) + ")"


def _item(plan: ItemPlan) -> tuple[str, list[str]]:
    if plan.loader == "stac":
        code = READ_STAC + f"\nhref <- {r_str(plan.href or '')}\nitem <- read_stac(href)\n"
        code += "print_item(item, href)\n"
        return code, ["jsonlite", "httr"]
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
